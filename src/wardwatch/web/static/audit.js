// The audit log, for auditors: search the entries, read the latest signed checkpoint, and
// run a full verification with its result.
//
// A user without audit.read gets a notice and nothing else: the screen makes no call to the
// log at all (the API would refuse it anyway). Entry times are shown in a time zone the
// auditor picks among the facilities' zones, and the search's from/until are read in it.

import { api, ApiError } from "./api.js";
import { dateEl, h, showError } from "./dom.js";
import { errorBox, field, select, table } from "./fields.js";
import { currentLocale, t, tr } from "./i18n.js";
import { fromLocalInput } from "./zoned.js";

const PAGE = 100;
const OUTCOMES = {
  success: "web.audit.outcome.success",
  denied: "web.audit.outcome.denied",
  failure: "web.audit.outcome.failure",
};
const WARNINGS = {
  no_secret_key: "web.audit.warning.no_secret_key",
  no_checkpoint: "web.audit.warning.no_checkpoint",
};

export async function mount(view, ctx) {
  view.append(h("div", { class: "toolbar" }, h("h1", { i18n: "web.audit.title" })));
  if (!ctx.can("audit.read")) {
    view.append(h("p", { class: "empty", id: "audit-denied", i18n: "web.audit.not_permitted" }));
    return null;
  }
  const [facilities, nodes, users] = await Promise.all([
    ctx.facilities(),
    api("/api/v1/org/nodes"),
    ctx.can("account.read") ? api("/api/v1/users") : [],
  ]);
  const zones = [...new Set([...facilities.values()].map((f) => f.timezone))].sort();
  if (!zones.includes("UTC")) zones.push("UTC");
  const names = new Map(nodes.map((n) => [n.id, n.name]));
  // One zone for every time on the screen, and for reading the search's from/until.
  const zone = select("audit-zone", zones.map((z) => ({ value: z, text: z })), { value: zones[0] });
  const checkpoint = checkpointSection(ctx, zone);
  const search = searchSection(zone, names, users);
  zone.addEventListener("change", () => {
    search.run(false);
    checkpoint.render();
  });
  view.querySelector(".toolbar").append(field("web.audit.zone", zone));
  view.append(
    h(
      "div",
      { class: "columns" },
      search.el,
      h("div", { class: "stack" }, checkpoint.el, ctx.can("audit.verify") ? verifySection() : null),
    ),
  );
  await Promise.all([search.run(false), checkpoint.load()]);
  return null;
}

// ------------------------------------------------------------------ search

function searchSection(zone, names, users) {
  const action = h("input", { id: "audit-action", maxlength: 80, placeholder: "camera." });
  const actor = users.length
    ? select(
        "audit-actor",
        // The log names its actors "user:<id>" and "device:<id>".
        users.map((u) => ({ value: `${u.kind === "device" ? "device" : "user"}:${u.id}`, text: `${u.display_name} (${u.username})` })),
        { blankKey: "web.audit.anyone" },
      )
    : h("input", { id: "audit-actor", maxlength: 80, placeholder: "user:…" });
  const objectType = h("input", { id: "audit-object-type", maxlength: 60 });
  const objectId = h("input", { id: "audit-object-id", maxlength: 200 });
  const outcome = select(
    "audit-outcome",
    Object.entries(OUTCOMES).map(([value, key]) => ({ value, i18n: key })),
    { blankKey: "web.audit.any_outcome" },
  );
  const since = h("input", { id: "audit-since", type: "datetime-local", step: 1 });
  const until = h("input", { id: "audit-until", type: "datetime-local", step: 1 });
  const error = errorBox("audit-error");
  const count = h("p", { class: "muted", id: "audit-count", role: "status" });
  const holder = h("div", { id: "audit-results" });
  const more = h("button", { type: "button", class: "btn", id: "audit-more", hidden: true, i18n: "web.audit.older" });
  let oldest = null;
  let shown = 0;

  const form = h(
    "form",
    { id: "audit-search" },
    h(
      "div",
      { class: "row" },
      field("web.audit.action", action, { hint: "web.audit.action_hint" }),
      field("web.audit.actor", actor),
      field("web.audit.outcome_label", outcome),
    ),
    h("div", { class: "row" }, field("web.audit.object_type", objectType), field("web.audit.object_id", objectId)),
    h(
      "div",
      { class: "row" },
      field("web.audit.since", since),
      field("web.audit.until", until),
      h("button", { type: "submit", class: "btn primary", i18n: "web.audit.search" }),
    ),
  );

  function params(before) {
    const out = new URLSearchParams({ limit: String(PAGE) });
    const put = (name, value) => value && out.set(name, value);
    put("action", action.value.trim());
    put("actor", actor.value.trim());
    put("object_type", objectType.value.trim());
    put("object_id", objectId.value.trim());
    put("outcome", outcome.value);
    for (const [name, input] of [["since", since], ["until", until]]) {
      if (input.value) out.set(name, new Date(fromLocalInput(input.value, zone.value)).toISOString());
    }
    if (before !== null) out.set("before", String(before));
    return out;
  }

  let ticket = 0; // a new search supersedes one still on its way
  async function run(append) {
    const mine = ++ticket;
    error.hidden = true;
    let entries;
    try {
      entries = await api(`/api/v1/audit/entries?${params(append ? oldest : null)}`);
    } catch (failure) {
      showError(error, failure);
      return;
    }
    if (mine !== ticket) return;
    if (!append) {
      holder.replaceChildren(resultsTable());
      shown = 0;
    }
    const body = holder.querySelector("tbody");
    for (const entry of entries) body.append(entryRow(entry, zone.value, names));
    shown += entries.length;
    oldest = entries.length ? entries[entries.length - 1].seq : oldest;
    more.hidden = entries.length < PAGE;
    tr(count, "web.audit.count", { count: shown });
    if (!shown) holder.replaceChildren(h("p", { class: "empty", i18n: "web.audit.no_entries" }));
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    run(false);
  });
  more.addEventListener("click", () => run(true));
  const el = h(
    "section",
    { class: "panel", id: "audit-log", "aria-labelledby": "audit-search-title" },
    h("h2", { id: "audit-search-title", i18n: "web.audit.search_title" }),
    form,
    error,
    count,
    holder,
    more,
  );
  return { el, run };
}

