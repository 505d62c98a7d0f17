// Sign-in: username and password, then the TOTP code when the API asks for one, and the
// TOTP enrolment a role can require before anything else is allowed.

import { api, ApiError } from "./api.js";
import { h, showError } from "./dom.js";
import { tr } from "./i18n.js";

function field(id, labelKey, attrs) {
  return h(
    "div",
    { class: "field" },
    h("label", { for: id, i18n: labelKey }),
    h("input", { id, name: id, required: true, ...attrs }),
  );
}

export async function mount(main, ctx) {
  if (ctx.me && !ctx.me.mfa_pending) return ctx.navigate(ctx.home);
  if (ctx.me && ctx.me.mfa_pending) return enrol(main, ctx);
  const error = h("p", { class: "error", role: "alert", id: "signin-error", hidden: true });
  const totp = field("totp", "web.auth.totp", {
    autocomplete: "one-time-code",
    inputmode: "numeric",
    pattern: "[0-9]{6,8}",
    maxlength: 8,
  });
  totp.hidden = true;
  totp.querySelector("input").required = false;
  const submit = h("button", { type: "submit", class: "btn primary", i18n: "web.auth.submit" });
  const form = h(
    "form",
    { class: "card signin", id: "signin-form", "aria-labelledby": "signin-title", novalidate: false },
    h("h1", { id: "signin-title", i18n: "web.auth.title" }),
    field("username", "web.auth.username", { autocomplete: "username", autocapitalize: "none" }),
    field("password", "web.auth.password", { type: "password", autocomplete: "current-password" }),
    totp,
    error,
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    submit.disabled = true;
    const values = Object.fromEntries(new FormData(form));
    const body = { username: values.username.trim(), password: values.password };
    if (!totp.hidden && values.totp) body.totp = values.totp.trim();
    try {
      const session = await api("/api/v1/auth/login", { method: "POST", body });
      const me = await api("/api/v1/auth/me");
      await ctx.signedIn(me);
      if (session.mfa_enrollment_required) return ctx.navigate("#/signin");
      ctx.navigate(ctx.home);
    } catch (failure) {
      if (failure instanceof ApiError && failure.problem.mfa_required && totp.hidden) {
        totp.hidden = false;
        const input = totp.querySelector("input");
        input.required = true;
        input.focus();
        tr(error, "web.auth.totp_needed");
        error.hidden = false;
      } else {
        showError(error, failure);
      }
    } finally {
      submit.disabled = false;
    }
  });
  main.append(form);
  form.querySelector("#username").focus();
}

async function enrol(main, ctx) {
  const error = h("p", { class: "error", role: "alert", hidden: true });
  const secret = h("code", { class: "secret", id: "mfa-secret" });
  const form = h(
    "form",
    { class: "card signin", "aria-labelledby": "mfa-title" },
    h("h1", { id: "mfa-title", i18n: "web.mfa.title" }),
    h("p", { i18n: "web.mfa.explain" }),
    h("p", {}, secret),
    field("mfa-code", "web.auth.totp", { autocomplete: "one-time-code", inputmode: "numeric", maxlength: 8 }),
    error,
    h("button", { type: "submit", class: "btn primary", i18n: "web.mfa.confirm" }),
  );
  try {
    const enrolment = await api("/api/v1/auth/mfa/enroll", { method: "POST" });
    secret.textContent = enrolment.secret;
  } catch (failure) {
    showError(error, failure);
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const code = form.querySelector("#mfa-code").value.trim();
      await api("/api/v1/auth/mfa/confirm", { method: "POST", body: { code } });
      await ctx.signedIn(await api("/api/v1/auth/me"));
      ctx.navigate(ctx.home);
    } catch (failure) {
      showError(error, failure);
    }
  });
  main.append(form);
}
