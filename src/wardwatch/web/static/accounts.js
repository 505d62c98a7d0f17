// Accounts: requests for personal accounts, their approval or rejection, and who holds which
// role at which node.
//
// The workflow is the guidance's: a province or ministry supervisor requests (account.request),
// an account administrator over the node approves or rejects (account.provision, never the
// requester), and the person activates the account with the one-time code shown here once.
// Each part appears only to those holding its permission; the API refuses everyone else.

import { api } from "./api.js";
import { dateEl, h, showError } from "./dom.js";
import { errorBox, field, select, statusBox, table } from "./fields.js";
import { tr } from "./i18n.js";

const REQUEST_STATUSES = ["pending", "approved", "rejected"];

/** Where a time is shown: the node's facility's zone, else the browser's own. */
function zoneOf(facilities, nodeId) {
  const facility = facilities.get(nodeId);
  return facility ? facility.timezone : Intl.DateTimeFormat().resolvedOptions().timeZone;
}

export async function mount(view, ctx) {
  view.append(h("div", { class: "toolbar" }, h("h1", { i18n: "web.accounts.title" })));
  if (!ctx.can("account.read") && !ctx.can("account.request")) {
    view.append(h("p", { class: "empty", i18n: "web.accounts.not_permitted" }));
    return null;
  }
  const read = ctx.can("account.read");
  const [nodes, facilities, roles, users] = await Promise.all([
    api("/api/v1/org/nodes"),
    ctx.facilities(),
    read ? api("/api/v1/roles") : [],
    read ? api("/api/v1/users") : [],
  ]);
  const people = {
    nodes: new Map(nodes.map((n) => [n.id, n])),
    users: new Map(users.map((u) => [u.id, u])),
    facilities,
  };
  // An approval adds an account and its binding: the bindings are read again after one.
  const bindings = read ? bindingsSection(nodes, people) : null;
  const requests = requestsSection(ctx, people, () => bindings && bindings.load());
  if (ctx.can("account.request")) view.append(requestForm(nodes, roles, requests.load));
  view.append(requests.el);
  await requests.load();
  if (bindings) {
    view.append(bindings.el, rolesSection(roles));
    await bindings.load();
  }
  return null;
}

function userName(people, id) {
  if (id === "system") return h("span", { i18n: "web.accounts.by_system" });
  const user = people.users.get(id);
  return user ? `${user.display_name} (${user.username})` : id;
}

// ------------------------------------------------------------------ requests

function requestForm(nodes, roles, reload) {
  const error = errorBox("request-error");
  const done = statusBox("request-status");
  const node = select("request-node", nodes.map((n) => ({ value: n.id, text: n.name })), { blankKey: "web.registry.choose", required: true });
  const role = select(
    "request-role",
    roles.filter((r) => !r.device).map((r) => ({ value: r.name, i18n: `role.${r.name}` })),
    { blankKey: "web.registry.choose", required: true },
  );
  const input = (id, attrs = {}) => h("input", { id, ...attrs });
  const form = h(
    "form",
    { id: "request-form" },
    h(
      "div",
      { class: "row" },
      field("web.accounts.node", node),
      field("web.accounts.role", role),
      field(
        "web.accounts.username",
        input("request-username", {
          required: true,
          minlength: 3,
          maxlength: 64,
          pattern: "[a-z0-9][a-z0-9._\\-]*",
          autocomplete: "off",
        }),
        { hint: "web.accounts.username_hint" },
      ),
      field("web.accounts.display_name", input("request-display-name", { required: true, maxlength: 200 })),
    ),
    h(
      "div",
      { class: "row" },
      field("web.accounts.email", input("request-email", { type: "email", maxlength: 200 })),
      field("web.accounts.phone", input("request-phone", { type: "tel", maxlength: 40 })),
      field("web.accounts.justification", h("textarea", { id: "request-justification", required: true, maxlength: 2000, rows: 2 })),
    ),
    h("button", { type: "submit", class: "btn primary", i18n: "web.accounts.send_request" }),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    done.hidden = true;
    const value = (id) => form.querySelector(`#${id}`).value.trim();
    try {
      const made = await api("/api/v1/account-requests", {
        method: "POST",
        body: {
          node_id: node.value,
          role: role.value,
          username: value("request-username"),
          display_name: value("request-display-name"),
          email: value("request-email"),
          phone: value("request-phone"),
          justification: value("request-justification"),
        },
      });
      tr(done, "web.accounts.request_sent", { username: made.username });
      done.hidden = false;
      form.reset();
      await reload();
    } catch (failure) {
      showError(error, failure);
    }
  });
  return h(
    "section",
    { class: "panel", "aria-labelledby": "request-title" },
    h("h2", { id: "request-title", i18n: "web.accounts.request_title" }),
    h("p", { class: "hint", i18n: "web.accounts.request_explain" }),
    form,
    error,
    done,
  );
}