function resultsTable() {
  return table({
    id: "audit-entries",
    headers: [
      "web.audit.col_seq",
      "web.audit.col_time",
      "web.audit.actor",
      "web.audit.action",
      "web.audit.col_object",
      "web.audit.col_scope",
      "web.audit.col_purpose",
      "web.audit.outcome_label",
      "web.audit.col_details",
    ],
    rows: [],
  });
}

function entryRow(entry, zone, names) {
  const details = entry.details && Object.keys(entry.details).length ? JSON.stringify(entry.details, null, 1) : "";
  return h(
    "tr",
    { "data-seq": entry.seq, "data-action": entry.action, class: entry.outcome === "success" ? null : "flagged" },
    h("th", { scope: "row" }, String(entry.seq)),
    h("td", {}, dateEl(entry.time, zone)),
    h("td", { title: entry.actor }, entry.actor_name || entry.actor),
    h("td", {}, h("code", {}, entry.action)),
    h("td", {}, objectLabel(entry.object_type), entry.object_id ? h("div", { class: "muted id" }, entry.object_id) : null),
    h("td", {}, entry.scope ? names.get(entry.scope) || entry.scope : h("span", { class: "muted", i18n: "web.audit.platform" })),
    h("td", {}, entry.purpose ? h("span", { i18n: `purpose.${entry.purpose}` }) : null),
    h(
      "td",
      {},
      h(
        "span",
        { class: `badge outcome-${entry.outcome}`, i18n: OUTCOMES[entry.outcome] || null },
        OUTCOMES[entry.outcome] ? null : entry.outcome,
      ),
    ),
    h("td", {}, details ? h("details", {}, h("summary", { i18n: "web.audit.show_details" }), h("pre", {}, details)) : null),
  );
}

// ------------------------------------------------------------------ checkpoint

/** The object's kind by its label where the catalog has one, else as the log names it. */
function objectLabel(type) {
  if (!type) return null;
  const key = `object.${type}`;
  return t(key) === key ? h("code", {}, type) : h("span", { i18n: key });
}

