/* Switchboard supervisor board (/console/supervisor): queues, agents, today's charts and the last 30 days'
   satisfaction, live over /ws/supervisor, plus the two supervisor moves (reassign a waiting ticket, change an agent's queues).
   Plain ES2020 on top of common.js (SB.*) and the vendored Chart.js; no build step. Everything shown is
   built with SB.el (text nodes only): no server or customer text ever becomes markup. */
"use strict";
(function () {
  const { el, api, session } = SB;
  const $ = (id) => document.getElementById(id);

  const STATS_EVERY_MS = 30000; // charts refresh on this period...
  const STATS_MIN_GAP_MS = 10000; // ...and after pushes, but never more often than this
  const LIST_MIN_GAP_MS = 1000; // the waiting-ticket and agent lists, after pushes
  const CSAT_DAYS = 30;
  const WAIT_WARN_S = 60;
  const WAIT_BAD_S = 300;
  const CHANNELS = [
    ["chat", "Chat", "#1d4ed8"],
    ["email", "Email", "#7c3aed"],
    ["sms", "SMS", "#0f766e"],
    ["voice", "Voice", "#c2410c"],
  ];
  const BUCKET_COLORS = ["#15803d", "#4d7c0f", "#a16207", "#c2410c", "#b91c1c"];
  const STATE_ORDER = { available: 0, busy: 1, away: 2 };

  const state = {
    me: null,
    socket: null,
    queues: [],
    agents: [],
    agentFrames: false, // has this connection pushed an "agents" frame? if not, re-read the list after pushes
    waiting: [],
    stats: null,
    csat: null, // GET /api/csat?days=30
    customers: new Map(), // id -> name (string) or null while asked
    tickers: { queues: [], kpis: [], waiting: [] },
    waitingRows: new Map(), // ticket id -> row
    agentRows: new Map(), // agent id -> row
    charts: null,
    report: null, // the last report shown
    reportChart: null,
    lastWaiting: new Map(), // queue name -> waiting count shown, to flash changes
    timers: [],
    gen: 0, // bumped whenever the board stops: answers to older requests are dropped
  };

  // ---------------------------------------------------------------- small helpers

  function isSupervisor(agent) {
    return !!agent && (agent.role === "supervisor" || agent.role === "admin");
  }

  function errText(e) {
    if (e && e.status === 403) return "Not allowed: " + (e.message || "supervisors and admins only");
    if (e && e.status === 0) return "The server did not answer; try again.";
    if (e && e.message) return e.message;
    return "Something went wrong; try again.";
  }

  function levelFor(seconds) {
    if (seconds >= WAIT_BAD_S) return "bad";
    if (seconds >= WAIT_WARN_S) return "warn";
    return "ok";
  }

  function hhmm(date) {
    return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function announce(text) {
    const box = $("announce");
    box.textContent = "";
    setTimeout(() => { box.textContent = text; }, 30);
  }

  function agentState(a) {
    if (a.state === "available" || a.state === "busy" || a.state === "away") return a.state;
    if (a.presence !== "available") return "away";
    const cap = Number(a.capacity) || 0;
    return cap > 0 && (Number(a.open_tickets) || 0) >= cap ? "busy" : "available";
  }

  function agentName(id) {
    const a = state.agents.find((x) => x.id === id);
    return a ? a.name : "agent " + id;
  }

  function num(v) {
    return v === null || v === undefined ? "–" : String(v);
  }

  /** Run fn at most once per gapMs; calls in between are folded into one trailing run. */
  function throttled(fn, gapMs) {
    let last = 0;
    let timer = null;
    let running = false;
    let again = false;
    async function run() {
      timer = null;
      if (running) { again = true; return; }
      running = true;
      last = Date.now();
      try { await fn(); } catch (e) { /* each loader reports its own errors */ } finally {
        running = false;
        if (again) { again = false; schedule(); }
      }
    }
    function schedule(now) {
      if (now) { clearTimeout(timer); timer = null; }
      if (timer) return;
      timer = setTimeout(run, now ? 0 : Math.max(0, last + gapMs - Date.now()));
    }
    schedule.cancel = () => { clearTimeout(timer); timer = null; };
    return schedule;
  }

  // ---------------------------------------------------------------- views

  const auth = SB.signInForm({
    title: "Sign in to the supervisor board",
    lead: ["For supervisors and admins. Agents work in the ", el("a", { href: "/console" }, "agent console"), "."],
    views: { refused: "refused-view", board: "board" },
    main: "board",
    onSignedIn,
    onSignedOut: () => { stopBoard(); resetBoard(); },
    errText,
  });

  /** Forget what the board showed: the next person to sign in starts from a fresh read. */
  function resetBoard() {
    Object.assign(state, { me: null, queues: [], agents: [], waiting: [], stats: null, csat: null, report: null });
    for (const id of ["csat-kpis", "csat-queues", "csat-agents"]) $(id).replaceChildren();
    $("report-table").replaceChildren();
    $("report-summary").textContent = "";
    $("report-error").textContent = "";
    state.lastWaiting.clear();
    for (const row of state.agentRows.values()) { row.tr.remove(); row.editTr.remove(); }
    state.agentRows.clear();
    state.tickers = { queues: [], kpis: [], waiting: [] };
    $("queues").replaceChildren();
    $("kpis").replaceChildren();
    $("agents-count").textContent = "0";
    for (const id of ["agents-error", "waiting-error", "charts-error", "csat-error"]) $(id).textContent = "";
    renderWaiting();
  }

  function showRefused(agent) {
    stopBoard();
    resetBoard();
    auth.show("refused");
    $("refused-text").textContent =
      "You are signed in as " + (agent.name || agent.email) + ", whose role is " + agent.role +
      ". This board is for supervisors and admins only; agents work in the agent console.";
  }

  async function onSignedIn(agent) {
    if (!isSupervisor(agent)) {
      await SB.logout();
      auth.showLogin("Supervisors only: " + agent.email + " is an " + agent.role +
        " account. Agents work in the agent console at /console.");
      return;
    }
    await startBoard();
  }

  async function onSwitchUser() {
    await SB.logout();
    auth.showLogin("");
  }

  // ---------------------------------------------------------------- board lifecycle

  async function startBoard() {
    stopBoard();
    const me = await auth.resume();
    if (!me) return;
    if (!isSupervisor(me)) { showRefused(me); return; }
    state.me = me;
    auth.show("board");
    $("who").replaceChildren("Signed in as ", el("strong", {}, me.name || me.email));
    ensureCharts();
    state.agentFrames = false;
    state.socket = SB.socket("/ws/supervisor", { onFrame, onState: setConn, onOpen: reloadAll });
    state.timers.push(setInterval(() => {
      scheduleStats();
      scheduleCsat();
      scheduleWaiting();
      scheduleQueues();
    }, STATS_EVERY_MS));
    initReports();
    $("main").focus();
  }

  function stopBoard() {
    state.gen += 1;
    if (state.socket) { state.socket.close(); state.socket = null; }
    for (const t of state.timers) clearInterval(t);
    state.timers = [];
    scheduleStats.cancel();
    scheduleCsat.cancel();
    scheduleWaiting.cancel();
    scheduleAgents.cancel();
    scheduleQueues.cancel();
  }

  function setConn(s) {
    const box = $("conn");
    const wasOpen = box.dataset.state === "open";
    box.dataset.state = s;
    $("conn-text").textContent =
      s === "open" ? "Live" : s === "connecting" ? (wasOpen ? "Reconnecting…" : "Connecting…") : "Offline, reconnecting…";
  }

  function markUpdated() {
    const now = new Date();
    const t = $("updated-at");
    t.textContent = now.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
    t.setAttribute("datetime", now.toISOString());
  }

  function onFrame(frame) {
    if (frame.type === "queues" && Array.isArray(frame.data)) {
      applyQueues(frame.data);
      scheduleWaiting();
      scheduleStats();
      scheduleCsat();
      if (!state.agentFrames) scheduleAgents();
    } else if (frame.type === "ticket.updated" && frame.data && frame.data.reason === "sla_breach") {
      // a target was missed: "SLA missed" on the queue cards moves, and the ticket's priority went up
      scheduleQueues(true);
      scheduleWaiting();
    } else if (frame.type === "agents" && Array.isArray(frame.data)) {
      state.agentFrames = true;
      applyAgents(frame.data);
    } else if (frame.type === "error" && frame.code === "forbidden") {
      showRefused(state.me || session.agent || { role: "agent" });
    }
  }

  /** After every (re)connect: whatever was missed while away is read again. */
  function reloadAll() {
    scheduleQueues(true);
    scheduleAgents(true);
    scheduleWaiting(true);
    scheduleStats(true);
    scheduleCsat(true);
  }

  /** Read one resource and apply it, unless the board was stopped (signed out) in the meantime; errors go
      to errorBox (an id), an ended session back to the login form. */
  async function load(path, apply, errorBox) {
    const gen = state.gen;
    try {
      const data = await api("GET", path);
      if (gen !== state.gen) return;
      apply(data);
      if (errorBox) $(errorBox).textContent = "";
    } catch (e) {
      if (gen !== state.gen) return;
      if (e && e.status === 401) { auth.showLogin("Your session has ended; please sign in again."); return; }
      if (errorBox) $(errorBox).textContent = errText(e);
    }
  }

  const scheduleQueues = throttled(
    () => load("/api/queues", (data) => applyQueues(data.items || []), null), LIST_MIN_GAP_MS);

  const scheduleAgents = throttled(
    () => load("/api/agents", (data) => applyAgents(data.items || []), "agents-error"), LIST_MIN_GAP_MS);

  const scheduleWaiting = throttled(
    () => load("/api/tickets?waiting=true&limit=200", (data) => applyWaiting(data.items || []), "waiting-error"),
    LIST_MIN_GAP_MS);

  const scheduleStats = throttled(() => load("/api/stats?hours=8", (data) => {
    state.stats = data;
    renderCharts();
    renderKpis();
  }, "charts-error"), STATS_MIN_GAP_MS);

  const scheduleCsat = throttled(() => load("/api/csat?days=" + CSAT_DAYS, (data) => {
    state.csat = data;
    renderCsat();
  }, "csat-error"), STATS_MIN_GAP_MS);

  // ---------------------------------------------------------------- queues and the KPI strip

  function applyQueues(list) {
    state.queues = list.slice().sort((a, b) => String(a.name).localeCompare(String(b.name)));
    state.queuesAt = Date.now();
    renderQueues();
    renderKpis();
    markUpdated();
  }

  function waitTicker(node, baseSeconds, at, onLevel) {
    const fn = () => {
      const s = baseSeconds + (Date.now() - at) / 1000;
      node.textContent = SB.duration(s);
      if (onLevel) onLevel(levelFor(s));
    };
    fn();
    return fn;
  }

  function renderQueues() {
    const list = $("queues");
    const tickers = [];
    const items = state.queues.map((q) => {
      const waiting = Number(q.waiting) || 0;
      const busy = Number(q.agents_busy) || 0;
      const free = Math.max(0, (Number(q.agents_available) || 0) - busy);
      const card = el("li", { class: "queue", "data-queue": q.name, "data-level": "ok" });
      const longest = el("dd", { "data-field": "longest-wait" });
      if (waiting > 0) {
        tickers.push(waitTicker(longest, Number(q.longest_wait_s) || 0, state.queuesAt, (lvl) => {
          card.dataset.level = lvl;
        }));
      } else {
        longest.textContent = "–";
      }
      const bigNum = el("span", { class: "num", "data-field": "waiting" }, String(waiting));
      const before = state.lastWaiting.get(q.name);
      if (before !== undefined && before !== waiting) bigNum.classList.add("flash");
      state.lastWaiting.set(q.name, waiting);
      card.append(
        el("h3", {}, el("span", {}, q.name),
          el("span", { class: "oldest", "data-field": "oldest" },
            q.oldest_ticket_id ? "Oldest #" + q.oldest_ticket_id : "Nobody waiting")),
        el("div", { class: "queue-big" }, bigNum, el("span", { class: "lbl" }, "waiting")),
        el("dl", { class: "queue-facts" },
          el("dt", {}, "Longest wait"), longest,
          el("dt", {}, "Handled today"), el("dd", { "data-field": "handled" }, num(q.handled_today)),
          el("dt", {}, "Median 1st reply"),
          el("dd", { "data-field": "median-frt" }, SB.duration(q.median_first_response_s_today)),
          el("dt", {}, "SLA missed"),
          el("dd", { "data-field": "sla-breached", class: Number(q.sla_breached) > 0 ? "breached" : null },
            num(q.sla_breached))),
        el("ul", { class: "queue-agents", "aria-label": "Agents in " + q.name },
          el("li", { class: "pill pill-available" }, el("b", {}, String(free)), "available"),
          el("li", { class: "pill pill-busy" }, el("b", {}, String(busy)), "busy"),
          el("li", { class: "pill pill-away" }, el("b", {}, num(q.agents_away)), "away")),
      );
      return card;
    });
    if (!items.length) items.push(el("li", { class: "empty" }, "No queues yet."));
    list.replaceChildren(...items);
    state.tickers.queues = tickers;
  }

  function kpi(label, value, opts = {}) {
    const dd = el("dd", { "data-kpi": opts.key }, value);
    if (opts.sub) dd.append(el("span", { class: "kpi-sub" }, opts.sub));
    const box = el("div", { class: "kpi" + (opts.cls ? " " + opts.cls : "") }, dd, el("dt", {}, label));
    return { box, dd };
  }

  function renderKpis() {
    const qs = state.queues;
    const waiting = qs.reduce((n, q) => n + (Number(q.waiting) || 0), 0);
    const longestQ = qs.filter((q) => q.waiting > 0)
      .reduce((m, q) => (!m || q.longest_wait_s > m.longest_wait_s ? q : m), null);
    const counts = { available: 0, busy: 0, away: 0 };
    for (const a of state.agents) counts[agentState(a)] += 1;
    const withAgents = state.agents.reduce((n, a) => n + (Number(a.open_tickets) || 0), 0);
    // per-queue figures arrive with every push; the stats only every 10 to 30 s
    const handled = qs.some((q) => q.handled_today !== undefined)
      ? qs.reduce((n, q) => n + (Number(q.handled_today) || 0), 0)
      : state.stats ? state.stats.handled_today : null;
    const frt = state.stats && state.stats.first_response_today ? state.stats.first_response_today.median_s : null;

    const tickers = [];
    const cards = [];
    cards.push(kpi("Waiting now", String(waiting), {
      key: "waiting", cls: waiting ? "kpi-warn" : "kpi-ok",
      sub: !waiting ? "all queues clear" : qs.length === 1 ? "in " + qs[0].name
        : "across " + qs.filter((q) => q.waiting > 0).length + " of " + qs.length + " queues",
    }).box);
    const longest = kpi("Longest wait", "–", { key: "longest-wait", sub: longestQ ? "in " + longestQ.name : "nobody waiting" });
    if (longestQ) {
      const text = document.createTextNode("");
      longest.dd.replaceChildren(text, longest.dd.lastChild);
      tickers.push(waitTicker(text, Number(longestQ.longest_wait_s) || 0, state.queuesAt, (lvl) => {
        longest.box.className = "kpi " + (lvl === "bad" ? "kpi-bad" : lvl === "warn" ? "kpi-warn" : "kpi-ok");
      }));
    } else {
      longest.box.classList.add("kpi-ok");
    }
    cards.push(longest.box);
    const agentsDd = el("dd", { "data-kpi": "agents" },
      el("span", { class: "agent-count" }, String(counts.available), el("small", {}, "available")),
      el("span", { class: "agent-count" }, String(counts.busy), el("small", {}, "busy")),
      el("span", { class: "agent-count" }, String(counts.away), el("small", {}, "away")));
    const online = counts.available + counts.busy;
    agentsDd.append(el("span", { class: "kpi-sub" },
      online + " of " + state.agents.length + " taking work" + (online && !counts.available ? ", all at capacity" : "")));
    cards.push(el("div", { class: "kpi kpi-agents" + (counts.available ? " kpi-ok" : online ? " kpi-warn" : " kpi-bad") },
      agentsDd, el("dt", {}, "Agents")));
    cards.push(kpi("With agents", String(withAgents), { key: "open", sub: "open tickets assigned" }).box);
    cards.push(kpi("Handled today", num(handled), { key: "handled", sub: "since 00:00 UTC" }).box);
    cards.push(kpi("Median 1st reply", SB.duration(frt), { key: "median-frt", sub: "first response today" }).box);
    $("kpis").replaceChildren(...cards);
    state.tickers.kpis = tickers;
  }

  // ---------------------------------------------------------------- satisfaction

  function pct(v) {
    return v === null || v === undefined ? "–" : Number(v).toFixed(1) + "%";
  }

  function score(v) {
    return v === null || v === undefined ? "–" : Number(v).toFixed(2);
  }

  function csatTable(id, caption, head, rows, attr) {
    const body = rows.length
      ? rows.map((r) => el("tr", { [attr[0]]: r[attr[1]] },
        el("th", { scope: "row" }, r.label),
        el("td", { class: "num", "data-col": "answered" }, num(r.answered)),
        el("td", { class: "num", "data-col": "average" }, score(r.average)),
        el("td", { class: "num", "data-col": "satisfied_pct" }, pct(r.satisfied_pct))))
      : [el("tr", {}, el("td", { colspan: "4", class: "empty" }, "No answered surveys yet."))];
    $(id).replaceChildren(
      el("caption", {}, caption),
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, head),
        ["Answered", "Average (of 5)", "Satisfied"].map((h) => el("th", { scope: "col", class: "num" }, h)))),
      el("tbody", {}, body));
  }

  function renderCsat() {
    const c = state.csat;
    if (!c) return;
    const answered = Number(c.answered) || 0;
    const sent = Number(c.sent) || 0;
    const days = c.days || CSAT_DAYS;
    $("csat-kpis").replaceChildren(
      kpi("Average score", score(c.average), {
        key: "csat-average", sub: "of 5 stars, from " + answered + (answered === 1 ? " answer" : " answers"),
      }).box,
      kpi("Satisfied", pct(c.satisfied_pct), { key: "csat-satisfied", sub: "answered 4 or 5 stars" }).box,
      kpi("Response rate", sent ? pct((100 * answered) / sent) : "–", {
        key: "csat-rate", sub: answered + " answered of " + sent + " sent in " + days + " days",
      }).box);
    const byName = (a, b) => String(a.label).localeCompare(String(b.label));
    csatTable("csat-queues", "Satisfaction by queue, last " + days + " days", "Queue",
      (c.by_queue || []).map((q) => Object.assign({ label: q.queue }, q)).sort(byName), ["data-queue", "queue"]);
    csatTable("csat-agents", "Satisfaction by agent, last " + days + " days", "Agent",
      (c.by_agent || []).map((a) => Object.assign({ label: a.name }, a)).sort(byName), ["data-agent-id", "agent_id"]);
  }

  // ---------------------------------------------------------------- agents

  function applyAgents(list) {
    state.agents = list.slice().sort((a, b) => String(a.name).localeCompare(String(b.name)));
    renderAgents();
    renderKpis();
    refreshAssignSelects();
    markUpdated();
  }

  function renderAgents() {
    const body = $("agent-rows");
    const seen = new Set();
    const order = [];
    for (const a of state.agents) {
      seen.add(a.id);
      let row = state.agentRows.get(a.id);
      if (!row) { row = makeAgentRow(a); state.agentRows.set(a.id, row); }
      row.update(a);
      order.push(row.tr, row.editTr);
    }
    for (const [id, row] of state.agentRows) {
      if (!seen.has(id)) { row.tr.remove(); row.editTr.remove(); state.agentRows.delete(id); }
    }
    const current = Array.from(body.children);
    if (current.length !== order.length || current.some((n, i) => n !== order[i])) body.append(...order);
    $("agents-count").textContent = String(state.agents.length);
  }

  function makeAgentRow(a) {
    const nameCell = el("td");
    const stateCell = el("td");
    const bar = el("progress", { class: "load-bar", max: "1", value: "0" });
    const loadNum = el("span", { class: "load-num" });
    const loadCell = el("td", {}, el("div", { class: "load" }, bar, loadNum));
    const editId = "agent-edit-" + a.id;
    const editBtn = el("button", {
      type: "button", class: "btn btn-ghost btn-sm", "aria-expanded": "false", "aria-controls": editId,
      "data-action": "edit-queues", "aria-label": "Edit the queues of " + a.name,
    }, "Edit");
    const chips = el("div", { class: "chips-wrap" });
    const queuesCell = el("td", {}, el("div", { class: "queues-cell" }, chips, editBtn));
    const tr = el("tr", { "data-agent-id": a.id, title: a.email }, nameCell, stateCell, loadCell, queuesCell);
    const editTd = el("td", { colspan: "4" });
    const editTr = el("tr", { class: "edit-row", id: editId, hidden: true }, editTd);
    const row = { tr, editTr, agent: a };

    function closeEditor(focusButton) {
      editTr.hidden = true;
      editTd.replaceChildren();
      editBtn.setAttribute("aria-expanded", "false");
      if (focusButton) editBtn.focus();
    }

    function openEditor() {
      const agent = row.agent;
      const mine = new Set(agent.queues || []);
      const names = state.queues.map((q) => q.name);
      for (const n of mine) if (!names.includes(n)) names.push(n);
      const msg = el("span", { class: "row-msg err", role: "alert" });
      const boxes = names.map((n) => el("label", { class: "check" },
        el("input", { type: "checkbox", name: "queue", value: n, checked: mine.has(n) }), n));
      const save = el("button", { type: "submit", class: "btn btn-primary btn-sm" }, "Save queues");
      const cancel = el("button", { type: "button", class: "btn btn-ghost btn-sm", onclick: () => closeEditor(true) }, "Cancel");
      const form = el("form", { class: "queue-form", "data-agent-id": agent.id },
        el("fieldset", { class: "queue-edit" },
          el("legend", {}, "Queues " + agent.name + " serves"),
          ...boxes,
          el("span", { class: "edit-actions" }, save, cancel)),
        msg);
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const queues = Array.from(form.querySelectorAll("input[name=queue]:checked"), (i) => i.value);
        save.disabled = true;
        msg.textContent = "";
        try {
          const updated = await api("PATCH", "/api/agents/" + agent.id, { queues });
          const merged = Object.assign({}, row.agent, updated || {}, { queues: (updated && updated.queues) || queues });
          state.agents = state.agents.map((x) => (x.id === agent.id ? merged : x));
          closeEditor(true);
          renderAgents();
          renderKpis();
          refreshAssignSelects();
          announce(agent.name + " now serves " + (merged.queues.length ? merged.queues.join(", ") : "no queue") + ".");
          scheduleQueues();
        } catch (e) {
          if (e && e.status === 401) { auth.showLogin("Your session has ended; please sign in again."); return; }
          msg.textContent = "Could not change the queues: " + errText(e);
        } finally {
          save.disabled = false;
        }
      });
      editTd.replaceChildren(form);
      editTr.hidden = false;
      editBtn.setAttribute("aria-expanded", "true");
      const first = form.querySelector("input");
      if (first) first.focus();
    }

    editBtn.addEventListener("click", () => (editTr.hidden ? openEditor() : closeEditor(false)));
    closeOnEscape(editTr, () => closeEditor(true));

    row.update = (agent) => {
      row.agent = agent;
      const st = agentState(agent);
      const open = Number(agent.open_tickets) || 0;
      const cap = Number(agent.capacity) || 0;
      tr.dataset.state = st;
      nameCell.replaceChildren(
        el("span", { class: "a-name" }, agent.name),
        el("span", { class: "a-role" }, agent.role));
      stateCell.replaceChildren(el("span", { class: "state state-" + st, "data-field": "state" },
        el("span", { class: "dot dot-" + st, "aria-hidden": "true" }), st));
      bar.max = Math.max(cap, 1);
      bar.value = Math.min(open, Math.max(cap, 1));
      bar.dataset.level = cap && open >= cap ? "full" : "room";
      bar.setAttribute("aria-label", agent.name + ": " + open + " of " + cap + " open tickets");
      loadNum.textContent = open + " / " + cap;
      const qs = agent.queues || [];
      editBtn.setAttribute("aria-label", "Edit the queues of " + agent.name);
      chips.replaceChildren(qs.length
        ? el("ul", { class: "chips", "data-field": "queues" }, qs.map((q) => el("li", { class: "chip" }, q)))
        : el("span", { class: "chips-none", "data-field": "queues" }, "no queue"));
    };
    return row;
  }

  /** Escape closes an open editor. */
  function closeOnEscape(container, close) {
    container.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape") { ev.preventDefault(); close(); }
    });
  }

  // ---------------------------------------------------------------- waiting tickets and reassigning

  function applyWaiting(items) {
    const waiting = items.filter((t) => t.waiting !== false && !t.assignee_id);
    const key = (t) => new Date(t.queued_at || t.created_at || 0).getTime();
    const rank = { urgent: 0, high: 1, normal: 2, low: 3 };
    waiting.sort((a, b) => (rank[a.priority] ?? 2) - (rank[b.priority] ?? 2) || key(a) - key(b) || a.id - b.id);
    state.waiting = waiting;
    renderWaiting();
  }

  function customerName(id) {
    if (id === null || id === undefined) return "";
    if (state.customers.has(id)) return state.customers.get(id) || "";
    state.customers.set(id, null);
    api("GET", "/api/customers/" + id).then((c) => {
      state.customers.set(id, (c && c.name) || "Customer " + id);
      renderWaiting();
    }, () => {
      state.customers.set(id, "Customer " + id);
      renderWaiting();
    });
    return "";
  }

  function renderWaiting() {
    const body = $("waiting-rows");
    const seen = new Set();
    const order = [];
    const tickers = [];
    for (const t of state.waiting) {
      seen.add(t.id);
      let row = state.waitingRows.get(t.id);
      if (!row) { row = makeWaitingRow(t); state.waitingRows.set(t.id, row); }
      row.update(t);
      tickers.push(row.tick);
      order.push(row.tr);
    }
    for (const [id, row] of state.waitingRows) {
      if (!seen.has(id)) { row.tr.remove(); state.waitingRows.delete(id); }
    }
    const current = Array.from(body.children);
    if (current.length !== order.length || current.some((n, i) => n !== order[i])) body.append(...order);
    state.tickers.waiting = tickers;
    $("waiting-count").textContent = String(state.waiting.length);
    $("waiting-empty").hidden = state.waiting.length > 0;
    $("waiting-table").hidden = state.waiting.length === 0;
  }

  function makeWaitingRow(t) {
    const selectId = "assign-" + t.id;
    const subject = el("span", { class: "t-subject" });
    const meta = el("span", { class: "t-meta" });
    const wait = el("span", { class: "t-wait", "data-field": "wait" });
    const select = el("select", { id: selectId, "data-field": "assignee" });
    const msg = el("span", { class: "row-msg", role: "status" });
    const button = el("button", { type: "button", class: "btn btn-primary btn-sm", "data-action": "assign" }, "Assign");
    const tr = el("tr", { "data-ticket-id": t.id },
      el("td", {}, el("span", { class: "t-line" }, el("span", { class: "t-id" }, "#" + t.id), subject), meta),
      el("td", {}, wait),
      el("td", {},
        el("div", { class: "assign" },
          el("label", { class: "sr-only", for: selectId }, "Assign ticket #" + t.id + " to"),
          select, button),
        msg));
    const row = { tr, select, ticket: t, tick: () => {} };

    button.addEventListener("click", async () => {
      const assignee = Number(select.value);
      msg.className = "row-msg err";
      if (!assignee) { msg.textContent = "Choose an agent first."; select.focus(); return; }
      button.disabled = true;
      msg.textContent = "";
      try {
        await api("PATCH", "/api/tickets/" + row.ticket.id, { assignee_id: assignee });
        msg.className = "row-msg ok";
        msg.textContent = "Assigned to " + agentName(assignee) + ".";
        announce("Ticket #" + row.ticket.id + " assigned to " + agentName(assignee) + ".");
        scheduleWaiting(true);
        scheduleAgents();
      } catch (e) {
        if (e && e.status === 401) { auth.showLogin("Your session has ended; please sign in again."); return; }
        msg.textContent = "Could not assign: " + errText(e);
      } finally {
        button.disabled = false;
      }
    });

    row.update = (ticket) => {
      row.ticket = ticket;
      subject.textContent = ticket.subject || "(no subject)";
      const who = customerName(ticket.customer_id);
      meta.replaceChildren(
        el("span", { class: "chan" }, ticket.channel || "chat"),
        ticket.priority === "high" || ticket.priority === "urgent"
          ? el("span", { class: "prio prio-" + ticket.priority }, ticket.priority) : "",
        el("span", { class: "t-queue", "data-field": "queue" }, ticket.queue || "no queue"),
        who ? el("span", { class: "t-customer" }, who) : "");
      const since = new Date(ticket.queued_at || ticket.created_at || Date.now()).getTime();
      row.tick = waitTicker(wait, 0, since, (lvl) => { wait.dataset.level = lvl; });
      fillAssignSelect(row);
    };
    return row;
  }

  function fillAssignSelect(row) {
    const select = row.select;
    if (document.activeElement === select) return; // never change a list someone is choosing from
    const keep = select.value;
    const queue = row.ticket.queue;
    const agents = state.agents.slice().sort((a, b) =>
      (STATE_ORDER[agentState(a)] - STATE_ORDER[agentState(b)]) || String(a.name).localeCompare(String(b.name)));
    const options = [el("option", { value: "" }, "Choose agent…")];
    for (const a of agents) {
      const st = agentState(a);
      const inQueue = !queue || (a.queues || []).includes(queue);
      options.push(el("option", { value: a.id },
        a.name + " · " + st + " · " + (Number(a.open_tickets) || 0) + "/" + (Number(a.capacity) || 0) +
        (inQueue ? "" : " · not in " + queue)));
    }
    select.replaceChildren(...options);
    select.value = keep && agents.some((a) => String(a.id) === keep) ? keep : "";
  }

  function refreshAssignSelects() {
    for (const row of state.waitingRows.values()) fillAssignSelect(row);
  }

  // ---------------------------------------------------------------- charts

  function ensureCharts() {
    if (state.charts || !window.Chart) return;
    const C = window.Chart;
    C.defaults.font.family = getComputedStyle(document.body).fontFamily;
    C.defaults.font.size = 14;
    C.defaults.color = "#334155";
    C.defaults.borderColor = "#e2e8f0";
    C.defaults.animation = false;
    C.defaults.maintainAspectRatio = false;
    C.defaults.plugins.tooltip.padding = 10;

    const waiting = new C($("chart-waiting"), {
      type: "line",
      data: { labels: [], datasets: [{
        label: "Waiting tickets", data: [], borderColor: "#1d4ed8", backgroundColor: "rgba(29, 78, 216, 0.12)",
        fill: true, tension: 0.3, borderWidth: 3, pointRadius: 0, pointHoverRadius: 5,
      }] },
      options: {
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { display: false } },
        scales: {
          x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkip: true, autoSkipPadding: 28, maxTicksLimit: 7 } },
          y: { beginAtZero: true, ticks: { precision: 0 }, suggestedMax: 4 },
        },
      },
    });
    const frt = new C($("chart-frt"), {
      type: "bar",
      data: { labels: [], datasets: [{ label: "Tickets", data: [], backgroundColor: BUCKET_COLORS, borderRadius: 6 }] },
      options: {
        plugins: { legend: { display: false } },
        scales: {
          x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkip: false, font: { size: 13 } } },
          y: { beginAtZero: true, ticks: { precision: 0 }, suggestedMax: 4 },
        },
      },
    });
    const channels = new C($("chart-channels"), {
      type: "doughnut",
      data: {
        labels: CHANNELS.map((c) => c[1]),
        datasets: [{ data: CHANNELS.map(() => 0), backgroundColor: CHANNELS.map((c) => c[2]), borderWidth: 2, borderColor: "#ffffff" }],
      },
      options: {
        cutout: "60%",
        plugins: { legend: { position: "right", labels: { boxWidth: 14, boxHeight: 14, padding: 12 } } },
      },
    });
    state.charts = { waiting, frt, channels };
  }

  /** "< 1 min", "1–5 min", "15–60 min", "> 1 h" for histogram buckets given by their upper bounds. */
  function bucketLabel(b, prev) {
    const parts = (s) => (s < 60 ? [s, "s"] : s <= 3600 ? [s / 60, "min"] : [s / 3600, "h"]);
    const fmt = (s) => (s > 60 && s % 3600 === 0 ? s / 3600 + " h" : parts(s).join(" "));
    if (b.le_s === null || b.le_s === undefined) return prev === null ? "all" : "> " + fmt(prev);
    if (prev === null) return "< " + fmt(b.le_s);
    const [lo, loUnit] = parts(prev);
    const [hi, hiUnit] = parts(b.le_s);
    return (loUnit === hiUnit ? lo : lo + " " + loUnit) + "–" + hi + " " + hiUnit;
  }

  function fillTable(id, caption, head, rows) {
    const table = $(id);
    table.replaceChildren(
      el("caption", {}, caption),
      el("thead", {}, el("tr", {}, head.map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, rows.map((r) => el("tr", {}, el("th", { scope: "row" }, r[0]), r.slice(1).map((c) => el("td", {}, c))))));
  }

  function renderCharts() {
    const s = state.stats;
    if (!s) return;
    ensureCharts();
    const charts = state.charts;

    // waiting tickets over the last hours
    const series = Array.isArray(s.waiting_series) ? s.waiting_series : [];
    const labels = series.map((p) => hhmm(new Date(p.at)));
    const values = series.map((p) => Number(p.waiting) || 0);
    if (charts) {
      charts.waiting.data.labels = labels;
      charts.waiting.data.datasets[0].data = values;
      charts.waiting.update();
    }
    let summary = "No data yet.";
    if (values.length) {
      const peak = Math.max(...values);
      const peakAt = labels[values.indexOf(peak)];
      summary = "From " + labels[0] + " to " + labels[labels.length - 1] + ": now " + values[values.length - 1] +
        " waiting, peak " + peak + " at " + peakAt + ", low " + Math.min(...values) + ".";
    }
    $("chart-waiting-summary").textContent = summary;
    fillTable("table-waiting", "Waiting tickets over the last 8 hours", ["Time", "Waiting"],
      labels.map((l, i) => [l, String(values[i])]));

    // first-response time distribution today
    const fr = s.first_response_today || {};
    const buckets = Array.isArray(fr.buckets) ? fr.buckets : [];
    let prev = null;
    const bLabels = buckets.map((b) => { const l = bucketLabel(b, prev); prev = b.le_s; return l; });
    const bValues = buckets.map((b) => Number(b.count) || 0);
    if (charts) {
      charts.frt.data.labels = bLabels;
      charts.frt.data.datasets[0].data = bValues;
      charts.frt.update();
    }
    const answered = bValues.reduce((a, b) => a + b, 0);
    $("chart-frt-summary").textContent = answered
      ? answered + " tickets got a first response today; median " + SB.duration(fr.median_s) + ". " +
        bLabels.map((l, i) => l + ": " + bValues[i]).join(", ") + "."
      : "No first responses yet today.";
    fillTable("table-frt", "Tickets by first response time today", ["First response", "Tickets"],
      bLabels.map((l, i) => [l, String(bValues[i])]));

    // volume by channel today
    const vol = s.volume_by_channel_today || {};
    const vValues = CHANNELS.map((c) => Number(vol[c[0]]) || 0);
    const total = vValues.reduce((a, b) => a + b, 0);
    if (charts) {
      charts.channels.data.labels = CHANNELS.map((c, i) => c[1] + "  " + vValues[i]);
      charts.channels.data.datasets[0].data = vValues;
      charts.channels.update();
    }
    $("chart-channels-empty").hidden = total > 0;
    $("chart-channels-summary").textContent = total
      ? total + " conversations today: " + CHANNELS.map((c, i) => c[1] + " " + vValues[i]).join(", ") + "."
      : "No conversations yet today.";
    fillTable("table-channels", "Conversations by channel today", ["Channel", "Conversations"],
      CHANNELS.map((c, i) => [c[1], String(vValues[i])]));
  }

  // ---------------------------------------------------------------- reports

  const REPORT_LABELS = {
    count: "Tickets", median_s: "Median", p90_s: "90th percentile", mean_s: "Mean",
    created: "Created", resolved: "Resolved",
    handled: "Bot took a turn", answered: "Bot answered", handed_off: "Handed to a person",
    deflected: "Deflected", rate: "Deflection rate",
    average: "Average (of 5)", satisfied_pct: "Satisfied (4–5 stars)",
    first_response_targets: "First response: targets", first_response_met: "First response: met",
    first_response_breached: "First response: breached", first_response_attainment_pct: "First response: attained",
    resolution_targets: "Resolution: targets", resolution_met: "Resolution: met",
    resolution_breached: "Resolution: breached", resolution_attainment_pct: "Resolution: attained",
  };
  const GROUP_LABELS = { day: "Day", week: "Week of", queue: "Queue", channel: "Channel", agent: "Agent" };
  const AGENT_GROUP_KINDS = ["csat"]; // the reports that can be grouped by agent
  const DURATIONS = ["median_s", "p90_s", "mean_s"];

  function isoDay(d) { return d.toISOString().slice(0, 10); }

  function reportQuery() {
    const q = new URLSearchParams({
      from: $("report-from").value, to: $("report-to").value, group: $("report-group").value,
    });
    return $("report-kind").value + "?" + q.toString();
  }

  function initReports() {
    if (!$("report-to").value) {
      const today = new Date();
      $("report-to").value = isoDay(today);
      $("report-from").value = isoDay(new Date(today.getTime() - 29 * 86400000));
    }
    loadReport();
  }

  async function loadReport() {
    const gen = state.gen;
    const box = $("report-error");
    try {
      const data = await api("GET", "/api/reports/" + reportQuery());
      if (gen !== state.gen) return;
      box.textContent = "";
      state.report = data;
      renderReport();
    } catch (e) {
      if (gen !== state.gen) return;
      if (e.status === 401) { auth.showLogin("Your session ended. Sign in again."); return; }
      box.textContent = errText(e);
    }
  }

  function reportCell(column, value) {
    if (DURATIONS.includes(column)) return SB.duration(value);
    if (column === "rate") return value === null || value === undefined ? "–" : (value * 100).toFixed(1) + "%";
    if (column.endsWith("_pct")) return pct(value);
    if (column === "average") return score(value);
    return num(value);
  }

  /** "By agent" is offered for the reports that have it; another report falls back to by day. */
  function syncReportGroups() {
    const agentOk = AGENT_GROUP_KINDS.includes($("report-kind").value);
    const option = $("report-group").querySelector('option[value="agent"]');
    option.disabled = !agentOk;
    if (!agentOk && $("report-group").value === "agent") $("report-group").value = "day";
  }

  function reportDatasets(r) {
    const minutes = (v) => (v === null || v === undefined ? null : Math.round(v / 6) / 10);
    const col = (c) => r.rows.map((row) => row[c]);
    if (r.columns.includes("median_s")) {
      return { unit: "minutes", sets: [
        { label: "Median (min)", data: col("median_s").map(minutes), backgroundColor: "#1d4ed8" },
        { label: "90th percentile (min)", data: col("p90_s").map(minutes), backgroundColor: "#93c5fd" },
      ] };
    }
    if (r.kind === "volume") {
      return { unit: "tickets", sets: [
        { label: "Created", data: col("created"), backgroundColor: "#1d4ed8" },
        { label: "Resolved", data: col("resolved"), backgroundColor: "#15803d" },
      ] };
    }
    if (r.kind === "csat") {
      return { unit: "%", sets: [
        { label: "Satisfied (%)", data: col("satisfied_pct"), backgroundColor: "#15803d" },
      ] };
    }
    if (r.kind === "sla") {
      return { unit: "%", sets: [
        { label: "First response attained (%)", data: col("first_response_attainment_pct"), backgroundColor: "#1d4ed8" },
        { label: "Resolution attained (%)", data: col("resolution_attainment_pct"), backgroundColor: "#93c5fd" },
      ] };
    }
    return { unit: "%", sets: [
      { label: "Deflection rate (%)", data: col("rate").map((v) => (v === null ? null : Math.round(v * 1000) / 10)),
        backgroundColor: "#7c3aed" },
    ] };
  }

  function reportSummary(r) {
    const sum = (c) => r.rows.reduce((a, row) => a + (Number(row[c]) || 0), 0);
    const head = r.title + " by " + r.group + ", " + r.from + " to " + r.to + ": ";
    if (r.kind === "volume") return head + sum("created") + " created, " + sum("resolved") + " resolved.";
    if (r.kind === "csat") {
      const answered = sum("answered");
      // the rows' satisfied counts, from their shares: exact at one decimal for any count under 1000
      const happy = r.rows.reduce((a, row) => a + Math.round(((Number(row.satisfied_pct) || 0) * row.answered) / 100), 0);
      return head + answered + " answered surveys" +
        (answered ? ", " + pct((100 * happy) / answered) + " satisfied (4 or 5 stars)." : ".");
    }
    if (r.kind === "sla") {
      const part = (name, label) => {
        const met = sum(name + "_met");
        const breached = sum(name + "_breached");
        return label + " " + met + " met, " + breached + " breached" +
          (met + breached ? " (" + pct((100 * met) / (met + breached)) + " attained)" : "");
      };
      return head + part("first_response", "first response:") + "; " + part("resolution", "resolution:") + ".";
    }
    if (r.kind === "deflection") {
      const handled = sum("handled");
      const deflected = sum("deflected");
      return head + handled + " handled by the bot, " + deflected + " deflected" +
        (handled ? " (" + ((deflected / handled) * 100).toFixed(1) + "%)." : ".");
    }
    const busiest = r.rows.filter((row) => row.count > 0);
    return head + sum("count") + " tickets" + (busiest.length
      ? "; median per " + r.group + ": " + busiest.map((row) => row.key + " " + SB.duration(row.median_s)).join(", ") + "."
      : ".");
  }

  function renderReport() {
    const r = state.report;
    if (!r) return;
    const title = r.title + " by " + r.group;
    $("report-chart-title").textContent = title + ", " + r.from + " to " + r.to;
    $("report-summary").textContent = reportSummary(r);
    const table = $("report-table");
    table.replaceChildren(
      el("caption", {}, title + ", " + r.from + " to " + r.to),
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, GROUP_LABELS[r.group] || r.group),
        r.columns.map((c) => el("th", { scope: "col", class: "num" }, REPORT_LABELS[c] || c)))),
      el("tbody", {}, r.rows.map((row) => el("tr", { "data-key": row.key },
        el("th", { scope: "row" }, row.key),
        r.columns.map((c) => el("td", { class: "num", "data-col": c }, reportCell(c, row[c])))))));
    if (!window.Chart) return;
    const { unit, sets } = reportDatasets(r);
    const labels = r.rows.map((row) => row.key);
    if (!state.reportChart) {
      state.reportChart = new window.Chart($("report-chart"), {
        type: "bar",
        data: { labels, datasets: sets },
        options: {
          interaction: { mode: "index", intersect: false },
          plugins: { legend: { position: "top", labels: { boxWidth: 14, boxHeight: 14 } } },
          scales: {
            x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkip: true, autoSkipPadding: 16 } },
            y: { beginAtZero: true, title: { display: true, text: unit } },
          },
        },
      });
      return;
    }
    const chart = state.reportChart;
    chart.data.labels = labels;
    chart.data.datasets = sets;
    chart.options.scales.y.title.text = unit;
    chart.update();
  }

  /** The CSV, fetched with the session's token (never in a URL) and saved from a blob. */
  async function downloadReport() {
    const box = $("report-error");
    const button = $("report-csv");
    button.disabled = true;
    try {
      const headers = session.token ? { Authorization: "Bearer " + session.token } : {};
      const res = await fetch("/api/reports/" + reportQuery().replace("?", ".csv?"), { headers });
      if (!res.ok) {
        let message = res.statusText;
        try { message = (await res.json()).error.message; } catch (_) { /* not JSON */ }
        box.textContent = message;
        return;
      }
      const found = /filename="([^"]+)"/.exec(res.headers.get("Content-Disposition") || "");
      const url = URL.createObjectURL(await res.blob());
      const a = el("a", { href: url, download: found ? found[1] : "report.csv", hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      box.textContent = "";
    } catch (e) {
      box.textContent = errText(e);
    } finally {
      button.disabled = false;
    }
  }

  // ---------------------------------------------------------------- clock and tickers

  function tick() {
    const now = new Date();
    const clock = $("clock");
    clock.textContent = hhmm(now);
    clock.setAttribute("datetime", now.toISOString());
    if ($("board").hidden) return;
    for (const group of Object.values(state.tickers)) for (const fn of group) fn();
  }

  // ---------------------------------------------------------------- start

  function boot() {
    $("logout").addEventListener("click", auth.signOut);
    $("report-form").addEventListener("submit", (ev) => { ev.preventDefault(); loadReport(); });
    $("report-kind").addEventListener("change", syncReportGroups);
    syncReportGroups();
    $("report-csv").addEventListener("click", downloadReport);
    $("refused-switch").addEventListener("click", onSwitchUser);
    tick();
    setInterval(tick, 1000);
    const agent = session.agent;
    if (!session.token || !agent) auth.showLogin("");
    else if (!isSupervisor(agent)) showRefused(agent);
    else startBoard();
  }

  boot();
})();