function requestsSection(ctx, people, onApproved) {
  const provision = ctx.can("account.provision");
  const status = select(
    "requests-status",
    REQUEST_STATUSES.map((s) => ({ value: s, i18n: `request_status.${s}` })),
    { blankKey: "web.accounts.any_status", value: "pending" },
  );
  const error = errorBox("requests-error");
  const approval = h("div", { id: "approval-result", class: "manifest", role: "status", hidden: true });
  const holder = h("div", { id: "requests-table" });
  const filters = h("form", { class: "row", id: "requests-filters" }, field("web.accounts.status", status));

  async function decide(request, what, note) {
    error.hidden = true;
    approval.hidden = true;
    try {
      const answer = await api(`/api/v1/account-requests/${encodeURIComponent(request.id)}/${what}`, {
        method: "POST",
        body: { note },
      });
      if (what === "approve") {
        const zone = zoneOf(people.facilities, request.node_id);
        approval.replaceChildren(
          h("p", { i18n: ["web.accounts.approved", { username: request.username }] }),
          h("p", {}, h("span", { i18n: "web.accounts.activation_code" }), " ", h("code", { id: "activation-code" }, answer.activation_code)),
          h("p", {}, h("span", { i18n: "web.accounts.activation_expires" }), " ", dateEl(answer.activation_expires_at, zone)),
          h("p", { class: "hint", i18n: "web.accounts.activation_note" }),
        );
        approval.hidden = false;
        await onApproved();
      }
      await load();
    } catch (failure) {
      showError(error, failure);
    }
  }

  let ticket = 0; // only the latest answer is shown when filters change quickly
  async function load() {
    const mine = ++ticket;
    const params = new URLSearchParams();
    if (status.value) params.set("status", status.value);
    let list;
    try {
      list = await api(`/api/v1/account-requests?${params}`);
    } catch (failure) {
      showError(error, failure);
      return;
    }
    if (mine !== ticket) return;
    if (!list.length) {
      holder.replaceChildren(h("p", { class: "empty", i18n: "web.accounts.no_requests" }));
      return;
    }
    const rows = list.map((r) => {
      const zone = zoneOf(people.facilities, r.node_id);
      const node = people.nodes.get(r.node_id);
      let actions = null;
      if (provision && r.status === "pending") {
        const note = h("input", { id: `note-${r.id}`, maxlength: 2000, class: "note" });
        actions = h(
          "div",
          { class: "decide" },
          h("label", { for: note.id, class: "sr-only", i18n: ["web.accounts.note_for", { username: r.username }] }),
          note,
          h("button", {
            type: "button",
            class: "btn primary",
            "data-action": "approve",
            i18n: "web.accounts.approve",
            "i18n-aria-label": ["web.accounts.approve_named", { username: r.username }],
            onclick: () => decide(r, "approve", note.value.trim()),
          }),
          h("button", {
            type: "button",
            class: "btn",
            "data-action": "reject",
            i18n: "web.accounts.reject",
            "i18n-aria-label": ["web.accounts.reject_named", { username: r.username }],
            onclick: () => decide(r, "reject", note.value.trim()),
          }),
        );
      }
      return h(
        "tr",
        { "data-request": r.id, "data-username": r.username },
        h("th", { scope: "row" }, r.username),
        h("td", {}, r.display_name),
        h("td", { i18n: `role.${r.role}` }),
        h("td", {}, node ? node.name : r.node_id),
        h("td", {}, userName(people, r.requested_by)),
        h("td", { class: "wrap" }, r.justification),
        h("td", {}, dateEl(r.created_at, zone, "short")),
        h(
          "td",
          {},
          h("span", { class: `badge request-${r.status}`, i18n: `request_status.${r.status}` }),
          r.decided_by ? h("div", { class: "muted" }, userName(people, r.decided_by), r.decision_note ? `: ${r.decision_note}` : "") : null,
        ),
        provision ? h("td", { class: "actions" }, actions) : null,
      );
    });
    holder.replaceChildren(
      table({
        id: "request-list",
        headers: [
          "web.accounts.username",
          "web.accounts.display_name",
          "web.accounts.role",
          "web.accounts.node",
          "web.accounts.requested_by",
          "web.accounts.justification",
          "web.accounts.requested_at",
          "web.accounts.status",
          provision ? "web.accounts.decision" : null,
        ].filter((k) => k !== null),
        rows,
      }),
    );
  }
  filters.addEventListener("change", load);
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  const el = h(
    "section",
    { class: "panel", "aria-labelledby": "requests-title" },
    h("h2", { id: "requests-title", i18n: "web.accounts.requests_title" }),
    filters,
    error,
    approval,
    holder,
  );
  return { el, load };
}

