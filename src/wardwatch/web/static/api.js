// The console's only way to the API: same-origin cookies, the CSRF double-submit header on
// every state-changing call, and problem+json errors turned into ApiError.

import { currentLocale } from "./i18n.js";

const CSRF_COOKIE = "ww_csrf";
const CSRF_HEADER = "x-csrf-token";
const SAFE = new Set(["GET", "HEAD"]);

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem && typeof problem === "object" ? problem : {};
  }

  get code() {
    return this.problem.code;
  }
}

export function csrfToken() {
  for (const part of document.cookie.split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name === CSRF_COOKIE) return decodeURIComponent(rest.join("="));
  }
  return "";
}

function withLang(path) {
  // Problems come back in the language on screen, even before it is saved for the user.
  const url = new URL(path, location.origin);
  if (!url.searchParams.has("lang")) url.searchParams.set("lang", currentLocale());
  return url.pathname + url.search;
}

/** Call the API; resolves to the parsed body (null for 204), rejects with ApiError. */
export async function api(path, { method = "GET", body, signal, keepalive = false } = {}) {
  const headers = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (!SAFE.has(method)) headers[CSRF_HEADER] = csrfToken();
  const response = await fetch(withLang(path), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
    signal,
    keepalive,
  });
  if (response.status === 204) return null;
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") ? await response.json().catch(() => null) : await response.text();
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/**
 * Send a file as the raw request body (the import endpoints take CSV or JSON as they are,
 * not wrapped in a form); resolves to the parsed answer, rejects with ApiError.
 */
export async function upload(path, file, contentType) {
  const response = await fetch(withLang(path), {
    method: "POST",
    headers: { accept: "application/json", "content-type": contentType, [CSRF_HEADER]: csrfToken() },
    body: file,
    credentials: "same-origin",
  });
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") ? await response.json().catch(() => null) : await response.text();
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}
