/* Switchboard automation & settings (GET /admin): automation rules with their dry run, outgoing webhooks with
   their deliveries, business-hours calendars and the queues that count in them, and the customer attributes.
   Admins change them; supervisors read the rules and calendars; other agents are told this is for admins.
   Plain ES2020, no dependencies, no build step. Needs /static/common.js (window.SB) first. Every text from
   the server reaches the page through SB.el or textContent, never as markup; nothing here sets a style
   attribute (the page runs under style-src 'self'). */
"use strict";
(function () {
  const { el, api } = SB;
  const $ = (id) => document.getElementById(id);

  const CHANNELS = ["chat", "email", "sms", "voice"];
  const PRIORITIES = ["low", "normal", "high", "urgent"];
  const STATUSES = ["new", "open", "pending", "resolved", "closed"];
  const TRIGGERS = [["ticket.created", "a ticket is created"], ["ticket.updated", "a ticket is updated"]];
  // the rule checker's fields and ops (app/domain/rules.py)
  const CHOICE_OPS = ["is", "is_not", "in", "not_in"];
  const TEXT_OPS = ["contains", "not_contains", "contains_any"];
  const TAG_OPS = ["has", "has_not"];
  const FIELDS = {
    channel: { label: "Channel", ops: CHOICE_OPS, kind: "choice", options: () => CHANNELS },
    queue: { label: "Queue", ops: CHOICE_OPS, kind: "choice", options: () => state.queues },
    priority: { label: "Priority", ops: CHOICE_OPS, kind: "choice", options: () => PRIORITIES },
    status: { label: "Status", ops: CHOICE_OPS, kind: "choice", options: () => STATUSES },
    subject: { label: "Subject", ops: TEXT_OPS, kind: "text" },
    text: { label: "Subject or latest message", ops: TEXT_OPS, kind: "text" },
    customer_tag: { label: "Customer tag", ops: TAG_OPS, kind: "text" },
    ticket_tag: { label: "Ticket tag", ops: TAG_OPS, kind: "text" },
    business_hours: { label: "Business hours", ops: ["is"], kind: "bool" },
  };
  const OP_LABEL = {
    is: "is", is_not: "is not", in: "is one of", not_in: "is none of",
    contains: "contains", not_contains: "does not contain", contains_any: "contains any of",
    has: "has", has_not: "does not have",
  };
  const LIST_OPS = new Set(["in", "not_in", "contains_any"]);
  const ACTIONS = {
    set_queue: { label: "Move to queue", param: "queue" },
    set_priority: { label: "Set priority", param: "priority" },
    add_tags: { label: "Add tags", param: "tags" },
    remove_tags: { label: "Remove tags", param: "tags" },
    assign: { label: "Assign to agent", param: "agent_id" },
    reply: { label: "Reply to the customer", param: "body" },
    webhook: { label: "Notify a webhook", param: "webhook_id" },
  };
  const EVENTS = ["ticket.created", "ticket.updated", "ticket.assigned", "message.created", "rule.matched"];
  const DAYS = [["mon", "Monday"], ["tue", "Tuesday"], ["wed", "Wednesday"], ["thu", "Thursday"],
    ["fri", "Friday"], ["sat", "Saturday"], ["sun", "Sunday"]];
  const DEFAULT_HOURS = { mon: [["09:00", "17:00"]], tue: [["09:00", "17:00"]], wed: [["09:00", "17:00"]],
    thu: [["09:00", "17:00"]], fri: [["09:00", "17:00"]] };
  const ZONES = ["UTC", "Europe/London", "Europe/Dublin", "Europe/Paris", "Europe/Berlin", "Europe/Madrid",
    "Europe/Stockholm", "Europe/Helsinki", "America/New_York", "America/Chicago", "America/Denver",
    "America/Los_Angeles", "America/Sao_Paulo", "Asia/Dubai", "Asia/Kolkata", "Asia/Singapore", "Asia/Tokyo",
    "Australia/Sydney", "Pacific/Auckland"];
  const DELIVERIES_SHOWN = 20;

  const state = {
    me: null,
    gen: 0, // bumps on sign-out: late answers are dropped
    rules: [],
    queues: [],
    agents: [],
    webhooks: [],
    calendars: [],
    attributes: [],
    editingRule: null, // the rule being edited, or null for a new one
    editingCalendar: null,
    holidays: [],
    queueCalendar: new Map(), // queue -> calendar id (or "default") set on this page
    openDeliveries: new Set(), // webhook ids whose deliveries are shown
    revealed: new Set(), // webhook ids whose secret is shown
    editingAttribute: null, // key of the attribute edited in its row
    uid: 0,
  };

  const role = () => (state.me && state.me.role) || "";
  const isAdmin = () => role() === "admin";
  const canRead = () => role() === "admin" || role() === "supervisor";
  const nextId = (prefix) => prefix + "-" + ++state.uid;

  function errText(e) {
    if (!e) return "Something went wrong.";
    if (e.status === 403) return "Only admins can change this.";
    return e.message || "Something went wrong.";
  }

  function flash(id, message, kind) {
    const node = $(id);
    node.textContent = message || "";
    node.dataset.kind = kind || "ok";
  }

  /** A control with its own (visually hidden unless `visible`) label. */
  function labelled(text, control, visible) {
    if (!control.id) control.id = nextId("f");
    return [el("label", { for: control.id, class: visible ? "row-label" : "sr-only" }, text), control];
  }

  function select(options, value, attrs) {
    const node = el("select", attrs || {}, options.map(([v, t]) => el("option", { value: v }, t)));
    if (value !== undefined && value !== null) node.value = String(value);
    return node;
  }

  const splitList = (text) => String(text || "").split(",").map((s) => s.trim()).filter(Boolean);

  /* ---------------------------------------------------------------- sign-in and start */

  const auth = SB.signInForm({
    title: "Sign in to automation & settings",
    lead: "Admins keep the rules, webhooks, business hours and customer attributes here.",
    views: { admin: "admin", denied: "denied" },
    main: "admin",
    onSignedIn: () => start(),
    onSignedOut: () => {
      state.gen += 1;
      state.me = null;
      state.revealed.clear();
      state.openDeliveries.clear();
      for (const id of ["rules-list", "webhooks-list", "calendars-list", "attributes-list", "queue-calendars"]) {
        $(id).replaceChildren();
      }
      closeRuleForm();
      closeCalendarForm();
    },
    errText,
  });

  async function start() {
    const me = await auth.resume();
    if (!me) return;
    state.me = me;
    state.gen += 1;
    if (!canRead()) {
      auth.show("denied");
      $("main").focus();
      return;
    }
    auth.show("admin");
    document.body.classList.toggle("read-only", !isAdmin());
    $("readonly-note").hidden = isAdmin();
    $("webhooks-denied").hidden = isAdmin();
    $("webhooks-body").hidden = !isAdmin();
    $("who").replaceChildren("Signed in as ", el("strong", {}, me.name || me.email));
    await loadAll();
    $("main").focus();
  }

  async function loadAll() {
    const gen = state.gen;
    const admin = isAdmin();
    const [queues, agents] = await Promise.all([
      api("GET", "/api/queues").catch(() => null),
      api("GET", "/api/agents").catch(() => null),
    ]);
    if (gen !== state.gen) return;
    state.queues = queues ? (queues.items || []).map((q) => q.name).sort() : [];
    state.agents = agents ? agents.items || [] : [];
    await Promise.all([loadWebhooks(admin), loadRules(), loadCalendars(), loadAttributes()]);
  }

  function handle(e, flashId) {
    if (e && e.status === 401) {
      auth.showLogin("Your session has ended; please sign in again.");
      return;
    }
    flash(flashId, errText(e), "err");
  }

  /* ---------------------------------------------------------------- rules: the list */

  async function loadRules() {
    const gen = state.gen;
    let data;
    try {
      data = await api("GET", "/api/rules");
    } catch (e) {
      if (gen === state.gen) handle(e, "rules-flash");
      return;
    }
    if (gen !== state.gen) return;
    state.rules = data.items || [];
    renderRules();
  }

  function valueText(v) {
    if (Array.isArray(v)) return v.map((x) => "“" + x + "”").join(", ");
    if (typeof v === "boolean") return v ? "open" : "closed";
    return "“" + v + "”";
  }

  function conditionText(c) {
    const f = FIELDS[c.field];
    if (c.field === "business_hours") return c.value ? "within business hours" : "outside business hours";
    return (f ? f.label.toLowerCase() : c.field) + " " + (OP_LABEL[c.op] || c.op) + " " + valueText(c.value);
  }

  function agentLabel(id) {
    const a = state.agents.find((x) => x.id === id);
    return a ? a.name : "agent #" + id;
  }

  function webhookLabel(id) {
    const w = state.webhooks.find((x) => x.id === id);
    return w ? w.url : "webhook #" + id;
  }

  function actionText(a) {
    switch (a.type) {
      case "set_queue": return "queue → " + a.queue;
      case "set_priority": return "priority → " + a.priority;
      case "add_tags": return "add tags " + (a.tags || []).join(", ");
      case "remove_tags": return "remove tags " + (a.tags || []).join(", ");
      case "assign": return "assign to " + agentLabel(a.agent_id);
      case "reply": {
        const body = String(a.body || "").split(/\s+/).join(" ");
        return "reply “" + (body.length > 60 ? body.slice(0, 60) + "…" : body) + "”";
      }
      case "webhook": return "notify " + webhookLabel(a.webhook_id);
      default: return a.type;
    }
  }

  function ruleSummary(rule) {
    const conds = (rule.conditions || []).map(conditionText);
    const when = conds.length ? "If " + conds.join(" and ") : "Every ticket";
    return when + " → " + ((rule.actions || []).map(actionText).join("; ") || "nothing");
  }

  function triggerLabel(t) {
    const found = TRIGGERS.find(([v]) => v === t);
    return found ? "When " + found[1] : t;
  }

  /** The rule as PUT wants it (every field; what is left out takes its default). */
  function ruleBody(rule, changes) {
    return Object.assign({
      name: rule.name, trigger: rule.trigger, conditions: rule.conditions, actions: rule.actions,
      active: rule.active, position: rule.position,
    }, changes || {});
  }

  function renderRules() {
    const items = state.rules;
    $("rules-list").replaceChildren(...items.map(ruleItem));
    $("rules-count").textContent = "(" + items.length + ")";
    $("rules-empty").hidden = items.length > 0;
    $("rules-empty").textContent = isAdmin() ? "No rules yet: add one with New rule." : "No rules yet.";
  }

  function ruleItem(rule) {
    const toggle = el("input", { type: "checkbox", checked: rule.active, disabled: !isAdmin(),
      "aria-label": "Active: " + rule.name, onchange: (ev) => setRuleActive(rule, ev.target) });
    return el("li", { class: "item rule" + (rule.active ? "" : " inactive"), "data-id": rule.id },
      el("div", { class: "item-head" },
        el("span", { class: "item-pos", title: "Position" }, String(rule.position)),
        el("div", { class: "item-main" },
          el("p", { class: "item-title" }, rule.name),
          el("p", { class: "item-sub" }, triggerLabel(rule.trigger)),
          el("p", { class: "item-summary" }, ruleSummary(rule))),
        el("div", { class: "item-actions" },
          el("label", { class: "check switch" }, toggle, "Active"),
          el("button", { type: "button", class: "btn btn-ghost btn-sm", onclick: () => openRuleForm(rule),
            "aria-label": (isAdmin() ? "Edit rule " : "View rule ") + rule.name }, isAdmin() ? "Edit" : "View"),
          isAdmin()
            ? el("button", { type: "button", class: "btn btn-ghost btn-sm danger", onclick: () => deleteRule(rule),
              "aria-label": "Delete rule " + rule.name }, "Delete")
            : null)));
  }

  async function setRuleActive(rule, box) {
    box.disabled = true;
    try {
      await api("PUT", "/api/rules/" + rule.id, ruleBody(rule, { active: box.checked }));
      flash("rules-flash", (box.checked ? "Switched on: " : "Switched off: ") + rule.name + ".");
    } catch (e) {
      box.checked = !box.checked;
      handle(e, "rules-flash");
    }
    box.disabled = false;
    await loadRules();
  }

  async function deleteRule(rule) {
    const ok = await confirmDialog("Delete rule “" + rule.name + "”?",
      "It stops running at once. " + ruleSummary(rule), "Delete");
    if (!ok) return false;
    try {
      await api("DELETE", "/api/rules/" + rule.id);
      flash("rules-flash", "Deleted rule " + rule.name + ".");
    } catch (e) {
      handle(e, "rules-flash");
      return false;
    }
    if (state.editingRule && state.editingRule.id === rule.id) closeRuleForm();
    await loadRules();
    return true;
  }

  /* ---------------------------------------------------------------- rules: the editor */

  function choiceOptions(name, current) {
    const f = FIELDS[name];
    const values = [...(f.options ? f.options() : [])];
    for (const v of [].concat(current === undefined || current === null ? [] : current)) {
      if (typeof v === "string" && v && !values.includes(v)) values.push(v);
    }
    return values;
  }

  /** The value control of a condition: its node and how to read it. */
  function valueControl(name, op, value, rowLabel) {
    const f = FIELDS[name];
    if (f.kind === "bool") {
      const node = select([["true", "Within business hours (open)"], ["false", "Outside business hours (closed)"]],
        value === false ? "false" : "true");
      return { nodes: labelled(rowLabel + ": value", node), read: () => node.value === "true" };
    }
    if (f.kind === "choice" && (op === "in" || op === "not_in")) {
      const chosen = new Set([].concat(value === undefined || value === null ? [] : value));
      const boxes = choiceOptions(name, [...chosen]).map((v) => {
        const box = el("input", { type: "checkbox", value: v, checked: chosen.has(v) });
        return { box, label: el("label", { class: "check" }, box, v) };
      });
      const set = el("fieldset", { class: "inline-checks" }, el("legend", { class: "sr-only" }, rowLabel + ": values"),
        boxes.length ? boxes.map((b) => b.label) : el("span", { class: "muted" }, "none known"));
      return { nodes: [set], read: () => boxes.filter((b) => b.box.checked).map((b) => b.box.value) };
    }
    if (f.kind === "choice") {
      const values = choiceOptions(name, value);
      const node = select(values.map((v) => [v, v]), typeof value === "string" ? value : Array.isArray(value) ? value[0] : values[0]);
      return { nodes: labelled(rowLabel + ": value", node), read: () => node.value };
    }
    const list = LIST_OPS.has(op);
    const text = Array.isArray(value) ? value.join(", ") : typeof value === "string" ? value : "";
    const node = el("input", { type: "text", maxlength: list ? 5000 : 500, value: text, autocomplete: "off",
      placeholder: list ? "refund, money back, chargeback" : name.endsWith("_tag") ? "a tag" : "a word or phrase" });
    return {
      nodes: labelled(rowLabel + (list ? ": values, separated by commas" : ": value"), node),
      read: () => (list ? splitList(node.value) : node.value),
    };
  }

  function conditionRow(cond) {
    const c = cond || { field: "text", op: "contains", value: "" };
    const row = el("li", { class: "row cond-row" });
    const fieldSel = select(Object.entries(FIELDS).map(([k, f]) => [k, f.label]), c.field);
    const opSel = el("select");
    const valueBox = el("span", { class: "row-value" });
    let control = null;

    function fillOps(op) {
      const ops = FIELDS[fieldSel.value].ops;
      opSel.replaceChildren(...ops.map((o) => el("option", { value: o }, OP_LABEL[o])));
      opSel.value = ops.includes(op) ? op : ops[0];
    }
    function fillValue(value) {
      control = valueControl(fieldSel.value, opSel.value, value, "Condition");
      valueBox.replaceChildren(...control.nodes);
    }
    fillOps(c.op);
    fillValue(c.value);
    fieldSel.addEventListener("change", () => { fillOps(opSel.value); fillValue(undefined); });
    opSel.addEventListener("change", () => {
      const keep = control ? control.read() : undefined;
      fillValue(keep);
    });
    const remove = el("button", { type: "button", class: "btn btn-ghost btn-sm icon-only admin-only", title: "Remove",
      "aria-label": "Remove this condition", onclick: () => removeRow(row, "rule-conditions") }, "×");
    row.append(...labelled("Condition field", fieldSel), ...labelled("Condition operator", opSel), valueBox, remove);
    row.read = () => ({ field: fieldSel.value, op: opSel.value, value: control.read() });
    row.focusFirst = () => fieldSel.focus();
    return row;
  }

  function actionParam(type, action) {
    const a = action || {};
    switch (type) {
      case "set_queue": {
        const names = [...state.queues];
        if (a.queue && !names.includes(a.queue)) names.push(a.queue);
        const node = select(names.map((n) => [n, n]), a.queue || names[0]);
        return { nodes: labelled("Queue", node), read: () => ({ queue: node.value }) };
      }
      case "set_priority": {
        const node = select(PRIORITIES.map((p) => [p, p]), a.priority || "high");
        return { nodes: labelled("Priority", node), read: () => ({ priority: node.value }) };
      }
      case "add_tags":
      case "remove_tags": {
        const node = el("input", { type: "text", value: (a.tags || []).join(", "), autocomplete: "off",
          placeholder: "billing, vip" });
        return { nodes: labelled("Tags, separated by commas", node), read: () => ({ tags: splitList(node.value) }) };
      }
      case "assign": {
        const agents = [...state.agents].sort((x, y) => String(x.name).localeCompare(String(y.name)));
        if (a.agent_id !== undefined && !agents.some((x) => x.id === a.agent_id)) {
          agents.push({ id: a.agent_id, name: "Agent #" + a.agent_id });
        }
        const node = select(agents.map((x) => [x.id, x.name + (x.email ? " (" + x.email + ")" : "")]),
          a.agent_id !== undefined ? a.agent_id : agents.length ? agents[0].id : "");
        return { nodes: labelled("Agent", node), read: () => ({ agent_id: node.value === "" ? null : Number(node.value) }) };
      }
      case "reply": {
        const hintId = nextId("reply-hint");
        const node = el("textarea", { rows: 3, maxlength: 10000, "aria-describedby": hintId }, a.body || "");
        return {
          nodes: [...labelled("Reply", node),
            el("p", { class: "hint", id: hintId },
              "Sent through the ticket's channel. {{customer.first_name}} and {{customer.name}} are filled in.")],
          read: () => ({ body: node.value }),
          wide: true,
        };
      }
      case "webhook": {
        const hooks = [...state.webhooks];
        if (a.webhook_id !== undefined && !hooks.some((w) => w.id === a.webhook_id)) {
          hooks.push({ id: a.webhook_id, url: "webhook #" + a.webhook_id });
        }
        if (!hooks.length) {
          return { nodes: [el("span", { class: "muted" }, "Add a webhook first (below).")], read: () => ({ webhook_id: null }) };
        }
        const node = select(hooks.map((w) => [w.id, w.url]), a.webhook_id !== undefined ? a.webhook_id : hooks[0].id);
        return { nodes: labelled("Webhook", node), read: () => ({ webhook_id: Number(node.value) }) };
      }
      default:
        return { nodes: [], read: () => ({}) };
    }
  }

  function actionRow(action) {
    const a = action || { type: "set_priority", priority: "high" };
    const row = el("li", { class: "row action-row" });
    const typeSel = select(Object.entries(ACTIONS).map(([k, x]) => [k, x.label]), a.type);
    const paramBox = el("span", { class: "row-value" });
    let control = null;
    function fill(value) {
      control = actionParam(typeSel.value, value);
      paramBox.replaceChildren(...control.nodes);
      row.classList.toggle("wide", !!control.wide);
    }
    fill(a);
    typeSel.addEventListener("change", () => fill(null));
    const remove = el("button", { type: "button", class: "btn btn-ghost btn-sm icon-only admin-only", title: "Remove",
      "aria-label": "Remove this action", onclick: () => removeRow(row, "rule-actions") }, "×");
    row.append(...labelled("Action", typeSel), paramBox, remove);
    row.read = () => Object.assign({ type: typeSel.value }, control.read());
    row.focusFirst = () => typeSel.focus();
    return row;
  }

  function removeRow(row, listId) {
    const next = row.nextElementSibling || row.previousElementSibling;
    row.remove();
    if (next && next.focusFirst) next.focusFirst();
    else $(listId === "rule-conditions" ? "add-condition" : "add-action").focus();
  }

  function openRuleForm(rule) {
    state.editingRule = rule || null;
    const admin = isAdmin();
    $("rule-form-title").textContent = rule ? (admin ? "Edit rule: " : "Rule: ") + rule.name : "New rule";
    $("rule-name").value = rule ? rule.name : "";
    $("rule-trigger").value = rule ? rule.trigger : "ticket.created";
    $("rule-position").value = rule ? String(rule.position) : String(nextPosition());
    $("rule-active").checked = rule ? !!rule.active : true;
    $("rule-conditions").replaceChildren(...(rule ? rule.conditions : []).map(conditionRow));
    $("rule-actions").replaceChildren(...(rule ? rule.actions : [null]).map(actionRow));
    $("rule-error").textContent = "";
    $("rule-delete").hidden = !rule || !admin;
    $("dry-run").hidden = true;
    $("dry-summary").textContent = "";
    $("dry-table").replaceChildren();
    const form = $("rule-form");
    form.hidden = false;
    // a supervisor reads the rule: every control is off
    for (const node of form.querySelectorAll("input, select, textarea, button")) {
      if (node.id === "rule-cancel") continue;
      node.disabled = !admin;
    }
    $("rule-cancel").textContent = admin ? "Cancel" : "Close";
    form.scrollIntoView({ block: "start" });
    (admin ? $("rule-name") : $("rule-form-title")).focus();
  }

  function nextPosition() {
    return state.rules.reduce((max, r) => Math.max(max, Number(r.position) || 0), 0) + (state.rules.length ? 10 : 0);
  }

  function closeRuleForm() {
    state.editingRule = null;
    $("rule-form").hidden = true;
  }

  /** The rule as the form has it (what is wrong is the server's to say). */
  function formRule() {
    const pos = $("rule-position").value.trim();
    return {
      name: $("rule-name").value,
      trigger: $("rule-trigger").value,
      conditions: [...$("rule-conditions").children].map((row) => row.read()),
      actions: [...$("rule-actions").children].map((row) => row.read()),
      active: $("rule-active").checked,
      position: pos === "" ? 0 : Number.isInteger(Number(pos)) ? Number(pos) : pos,
    };
  }

  async function saveRule(ev) {
    ev.preventDefault();
    if (!isAdmin()) return;
    const rule = state.editingRule;
    const body = formRule();
    $("rule-save").disabled = true;
    $("rule-error").textContent = "";
    try {
      const saved = rule ? await api("PUT", "/api/rules/" + rule.id, body) : await api("POST", "/api/rules", body);
      closeRuleForm();
      flash("rules-flash", (rule ? "Saved rule " : "Added rule ") + saved.name + ".");
      await loadRules();
      const item = document.querySelector('#rules-list [data-id="' + saved.id + '"] button');
      if (item) item.focus();
    } catch (e) {
      if (e.status === 401) return handle(e, "rules-flash");
      $("rule-error").textContent = errText(e);
    } finally {
      $("rule-save").disabled = false;
    }
  }

  async function dryRun() {
    if (!isAdmin()) return;
    const button = $("rule-dry-run");
    button.disabled = true;
    $("rule-error").textContent = "";
    $("dry-run").hidden = false;
    $("dry-summary").textContent = "Checking the latest tickets…";
    $("dry-table").replaceChildren();
    try {
      const r = await api("POST", "/api/rules/dry-run", { rule: formRule(), limit: 200 });
      const matched = r.matched || [];
      $("dry-summary").textContent = "Checked " + r.checked + (r.checked === 1 ? " ticket, " : " tickets, ") +
        matched.length + " would match.";
      if (matched.length) {
        $("dry-table").replaceChildren(el("table", { class: "table", "aria-label": "Tickets the rule would match" },
          el("thead", {}, el("tr", {}, ["Ticket", "Subject", "Status", "Channel", "Queue", "Would"].map((h) =>
            el("th", { scope: "col" }, h)))),
          el("tbody", {}, matched.map((m) => el("tr", { "data-ticket": m.ticket_id },
            el("td", {}, el("a", { href: "/console#/tickets/" + m.ticket_id }, "#" + m.ticket_id)),
            el("td", {}, m.subject || "(no subject)"),
            el("td", {}, m.status),
            el("td", {}, m.channel),
            el("td", {}, m.queue),
            el("td", {}, (m.would || []).join("; ")))))));
      }
    } catch (e) {
      $("dry-run").hidden = true;
      if (e.status === 401) return handle(e, "rules-flash");
      $("rule-error").textContent = errText(e);
    } finally {
      button.disabled = false;
    }
  }

  /* ---------------------------------------------------------------- webhooks */

  async function loadWebhooks(admin) {
    if (!admin) { state.webhooks = []; return; }
    const gen = state.gen;
    let data;
    try {
      data = await api("GET", "/api/webhooks");
    } catch (e) {
      if (gen === state.gen) handle(e, "webhooks-flash");
      return;
    }
    if (gen !== state.gen) return;
    state.webhooks = data.items || [];
    renderWebhooks();
  }

  function renderWebhooks() {
    const items = state.webhooks;
    $("webhooks-list").replaceChildren(...items.map(webhookItem));
    $("webhooks-count").textContent = isAdmin() ? "(" + items.length + ")" : "";
    $("webhooks-empty").hidden = items.length > 0;
    for (const id of state.openDeliveries) loadDeliveries(id);
  }

  function eventsText(events) {
    return (events || []).includes("*") ? "all events" : (events || []).join(", ");
  }

  function webhookItem(w) {
    const shown = state.revealed.has(w.id);
    const secretId = "secret-" + w.id;
    const secret = el("code", { class: "secret", id: secretId }, shown ? w.secret : "•".repeat(16));
    const toggle = el("input", { type: "checkbox", checked: w.active, "aria-label": "Active: " + w.url, onchange: (ev) => setWebhookActive(w, ev.target) });
    const deliveries = el("div", { class: "deliveries", id: "deliveries-" + w.id, hidden: !state.openDeliveries.has(w.id) });
    return el("li", { class: "item webhook" + (w.active ? "" : " inactive"), "data-id": w.id },
      el("div", { class: "item-head" },
        el("div", { class: "item-main" },
          el("p", { class: "item-title url" }, w.url),
          w.description ? el("p", { class: "item-sub" }, w.description) : null,
          el("p", { class: "item-summary" }, "Events: " + eventsText(w.events)),
          el("div", { class: "secret-row" },
            el("span", { class: "secret-label" }, "Secret"), secret,
            el("button", { type: "button", class: "btn btn-ghost btn-sm", "aria-controls": secretId,
              "aria-expanded": shown ? "true" : "false",
              onclick: () => { if (shown) state.revealed.delete(w.id); else state.revealed.add(w.id); renderWebhooks(); } },
            shown ? "Hide" : "Show"),
            el("button", { type: "button", class: "btn btn-ghost btn-sm", onclick: () => copySecret(w) }, "Copy"))),
        el("div", { class: "item-actions" },
          el("label", { class: "check switch" }, toggle, "Active"),
          el("button", { type: "button", class: "btn btn-ghost btn-sm", onclick: () => ping(w) }, "Send ping"),
          el("button", { type: "button", class: "btn btn-ghost btn-sm", "aria-expanded": state.openDeliveries.has(w.id) ? "true" : "false",
            "aria-controls": "deliveries-" + w.id, onclick: () => toggleDeliveries(w) }, "Deliveries"),
          el("button", { type: "button", class: "btn btn-ghost btn-sm danger", onclick: () => deleteWebhook(w),
            "aria-label": "Delete webhook " + w.url }, "Delete"))),
      deliveries);
  }

  async function copySecret(w) {
    try {
      await navigator.clipboard.writeText(w.secret);
      flash("webhooks-flash", "The secret of " + w.url + " is copied.");
    } catch (_) {
      // no clipboard here (an insecure origin, or refused): show it selected for Ctrl+C
      state.revealed.add(w.id);
      renderWebhooks();
      const node = $("secret-" + w.id);
      const range = document.createRange();
      range.selectNodeContents(node);
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      flash("webhooks-flash", "Copying is not allowed here: the secret is selected, press Ctrl+C.", "err");
    }
  }

  async function setWebhookActive(w, box) {
    box.disabled = true;
    try {
      await api("PATCH", "/api/webhooks/" + w.id, { active: box.checked });
      flash("webhooks-flash", (box.checked ? "Switched on: " : "Switched off: ") + w.url + ".");
    } catch (e) {
      box.checked = !box.checked;
      handle(e, "webhooks-flash");
    }
    box.disabled = false;
    await loadWebhooks(true);
  }

  async function deleteWebhook(w) {
    const ok = await confirmDialog("Delete the webhook to " + w.url + "?",
      "Its deliveries go too; rules that notify it stop being valid.", "Delete");
    if (!ok) return;
    try {
      await api("DELETE", "/api/webhooks/" + w.id);
      flash("webhooks-flash", "Deleted the webhook to " + w.url + ".");
      state.openDeliveries.delete(w.id);
      state.revealed.delete(w.id);
    } catch (e) {
      handle(e, "webhooks-flash");
    }
    await loadWebhooks(true);
  }

  async function ping(w) {
    try {
      await api("POST", "/api/webhooks/" + w.id + "/ping");
      flash("webhooks-flash", "A ping is on its way to " + w.url + ".");
      state.openDeliveries.add(w.id);
      renderWebhooks();
    } catch (e) {
      handle(e, "webhooks-flash");
    }
  }

  function toggleDeliveries(w) {
    if (state.openDeliveries.has(w.id)) state.openDeliveries.delete(w.id);
    else state.openDeliveries.add(w.id);
    renderWebhooks();
  }

  function when(iso) {
    if (!iso) return "–";
    const d = new Date(iso);
    return isNaN(d) ? iso : d.toLocaleString();
  }

  async function loadDeliveries(id) {
    const box = $("deliveries-" + id);
    if (!box) return;
    box.hidden = false;
    if (!box.children.length) box.append(el("p", { class: "muted" }, "Loading the deliveries…"));
    const gen = state.gen;
    let data;
    try {
      data = await api("GET", "/api/webhooks/" + id + "/deliveries");
    } catch (e) {
      if (gen === state.gen) box.replaceChildren(el("p", { class: "form-error", role: "alert" }, errText(e)));
      return;
    }
    if (gen !== state.gen || !box.isConnected) return;
    const items = (data.items || []).slice(0, DELIVERIES_SHOWN);
    const refresh = el("button", { type: "button", class: "btn btn-ghost btn-sm", onclick: () => loadDeliveries(id) }, "Refresh");
    if (!items.length) {
      box.replaceChildren(el("div", { class: "deliveries-head" }, el("h4", {}, "Latest deliveries"), refresh),
        el("p", { class: "muted" }, "No deliveries yet."));
      return;
    }
    box.replaceChildren(el("div", { class: "deliveries-head" }, el("h4", { id: "deliveries-title-" + id }, "Latest deliveries"), refresh),
      el("div", { class: "table-wrap" }, el("table", { class: "table", "aria-labelledby": "deliveries-title-" + id },
        el("thead", {}, el("tr", {}, ["Event", "Status", "Tries", "Last answer", "Created", "Delivered / next try", ""].map((h) =>
          el("th", { scope: "col" }, h || el("span", { class: "sr-only" }, "Retry"))))),
        el("tbody", {}, items.map((d) => el("tr", { "data-delivery": d.id },
          el("td", {}, d.event),
          el("td", {}, el("span", { class: "status st-" + d.status }, d.status)),
          el("td", {}, String(d.attempts)),
          el("td", {}, [d.last_status ? "HTTP " + d.last_status : "", d.last_error || ""].filter(Boolean).join(" · ") || "–"),
          el("td", {}, when(d.created_at)),
          el("td", {}, d.delivered_at ? when(d.delivered_at) : d.next_attempt_at ? "next " + when(d.next_attempt_at) : "–"),
          el("td", {}, d.status === "failed"
            ? el("button", { type: "button", class: "btn btn-ghost btn-sm", onclick: (ev) => redeliver(id, d, ev.target),
              "aria-label": "Retry delivery " + d.id }, "Retry")
            : null)))))));
  }

  async function redeliver(webhookId, d, button) {
    button.disabled = true;
    try {
      await api("POST", "/api/webhooks/" + webhookId + "/deliveries/" + d.id + "/redeliver");
      flash("webhooks-flash", "Delivery " + d.id + " is tried again.");
    } catch (e) {
      handle(e, "webhooks-flash");
    }
    await loadDeliveries(webhookId);
  }

  function buildEventChecks() {
    const all = el("input", { type: "checkbox", id: "event-all", value: "*", checked: true, onchange: syncEvents });
    const boxes = EVENTS.map((e) => el("input", { type: "checkbox", name: "webhook-event", value: e, id: "event-" + e.replace(".", "-") }));
    $("webhook-events").append(
      el("label", { class: "check" }, all, "All events"),
      ...boxes.map((b) => el("label", { class: "check" }, b, b.value)));
    syncEvents();
  }

  function syncEvents() {
    const all = $("event-all").checked;
    for (const b of document.querySelectorAll("input[name=webhook-event]")) b.disabled = all;
  }

  async function addWebhook(ev) {
    ev.preventDefault();
    const events = $("event-all").checked
      ? ["*"]
      : [...document.querySelectorAll("input[name=webhook-event]:checked")].map((b) => b.value);
    const body = { url: $("webhook-url").value.trim(), events };
    const description = $("webhook-description").value.trim();
    if (description) body.description = description;
    $("webhook-save").disabled = true;
    $("webhook-error").textContent = "";
    try {
      const w = await api("POST", "/api/webhooks", body);
      state.revealed.add(w.id);
      $("webhook-url").value = "";
      $("webhook-description").value = "";
      flash("webhooks-flash", "Added the webhook to " + w.url + ". Its secret is shown: the receiver checks signatures with it.");
      await loadWebhooks(true);
      const item = document.querySelector('#webhooks-list [data-id="' + w.id + '"] .secret-row button');
      if (item) item.focus();
    } catch (e) {
      if (e.status === 401) return handle(e, "webhooks-flash");
      $("webhook-error").textContent = errText(e);
    } finally {
      $("webhook-save").disabled = false;
    }
  }

  /* ---------------------------------------------------------------- business hours */

  async function loadCalendars() {
    const gen = state.gen;
    let data;
    try {
      data = await api("GET", "/api/calendars");
    } catch (e) {
      if (gen === state.gen) handle(e, "hours-flash");
      return;
    }
    if (gen !== state.gen) return;
    state.calendars = data.items || [];
    renderCalendars();
    renderQueueCalendars();
  }

  function spansText(spans) {
    return (spans || []).map(([a, b]) => a + "–" + b).join(", ");
  }

  function hoursSummary(hours) {
    const parts = DAYS.map(([d, name]) => (hours && hours[d] && hours[d].length ? name.slice(0, 3) + " " + spansText(hours[d]) : null))
      .filter(Boolean);
    return parts.length ? parts.join(" · ") : "Closed every day";
  }

  function renderCalendars() {
    const items = state.calendars;
    $("calendars-list").replaceChildren(...items.map((c) => el("li", { class: "item calendar", "data-id": c.id },
      el("div", { class: "item-head" },
        el("div", { class: "item-main" },
          el("p", { class: "item-title" }, c.name),
          el("p", { class: "item-sub" }, c.timezone),
          el("p", { class: "item-summary" }, hoursSummary(c.hours)),
          c.holidays && c.holidays.length
            ? el("p", { class: "item-summary" }, "Holidays: " + c.holidays.join(", "))
            : null),
        isAdmin()
          ? el("div", { class: "item-actions" },
            el("button", { type: "button", class: "btn btn-ghost btn-sm", onclick: () => openCalendarForm(c),
              "aria-label": "Edit calendar " + c.name }, "Edit"),
            el("button", { type: "button", class: "btn btn-ghost btn-sm danger", onclick: () => deleteCalendar(c),
              "aria-label": "Delete calendar " + c.name }, "Delete"))
          : null))));
    $("calendars-count").textContent = "(" + items.length + ")";
    $("calendars-empty").hidden = items.length > 0;
  }

  function renderQueueCalendars() {
    if (!isAdmin()) { $("queue-calendars").replaceChildren(); return; }
    const options = [["", "Choose…"], ["default", "Default hours (Mon–Fri 09:00–17:00 UTC)"],
      ...state.calendars.map((c) => [String(c.id), c.name + " (" + c.timezone + ")"])];
    $("queue-calendars").replaceChildren(...state.queues.map((q) => {
      const result = el("span", { class: "result", role: "status" });
      const known = state.queueCalendar.get(q);
      const sel = select(options, known === undefined ? "" : String(known), { "data-queue": q });
      sel.addEventListener("change", () => setQueueCalendar(q, sel, result));
      return el("tr", {},
        el("th", { scope: "row" }, q),
        el("td", {}, ...labelled("Calendar of queue " + q, sel)),
        el("td", {}, result));
    }));
  }

  async function setQueueCalendar(queue, sel, result) {
    if (sel.value === "") return;
    const id = sel.value === "default" ? null : Number(sel.value);
    sel.disabled = true;
    result.textContent = "";
    result.dataset.kind = "ok";
    try {
      const r = await api("PUT", "/api/queues/" + encodeURIComponent(queue) + "/calendar", { calendar_id: id });
      state.queueCalendar.set(queue, r.calendar_id === null ? "default" : r.calendar_id);
      const cal = state.calendars.find((c) => c.id === r.calendar_id);
      result.textContent = "Saved: " + (cal ? cal.name : "default hours") + ".";
    } catch (e) {
      if (e.status === 401) return handle(e, "hours-flash");
      result.dataset.kind = "err";
      result.textContent = errText(e);
    } finally {
      sel.disabled = false;
    }
  }

  function buildWeek() {
    $("timezones").replaceChildren(...ZONES.map((z) => el("option", { value: z })));
    $("calendar-week").replaceChildren(...DAYS.map(([d, name]) => el("div", { class: "day" },
      el("label", { for: "hours-" + d }, name),
      el("input", { type: "text", id: "hours-" + d, "data-day": d, autocomplete: "off", spellcheck: "false",
        placeholder: "closed", "aria-describedby": "hours-hint" }))));
  }

  function renderHolidays() {
    $("calendar-holidays").replaceChildren(...state.holidays.map((d) => el("li", { class: "chip" }, d,
      el("button", { type: "button", class: "chip-x", "aria-label": "Remove holiday " + d, onclick: () => {
        state.holidays = state.holidays.filter((x) => x !== d);
        renderHolidays();
        $("holiday-date").focus();
      } }, "×"))));
  }

  function addHoliday() {
    const d = $("holiday-date").value;
    if (!d) { $("calendar-error").textContent = "Pick a date to add."; $("holiday-date").focus(); return; }
    $("calendar-error").textContent = "";
    if (!state.holidays.includes(d)) state.holidays = [...state.holidays, d].sort();
    $("holiday-date").value = "";
    renderHolidays();
  }

  function openCalendarForm(c) {
    state.editingCalendar = c || null;
    $("calendar-form-title").textContent = c ? "Edit calendar: " + c.name : "New calendar";
    $("calendar-name").value = c ? c.name : "";
    $("calendar-timezone").value = c ? c.timezone : "UTC";
    const hours = c ? c.hours || {} : DEFAULT_HOURS;
    for (const [d] of DAYS) $("hours-" + d).value = spansText(hours[d]);
    state.holidays = c ? [...(c.holidays || [])] : [];
    renderHolidays();
    $("calendar-error").textContent = "";
    $("calendar-form").hidden = false;
    $("calendar-form").scrollIntoView({ block: "start" });
    $("calendar-name").focus();
  }

  function closeCalendarForm() {
    state.editingCalendar = null;
    $("calendar-form").hidden = true;
  }

  /** "09:00–12:00, 13:00–17:00" -> [["09:00", "12:00"], ["13:00", "17:00"]]; a part that is not a span is
      sent as it is, for the server to say what is wrong. */
  function parseSpans(text) {
    return splitList(text).map((part) => {
      const m = /^(\S+)\s*[-–—]\s*(\S+)$/.exec(part);
      return m ? [m[1], m[2]] : [part];
    });
  }

  async function saveCalendar(ev) {
    ev.preventDefault();
    const c = state.editingCalendar;
    const hours = {};
    for (const [d] of DAYS) {
      const spans = parseSpans($("hours-" + d).value);
      if (spans.length) hours[d] = spans;
    }
    const body = { name: $("calendar-name").value, timezone: $("calendar-timezone").value.trim(), hours,
      holidays: state.holidays };
    $("calendar-save").disabled = true;
    $("calendar-error").textContent = "";
    try {
      const saved = c ? await api("PATCH", "/api/calendars/" + c.id, body) : await api("POST", "/api/calendars", body);
      closeCalendarForm();
      flash("hours-flash", (c ? "Saved calendar " : "Added calendar ") + saved.name + ".");
      await loadCalendars();
    } catch (e) {
      if (e.status === 401) return handle(e, "hours-flash");
      $("calendar-error").textContent = errText(e);
    } finally {
      $("calendar-save").disabled = false;
    }
  }

  async function deleteCalendar(c) {
    const ok = await confirmDialog("Delete calendar “" + c.name + "”?",
      "Queues that count in it go back to the default hours (Monday to Friday, 09:00–17:00 UTC).", "Delete");
    if (!ok) return;
    try {
      await api("DELETE", "/api/calendars/" + c.id);
      for (const [q, id] of state.queueCalendar) if (id === c.id) state.queueCalendar.set(q, "default");
      flash("hours-flash", "Deleted calendar " + c.name + ".");
      if (state.editingCalendar && state.editingCalendar.id === c.id) closeCalendarForm();
    } catch (e) {
      handle(e, "hours-flash");
    }
    await loadCalendars();
  }

  /* ---------------------------------------------------------------- customer attributes */

  async function loadAttributes() {
    const gen = state.gen;
    let data;
    try {
      data = await api("GET", "/api/customer-attributes");
    } catch (e) {
      if (gen === state.gen) handle(e, "attributes-flash");
      return;
    }
    if (gen !== state.gen) return;
    state.attributes = data.items || [];
    renderAttributes();
  }

  const TYPE_LABEL = { text: "Text", number: "Number", date: "Date", choice: "Choice" };

  function renderAttributes() {
    const items = state.attributes;
    $("attributes-list").replaceChildren(...items.map((a) => (state.editingAttribute === a.key ? attributeEditRow(a) : attributeRow(a))));
    $("attributes-count").textContent = "(" + items.length + ")";
    $("attributes-empty").hidden = items.length > 0;
  }

  function attributeRow(a) {
    return el("tr", { "data-key": a.key },
      el("td", {}, el("code", {}, a.key)),
      el("td", {}, a.label),
      el("td", {}, TYPE_LABEL[a.type] || a.type),
      el("td", {}, a.type === "choice" ? (a.choices || []).join(", ") : "–"),
      isAdmin()
        ? el("td", { class: "row-actions" },
          el("button", { type: "button", class: "btn btn-ghost btn-sm", "aria-label": "Edit attribute " + a.key,
            onclick: () => { state.editingAttribute = a.key; renderAttributes(); focusInRow(a.key); } }, "Edit"),
          el("button", { type: "button", class: "btn btn-ghost btn-sm danger", "aria-label": "Delete attribute " + a.key,
            onclick: () => deleteAttribute(a) }, "Delete"))
        : null);
  }

  function focusInRow(key) {
    const node = document.querySelector('#attributes-list tr[data-key="' + CSS.escape(key) + '"] input, ' +
      '#attributes-list tr[data-key="' + CSS.escape(key) + '"] button');
    if (node) node.focus();
  }

  function attributeEditRow(a) {
    const label = el("input", { type: "text", maxlength: 120, value: a.label });
    const choices = a.type === "choice" ? el("input", { type: "text", value: (a.choices || []).join(", ") }) : null;
    const error = el("p", { class: "form-error", role: "alert" });
    const save = el("button", { type: "button", class: "btn btn-primary btn-sm" }, "Save");
    const cancel = el("button", { type: "button", class: "btn btn-ghost btn-sm" }, "Cancel");
    const row = el("tr", { "data-key": a.key, class: "editing" },
      el("td", {}, el("code", {}, a.key)),
      el("td", {}, ...labelled("Label of " + a.key, label)),
      el("td", {}, TYPE_LABEL[a.type] || a.type),
      el("td", {}, choices ? labelled("Choices of " + a.key + ", separated by commas", choices) : "–", error),
      el("td", { class: "row-actions" }, save, cancel));
    const done = () => { state.editingAttribute = null; renderAttributes(); focusInRow(a.key); };
    cancel.addEventListener("click", done);
    const submit = async () => {
      const body = { label: label.value };
      if (choices) body.choices = splitList(choices.value);
      save.disabled = true;
      error.textContent = "";
      try {
        await api("PATCH", "/api/customer-attributes/" + encodeURIComponent(a.key), body);
        state.editingAttribute = null;
        flash("attributes-flash", "Saved attribute " + a.key + ".");
        await loadAttributes();
        focusInRow(a.key);
      } catch (e) {
        save.disabled = false;
        if (e.status === 401) return handle(e, "attributes-flash");
        error.textContent = errText(e);
      }
    };
    save.addEventListener("click", submit);
    row.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && ev.target instanceof HTMLInputElement) { ev.preventDefault(); submit(); }
      if (ev.key === "Escape") { ev.preventDefault(); done(); }
    });
    return row;
  }

  async function deleteAttribute(a) {
    const ok = await confirmDialog("Delete attribute “" + a.label + "”?",
      "Agents no longer see or fill it in; values customers hold stay in their data.", "Delete");
    if (!ok) return;
    try {
      await api("DELETE", "/api/customer-attributes/" + encodeURIComponent(a.key));
      flash("attributes-flash", "Deleted attribute " + a.key + ".");
    } catch (e) {
      handle(e, "attributes-flash");
    }
    await loadAttributes();
  }

  function syncAttributeType() {
    $("attribute-choices-field").hidden = $("attribute-type").value !== "choice";
  }

  async function addAttribute(ev) {
    ev.preventDefault();
    const type = $("attribute-type").value;
    const body = { key: $("attribute-key").value.trim(), type };
    const label = $("attribute-label").value.trim();
    if (label) body.label = label;
    if (type === "choice") body.choices = splitList($("attribute-choices").value);
    $("attribute-save").disabled = true;
    $("attribute-error").textContent = "";
    try {
      const a = await api("POST", "/api/customer-attributes", body);
      for (const id of ["attribute-key", "attribute-label", "attribute-choices"]) $(id).value = "";
      flash("attributes-flash", "Added attribute " + a.key + ".");
      await loadAttributes();
      $("attribute-key").focus();
    } catch (e) {
      if (e.status === 401) return handle(e, "attributes-flash");
      $("attribute-error").textContent = errText(e);
    } finally {
      $("attribute-save").disabled = false;
    }
  }

  /* ---------------------------------------------------------------- confirmations */

  /** A modal yes/no; resolves true on OK. */
  function confirmDialog(title, text, okLabel) {
    const dialog = $("confirm");
    $("confirm-title").textContent = title;
    $("confirm-text").textContent = text;
    $("confirm-ok").textContent = okLabel;
    dialog.returnValue = "";
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
      dialog.showModal();
    });
  }

  /* ---------------------------------------------------------------- wiring */

  $("rule-trigger").replaceChildren(...TRIGGERS.map(([v, t]) => el("option", { value: v }, "When " + t)));
  buildEventChecks();
  buildWeek();
  syncAttributeType();

  $("logout").addEventListener("click", auth.signOut);
  $("denied-logout").addEventListener("click", auth.signOut);
  $("new-rule").addEventListener("click", () => openRuleForm(null));
  $("add-condition").addEventListener("click", () => {
    const row = conditionRow(null);
    $("rule-conditions").append(row);
    row.focusFirst();
  });
  $("add-action").addEventListener("click", () => {
    const row = actionRow(null);
    $("rule-actions").append(row);
    row.focusFirst();
  });
  $("rule-form").addEventListener("submit", saveRule);
  $("rule-dry-run").addEventListener("click", dryRun);
  $("rule-cancel").addEventListener("click", () => {
    const id = state.editingRule && state.editingRule.id;
    closeRuleForm();
    const back = id && document.querySelector('#rules-list [data-id="' + id + '"] button');
    (back || (isAdmin() ? $("new-rule") : $("rules-title"))).focus();
  });
  $("rule-delete").addEventListener("click", async () => {
    if (state.editingRule) await deleteRule(state.editingRule);
  });
  $("rule-form").addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") { ev.preventDefault(); $("rule-cancel").click(); }
  });
  $("webhook-form").addEventListener("submit", addWebhook);
  $("new-calendar").addEventListener("click", () => openCalendarForm(null));
  $("calendar-form").addEventListener("submit", saveCalendar);
  $("calendar-cancel").addEventListener("click", () => { closeCalendarForm(); $("new-calendar").focus(); });
  $("add-holiday").addEventListener("click", addHoliday);
  $("holiday-date").addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") { ev.preventDefault(); addHoliday(); }
  });
  $("attribute-type").addEventListener("change", syncAttributeType);
  $("attribute-form").addEventListener("submit", addAttribute);

  if (SB.session.token) start();
  else auth.showLogin("");
})();