// ------------------------------------------------------------------ bindings and roles

function bindingsSection(nodes, people) {
  const node = select("bindings-node", nodes.map((n) => ({ value: n.id, text: n.name })), { blankKey: "web.accounts.all_nodes" });
  const error = errorBox("bindings-error");
  const holder = h("div", { id: "bindings" });
  const filters = h("form", { class: "row", id: "bindings-filters" }, field("web.accounts.node", node));

  let ticket = 0;
  async function load() {
    const mine = ++ticket;
    error.hidden = true;
    const params = new URLSearchParams();
    if (node.value) params.set("node_id", node.value);
    let list;
    try {
      let users;
      [list, users] = await Promise.all([api(`/api/v1/role-bindings?${params}`), api("/api/v1/users")]);
      people.users = new Map(users.map((u) => [u.id, u]));
    } catch (failure) {
      showError(error, failure);
      return;
    }
    if (mine !== ticket) return;
    if (!list.length) {
      holder.replaceChildren(h("p", { class: "empty", i18n: "web.accounts.no_bindings" }));
      return;
    }
    const byNode = new Map();
    for (const b of list) {
      if (!byNode.has(b.node_id)) byNode.set(b.node_id, []);
      byNode.get(b.node_id).push(b);
    }
    // In the tree's order: the nodes list comes root first, parents before children.
    const order = nodes.map((n) => n.id).filter((id) => byNode.has(id));
    for (const id of byNode.keys()) if (!order.includes(id)) order.push(id);
    holder.replaceChildren(
      ...order.map((nodeId) => {
        const info = people.nodes.get(nodeId);
        const zone = zoneOf(people.facilities, nodeId);
        return h(
          "div",
          { class: "node-bindings", "data-node": nodeId },
          h("h3", {}, info ? info.name : nodeId, info ? [" ", h("span", { class: "muted", i18n: `org_kind.${info.kind}` })] : null),
          table({
            headers: ["web.accounts.user", "web.accounts.grant", "web.accounts.effect", "web.accounts.granted_by", "web.accounts.since"],
            rows: byNode.get(nodeId).map((b) =>
              h(
                "tr",
                { "data-binding": b.id, class: b.effect === "deny" ? "flagged" : null },
                h("th", { scope: "row" }, userName(people, b.user_id)),
                h("td", {}, b.role ? h("span", { i18n: `role.${b.role}` }) : h("span", { i18n: `permission.${b.permission}` })),
                h("td", {}, h("span", { class: `badge effect-${b.effect}`, i18n: b.effect === "deny" ? "web.accounts.deny" : "web.accounts.allow" })),
                h("td", {}, userName(people, b.granted_by)),
                h("td", {}, dateEl(b.created_at, zone, "short")),
              ),
            ),
          }),
        );
      }),
    );
  }
  filters.addEventListener("change", load);
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  const el = h(
    "section",
    { class: "panel", "aria-labelledby": "bindings-title" },
    h("h2", { id: "bindings-title", i18n: "web.accounts.bindings_title" }),
    h("p", { class: "hint", i18n: "web.accounts.bindings_explain" }),
    filters,
    error,
    holder,
  );
  return { el, load };
}

function rolesSection(roles) {
  return h(
    "section",
    { class: "panel", id: "roles", "aria-labelledby": "roles-title" },
    h("h2", { id: "roles-title", i18n: "web.accounts.roles_title" }),
    roles.map((r) =>
      h(
        "details",
        { "data-role": r.name },
        h(
          "summary",
          {},
          h("span", { i18n: `role.${r.name}` }),
          r.requires_mfa ? [" ", h("span", { class: "badge", i18n: "web.accounts.requires_mfa" })] : null,
          " ",
          h("span", { class: "muted", i18n: ["web.accounts.permission_count", { count: r.permissions.length }] }),
        ),
        h(
          "ul",
          { class: "permissions" },
          r.permissions.map((p) => h("li", {}, h("span", { i18n: `permission.${p}` }), " ", h("code", { class: "muted" }, p))),
        ),
      ),
    ),
  );
}