function checkpointSection(ctx, zone) {
  let shown = null;
  const holder = h("div", { id: "checkpoint" });
  const error = errorBox("checkpoint-error");
  const sign = ctx.can("audit.checkpoint")
    ? h("button", { type: "button", class: "btn", id: "checkpoint-sign", i18n: "web.audit.sign_checkpoint" })
    : null;

  function render(cp = shown) {
    shown = cp;
    if (!cp) return;
    holder.replaceChildren(
      h(
        "dl",
        { class: "facts" },
        h("dt", { i18n: "web.audit.checkpoint_size" }),
        h("dd", { id: "checkpoint-size" }, String(cp.size)),
        h("dt", { i18n: "web.audit.checkpoint_root" }),
        h("dd", {}, h("code", { id: "checkpoint-root" }, cp.root_hash)),
        h("dt", { i18n: "web.audit.checkpoint_signed" }),
        h("dd", {}, dateEl(cp.created_at, zone.value)),
        h("dt", { i18n: "web.audit.checkpoint_key" }),
        h("dd", {}, h("code", { class: "id" }, cp.verifier_key)),
      ),
      h("details", {}, h("summary", { i18n: "web.audit.checkpoint_note" }), h("pre", { id: "checkpoint-note" }, cp.note)),
    );
  }

  async function load() {
    error.hidden = true;
    try {
      render(await api("/api/v1/audit/checkpoint"));
    } catch (failure) {
      if (failure instanceof ApiError && failure.status === 404) {
        holder.replaceChildren(h("p", { class: "empty", id: "checkpoint-none", i18n: "web.audit.no_checkpoint" }));
      } else {
        showError(error, failure);
      }
    }
  }
  if (sign) {
    sign.addEventListener("click", async () => {
      error.hidden = true;
      sign.disabled = true;
      try {
        render(await api("/api/v1/audit/checkpoints", { method: "POST" }));
      } catch (failure) {
        showError(error, failure);
      } finally {
        sign.disabled = false;
      }
    });
  }
  const el = h(
    "section",
    { class: "panel", "aria-labelledby": "checkpoint-title" },
    h("h2", { id: "checkpoint-title", i18n: "web.audit.checkpoint_title" }),
    holder,
    error,
    sign,
  );
  return { el, load, render };
}

// ------------------------------------------------------------------ verify

function verifySection() {
  const note = h("textarea", { id: "verify-checkpoint", rows: 4, maxlength: 10000, spellcheck: "false" });
  const submit = h("button", { type: "submit", class: "btn primary", id: "verify-run", i18n: "web.audit.verify" });
  const running = h("p", { class: "muted", id: "verify-running", role: "status", hidden: true, i18n: "web.audit.verifying" });
  const error = errorBox("verify-error");
  const result = h("div", { id: "verify-result", hidden: true });
  const form = h(
    "form",
    { id: "verify-form" },
    field("web.audit.witness_checkpoint", note, { hint: "web.audit.witness_hint" }),
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    result.hidden = true;
    submit.disabled = true;
    running.hidden = false;
    try {
      const report = await api("/api/v1/audit/verify", { method: "POST", body: { checkpoint: note.value.trim() || null } });
      showReport(result, report);
    } catch (failure) {
      showError(error, failure);
    } finally {
      submit.disabled = false;
      running.hidden = true;
    }
  });
  return h(
    "section",
    { class: "panel", "aria-labelledby": "verify-title" },
    h("h2", { id: "verify-title", i18n: "web.audit.verify_title" }),
    h("p", { class: "hint", i18n: "web.audit.verify_explain" }),
    form,
    running,
    error,
    result,
  );
}

function showReport(el, report) {
  const seconds = new Intl.NumberFormat(currentLocale(), { maximumFractionDigits: 3 }).format(report.seconds);
  const facts = [
    ["web.audit.verify_entries", String(report.entries)],
    ["web.audit.verify_head", String(report.head_size)],
    ["web.audit.checkpoint_root", h("code", {}, report.root)],
    ["web.audit.verify_checkpoint_size", report.checkpoint_size === null ? "–" : String(report.checkpoint_size)],
  ];
  if (report.first_bad_seq !== null) facts.push(["web.audit.verify_first_bad", String(report.first_bad_seq)]);
  if (report.bad_range) facts.push(["web.audit.verify_bad_range", `${report.bad_range[0]} – ${report.bad_range[1]}`]);
  facts.push(["web.audit.verify_seconds", seconds]);
  el.dataset.ok = String(report.ok);
  el.className = report.ok ? "verify ok" : "verify bad";
  const parts = [
    h(
      "p",
      {},
      h("span", {
        class: `badge ${report.ok ? "status-active" : "status-denied"}`,
        id: "verify-verdict",
        i18n: report.ok ? "web.audit.intact" : "web.audit.broken",
      }),
    ),
    h("p", { id: "verify-message" }, report.message),
    h("dl", { class: "facts" }, facts.map(([key, value]) => [h("dt", { i18n: key }), h("dd", {}, value)])),
    report.warnings.length
      ? h("ul", { class: "warnings" }, report.warnings.map((w) => h("li", { class: "warn", i18n: WARNINGS[w] || null }, WARNINGS[w] ? null : w)))
      : null,
  ];
  el.replaceChildren(...parts.filter(Boolean));
  el.hidden = false;
}
