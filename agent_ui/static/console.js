/* Switchboard agent console (GET /console). Plain ES2020, no dependencies, no build step.
   Needs /static/common.js (window.SB) first. Everything a customer wrote reaches the page through SB.el or
   textContent: it is always text, never markup. */
"use strict";
(function () {
  const { el, api, session } = SB;

  const ACTIVE = new Set(["new", "open", "pending"]);
  const STATUSES = ["new", "open", "pending", "resolved", "closed"];
  const PRIORITIES = ["low", "normal", "high", "urgent"];
  const PRIORITY_RANK = { urgent: 0, high: 1, normal: 2, low: 3 };
  const CHANNEL_LABEL = { chat: "Chat", email: "Email", sms: "SMS", phone: "Phone", voice: "Phone" };
  const PRESENCE_KEY = "switchboard.console.presence";
  const TITLE = "Switchboard";
  const TYPING_MS = 4000;
  const VIEWER_EXPIRE_MS = 45000;
  const REANNOUNCE_MS = 20000;
  const REPLYING_EVERY_MS = 3000;
  const REPLYING_IDLE_MS = 8000;

  const $ = (id) => document.getElementById(id);

  /* ------------------------------------------------------------------ state */

  const S = {
    me: null, // {id, name, email, role, capacity, presence, queues: [names]}
    sock: null,
    presence: "away", // the server's word
    tickets: new Map(), // id -> ticket view (the newest version seen)
    touched: new Set(), // ticket ids changed by events while the lists reload
    loadGen: 0,
    customers: new Map(), // id -> {data, promise}
    agents: new Map(), // id -> agent
    queues: [], // queue names known to the server
    canned: [],
    current: null, // the open ticket: {id, messages: Map, customer, sending, pane refs}
    unread: new Set(), // tickets newly assigned to me, not opened yet
    viewers: new Map(), // ticket id -> Map(agent id -> {name, state, at})
    typing: new Map(), // ticket id -> until (ms)
    drafts: new Map(), // ticket id -> {text, mode}
    mode: "reply", // reply | note
    viewState: null,
    viewSentAt: 0,
    lastTypedAt: 0,
    selfAssigned: null, // a ticket I assigned to myself: no "new ticket" alert for it
    learnDone: new Set(), // tickets whose "Save to FAQ" offer was taken or dismissed (kept in localStorage)
  };

  /* ------------------------------------------------------------------ small helpers */

  const SVGNS = "http://www.w3.org/2000/svg";
  const ICONS = {
    chat: ["M4 5h16a1 1 0 0 1 1 1v10a1 1 0 0 1-1 1h-8.5L7 20.5V17H4a1 1 0 0 1-1-1V6a1 1 0 0 1 1-1z"],
    email: ["M3.5 6h17v12h-17z", "M3.5 6.5 12 13l8.5-6.5"],
    sms: ["M7.5 2.5h9a1 1 0 0 1 1 1v17a1 1 0 0 1-1 1h-9a1 1 0 0 1-1-1v-17a1 1 0 0 1 1-1z", "M10.5 18.5h3"],
    phone: [
      "M6.5 3.5h2.8l1.4 4.2-2 1.3a11 11 0 0 0 6.3 6.3l1.3-2 4.2 1.4v2.8a2 2 0 0 1-2 2A16 16 0 0 1 4.5 5.5a2 2 0 0 1 2-2z",
    ],
    note: ["M5 3.5h10l4 4v13H5z", "M15 3.5v4h4", "M8 12h8M8 15.5h6"],
    id: ["M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8z", "M4.5 20.5a7.5 7.5 0 0 1 15 0"],
    canned: ["M5 4.5h14v15H5z", "M8.5 9h7M8.5 12.5h7M8.5 16h4"],
    tag: ["M3.5 12.3V4.5a1 1 0 0 1 1-1h7.8l8.2 8.2-8.8 8.8z", "M8 8h.01"],
    learn: ["M12 3a6 6 0 0 0-3.5 10.9c.6.4 1 1.1 1 1.8v.8h5v-.8c0-.7.4-1.4 1-1.8A6 6 0 0 0 12 3z", "M9.5 19h5M10.5 21.5h3"],
  };

  function icon(name, cls) {
    const svg = document.createElementNS(SVGNS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("class", "ic" + (cls ? " " + cls : ""));
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    for (const d of ICONS[name] || ICONS.id) {
      const p = document.createElementNS(SVGNS, "path");
      p.setAttribute("d", d);
      svg.append(p);
    }
    return svg;
  }

  function channelIcon(channel) {
    const key = channel === "voice" ? "phone" : channel;
    const label = CHANNEL_LABEL[channel] || channel || "Unknown channel";
    return el("span", { class: "chan chan-" + (ICONS[key] ? key : "other"), title: label },
      icon(ICONS[key] ? key : "id"), el("span", { class: "sr-only" }, label));
  }

  function cap(s) {
    s = String(s || "");
    return s.charAt(0).toUpperCase() + s.slice(1);
  }

  function initials(name) {
    const parts = String(name || "").replace(/[^\p{L}\p{N}\s]/gu, " ").trim().split(/\s+/).filter(Boolean);
    const letters = parts.length > 1 ? parts[0][0] + parts[parts.length - 1][0] : (parts[0] || "?").slice(0, 2);
    return letters.toUpperCase();
  }

  function firstName(name) {
    return String(name || "").trim().split(/\s+/)[0] || "";
  }

  function clock(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    const today = new Date();
    const time = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    if (d.toDateString() === today.toDateString()) return time;
    return d.toLocaleDateString([], { month: "short", day: "numeric" }) + ", " + time;
  }

  function fullDate(iso) {
    return iso ? new Date(iso).toLocaleString() : "";
  }

  function waitSeconds(iso) {
    return iso ? Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000) : null;
  }

  function isTypingTarget(t) {
    if (!t || !(t instanceof Element)) return false;
    if (t.isContentEditable) return true;
    const tag = t.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") return true;
    if (tag !== "INPUT") return false;
    return !["radio", "checkbox", "button", "submit", "reset", "range", "color"].includes(t.type);
  }

  function announce(text) {
    const live = $("announcer");
    live.textContent = "";
    setTimeout(() => { live.textContent = text; }, 60);
  }

  function toast(text, kind) {
    const box = el("div", { class: "toast" + (kind ? " " + kind : ""), role: kind === "error" ? "alert" : null }, text);
    $("toasts").append(box);
    setTimeout(() => box.remove(), kind === "error" ? 6000 : 3000);
  }

  function report(err, what) {
    if (err && err.status === 401) {
      showLogin("Your session has ended. Please sign in again.");
      return;
    }
    toast(what + ": " + ((err && err.message) || "something went wrong"), "error");
  }

  /* ------------------------------------------------------------------ sound and title */

  let audio = null;
  function unlockAudio() {
    try {
      const Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return;
      if (!audio) audio = new Ctx();
      if (audio.state === "suspended") audio.resume().catch(() => {});
    } catch (_) { audio = null; }
  }

  function beep() {
    try {
      if (!audio) return; // no user gesture yet: the browser would refuse anyway
      if (audio.state === "suspended") audio.resume().catch(() => {});
      const t = audio.currentTime;
      for (const [i, f] of [[0, 880], [1, 1175]]) {
        const o = audio.createOscillator();
        const g = audio.createGain();
        o.type = "sine";
        o.frequency.value = f;
        const s = t + i * 0.16;
        g.gain.setValueAtTime(0.0001, s);
        g.gain.exponentialRampToValueAtTime(0.12, s + 0.02);
        g.gain.exponentialRampToValueAtTime(0.0001, s + 0.22);
        o.connect(g).connect(audio.destination);
        o.start(s);
        o.stop(s + 0.25);
      }
    } catch (_) { /* sound is a nicety */ }
  }

  function updateTitle() {
    const n = S.unread.size;
    document.title = (n ? "(" + n + ") " : "") + TITLE;
  }

  /* ------------------------------------------------------------------ tickets store */

  function isMine(t) {
    return !!S.me && t.assignee_id === S.me.id && ACTIVE.has(t.status);
  }

  function inMyQueues(t) {
    return !!S.me && (S.me.queues || []).includes(t.queue);
  }

  /** Keep the newer of the held and the given view; true when the given one was taken. */
  function storeTicket(t) {
    if (!t || t.id === undefined) return false;
    if (t.messages) {
      t = Object.assign({}, t);
      delete t.messages;
    }
    const held = S.tickets.get(t.id);
    if (held && (held.version || 0) > (t.version || 0)) return false;
    S.tickets.set(t.id, t);
    return true;
  }

  function byPriorityThen(key, dir) {
    return (a, b) => {
      const p = (PRIORITY_RANK[a.priority] ?? 2) - (PRIORITY_RANK[b.priority] ?? 2);
      if (p) return p;
      const x = a[key] || a.created_at || "";
      const y = b[key] || b.created_at || "";
      return x < y ? -dir : x > y ? dir : b.id - a.id;
    };
  }

  function myTickets() {
    return [...S.tickets.values()].filter(isMine).sort(byPriorityThen("updated_at", -1));
  }

  function waitingIn(queue) {
    return [...S.tickets.values()]
      .filter((t) => t.waiting && t.queue === queue && !isMine(t))
      .sort(byPriorityThen("queued_at", 1));
  }

  async function loadLists() {
    if (!S.me) return;
    const gen = ++S.loadGen;
    S.touched = new Set();
    const requests = [api("GET", "/api/tickets?assignee=" + S.me.id + "&status=new,open,pending&limit=200")];
    for (const q of S.me.queues || []) {
      requests.push(api("GET", "/api/tickets?queue=" + encodeURIComponent(q) + "&waiting=true&status=new,open&limit=200"));
    }
    const results = await Promise.allSettled(requests);
    if (gen !== S.loadGen) return;
    const failed = results.find((r) => r.status === "rejected");
    if (failed && failed.reason && failed.reason.status === 401) return showLogin("Your session has ended. Please sign in again.");
    const fresh = new Map();
    for (const r of results) {
      if (r.status !== "fulfilled") continue;
      for (const t of r.value.items || []) {
        const f = fresh.get(t.id);
        if (!f || (t.version || 0) >= (f.version || 0)) fresh.set(t.id, t);
      }
    }
    for (const [id, t] of S.tickets) {
      // keep what events brought in while the lists loaded, the open ticket, and everything if a list failed
      const keep = failed || S.touched.has(id) || (S.current && S.current.id === id);
      if (!keep) continue;
      const f = fresh.get(id);
      if (!f || (t.version || 0) > (f.version || 0)) fresh.set(id, t);
    }
    S.tickets = fresh;
    for (const id of [...S.unread]) if (!fresh.has(id) || !isMine(fresh.get(id))) S.unread.delete(id);
    updateTitle();
    renderLists();
    if (S.current) updateTicketHead();
  }

  /* ------------------------------------------------------------------ customers */

  function fetchCustomer(id, force) {
    let entry = S.customers.get(id);
    if (entry && !force && (entry.data || entry.pending)) return entry.promise;
    if (!entry) {
      entry = { data: null, pending: false, promise: null };
      S.customers.set(id, entry);
    }
    entry.pending = true;
    entry.promise = api("GET", "/api/customers/" + id)
      .then((c) => {
        entry.data = c;
        entry.pending = false;
        renderLists();
        if (S.current && S.current.ticket() && S.current.ticket().customer_id === id) {
          updateTicketHead();
          renderThread(false, true);
        }
        return c;
      })
      .catch(() => {
        entry.pending = false;
        return null;
      });
    return entry.promise;
  }

  function customerName(id) {
    if (id === null || id === undefined) return "Unknown customer";
    const entry = S.customers.get(id);
    if (!entry) fetchCustomer(id);
    return (entry && entry.data && entry.data.name) || "Customer #" + id;
  }

  /* ------------------------------------------------------------------ lists (the left column) */

  function listItem(t, kind) {
    const current = S.current && S.current.id === t.id;
    const unread = S.unread.has(t.id);
    const time = kind === "queue"
      ? el("span", { class: "tk-time wait", "data-since": t.queued_at || t.created_at, title: "Waiting since " + fullDate(t.queued_at) },
        SB.duration(waitSeconds(t.queued_at || t.created_at)))
      : el("span", { class: "tk-time", "data-ago": t.updated_at, title: "Updated " + fullDate(t.updated_at) }, SB.ago(t.updated_at));
    const badges = [];
    if (unread) badges.push(el("span", { class: "badge new" }, "New"));
    if (t.priority === "urgent" || t.priority === "high") badges.push(el("span", { class: "badge prio-" + t.priority }, cap(t.priority)));
    if (kind === "mine" && t.status !== "open") badges.push(el("span", { class: "badge st-" + t.status }, cap(t.status)));
    if (slaLate(t)) badges.push(el("span", { class: "badge sla-late", title: "An SLA target was missed" }, "SLA"));
    if (S.typing.get(t.id) > Date.now()) badges.push(el("span", { class: "badge typing" }, "typing…"));
    return el("li", {},
      el("button", {
        type: "button",
        class: "tk" + (unread ? " unread" : "") + (current ? " current" : ""),
        "data-ticket-id": t.id,
        "aria-current": current ? "true" : null,
        onclick: () => openTicket(t.id),
      },
      el("span", { class: "tk-row" }, channelIcon(t.channel), el("span", { class: "tk-name" }, customerName(t.customer_id)), time),
      el("span", { class: "tk-subject" }, t.subject || "(no subject)"),
      el("span", { class: "tk-meta" }, el("span", { class: "tk-id" }, "#" + t.id), ...badges)));
  }

  function listSection(key, title, count, items, kind, empty) {
    const hid = "list-" + key;
    return el("section", { class: "list", "aria-labelledby": hid },
      el("h2", { class: "list-title", id: hid },
        el("span", { class: "list-name" }, title),
        el("span", { class: "count", title: count }, String(items.length)),
        el("span", { class: "sr-only" }, " (" + count + ")")),
      items.length
        ? el("ul", { class: "tickets" }, items.map((t) => listItem(t, kind)))
        : el("p", { class: "empty" }, empty));
  }

  function renderLists() {
    if (!S.me) return;
    const nav = $("lists");
    const active = document.activeElement;
    const focusId = active && nav.contains(active) && active.dataset ? active.dataset.ticketId : null;
    const mine = myTickets();
    const sections = [listSection("mine", "My tickets", mine.length + " open tickets assigned to you", mine, "mine",
      "Nothing assigned to you right now.")];
    for (const q of S.me.queues || []) {
      const items = waitingIn(q);
      sections.push(listSection("q-" + q.replace(/[^\w-]/g, "_"), "Waiting · " + q, items.length + " waiting in " + q, items, "queue",
        "No one is waiting."));
    }
    if (!(S.me.queues || []).length) sections.push(el("p", { class: "empty" }, "You are in no queue yet."));
    nav.replaceChildren(...sections);
    if (focusId) {
      const again = nav.querySelector('[data-ticket-id="' + CSS.escape(focusId) + '"]');
      if (again) again.focus();
    }
  }

  function listOrder() {
    const ids = [];
    for (const b of $("lists").querySelectorAll("[data-ticket-id]")) {
      const id = Number(b.dataset.ticketId);
      if (!ids.includes(id)) ids.push(id);
    }
    return ids;
  }

  function step(delta) {
    const ids = listOrder();
    if (!ids.length) return;
    const at = S.current ? ids.indexOf(S.current.id) : -1;
    let next;
    if (at < 0) next = delta > 0 ? 0 : ids.length - 1;
    else next = Math.min(ids.length - 1, Math.max(0, at + delta));
    openTicket(ids[next]);
    const b = $("lists").querySelector('[data-ticket-id="' + ids[next] + '"]');
    if (b) b.scrollIntoView({ block: "nearest" });
  }

  /* ------------------------------------------------------------------ socket events */

  function onFrame(f) {
    switch (f.type) {
      case "ready":
        return;
      case "status":
        S.presence = f.status;
        renderPresence();
        return;
      case "ticket.created":
      case "ticket.assigned":
      case "ticket.updated":
      case "message.created":
        return onTicketEvent(f);
      case "agent.presence":
        return onAgentPresence(f.data || {});
      case "agent.updated":
        return onAgentUpdated(f.data || {});
      case "ticket.viewing":
        return onViewing(f.data || {});
      case "customer.typing":
        return onCustomerTyping(f.data || {});
      case "error":
        if (f.code !== "unknown_type") console.warn("switchboard:", f.code, f.message);
        return;
      default:
        return;
    }
  }

  function onTicketEvent(f) {
    const d = f.data || {};
    const tid = d.ticket_id ?? (d.ticket && d.ticket.id);
    if (tid === undefined || tid === null) return;
    S.touched.add(tid);
    const held = S.tickets.get(tid);
    const wasMine = !!held && isMine(held);
    if (d.ticket) {
      const t = Object.assign({}, d.ticket);
      if (t.version === undefined && typeof f.seq === "number") t.version = f.seq;
      storeTicket(t);
    }
    const now = S.tickets.get(tid);
    if (now && isMine(now) && !wasMine && S.selfAssigned !== tid) onAssignedToMe(now);
    if (S.selfAssigned === tid && now && isMine(now)) S.selfAssigned = null;
    if (f.type === "message.created" && S.current && S.current.id === tid && d.message) {
      S.current.messages.set(d.message.id, d.message);
      if (d.message.author === "customer") S.typing.delete(tid);
      renderThread(false);
      renderTyping();
      refreshHistorySoon();
    }
    renderLists();
    if (S.current && S.current.id === tid) updateTicketHead();
    // a merge or a split moves messages between two tickets: the open one, if it is either, is read again
    const cur = S.current;
    if (cur && (d.reason === "merged" || d.reason === "split") && (d.from === cur.id || d.into === cur.id)) {
      refreshThreadSoon(cur);
    }
  }

  function onAssignedToMe(t) {
    if (!(S.current && S.current.id === t.id)) S.unread.add(t.id);
    updateTitle();
    beep();
    const name = customerName(t.customer_id);
    announce("New ticket assigned to you: " + name + ", " + (t.subject || "no subject"));
  }

  function onAgentPresence(d) {
    const a = S.agents.get(d.agent_id);
    if (a) a.presence = d.presence;
    if (S.me && d.agent_id === S.me.id) {
      S.presence = d.presence;
      renderPresence();
    }
    if (S.current) updateAssigneeOptions();
  }

  async function onAgentUpdated(d) {
    if (!S.me || d.agent_id !== S.me.id) {
      loadAgents();
      return;
    }
    // a supervisor changed my queues: the lists follow
    try {
      Object.assign(S.me, await api("GET", "/api/me"));
    } catch (e) {
      return report(e, "Could not reload your profile");
    }
    loadAgents();
    loadLists();
  }

  function onViewing(d) {
    if (!S.me || d.agent_id === S.me.id || d.ticket_id === undefined) return;
    let m = S.viewers.get(d.ticket_id);
    if (!m) S.viewers.set(d.ticket_id, (m = new Map()));
    // (the server announces us once more to a newcomer, so both sides learn of each other)
    if (d.state === "left") m.delete(d.agent_id);
    else m.set(d.agent_id, { name: d.agent_name || "Another agent", state: d.state, at: Date.now() });
    if (S.current && S.current.id === d.ticket_id) renderCollision();
  }

  function onCustomerTyping(d) {
    if (d.ticket_id === undefined) return;
    S.typing.set(d.ticket_id, Date.now() + TYPING_MS);
    if (S.current && S.current.id === d.ticket_id) renderTyping();
  }

  /* ------------------------------------------------------------------ presence and connection */

  function wantedPresence() {
    return localStorage.getItem(PRESENCE_KEY);
  }

  function setPresence(value) {
    localStorage.setItem(PRESENCE_KEY, value);
    S.presence = value;
    renderPresence();
    if (S.sock) S.sock.send({ type: "status", status: value });
  }

  function renderPresence() {
    const box = $("presence");
    box.dataset.state = S.presence;
    for (const input of box.querySelectorAll("input")) input.checked = input.value === S.presence;
  }

  function onState(state) {
    const c = $("conn");
    c.dataset.state = state;
    c.textContent = state === "open" ? "Live" : state === "connecting" ? "Connecting…" : "Reconnecting…";
    c.title = state === "open" ? "Connected: the lists update live" : "Not connected: retrying";
  }

  function onOpen() {
    const want = wantedPresence();
    if (want) S.sock.send({ type: "status", status: want });
    if (S.current) sendViewing(S.viewState || "viewing");
    // events missed while disconnected come from the API
    loadLists().catch((e) => report(e, "Could not load the ticket lists"));
    if (S.current) reloadCurrent();
  }

  /* ------------------------------------------------------------------ collision (viewing) */

  function sendViewing(state) {
    if (!S.current || !S.sock) return;
    S.viewState = state === "left" ? null : state;
    S.viewSentAt = Date.now();
    S.sock.send({ type: "viewing", ticket_id: S.current.id, state });
  }

  function onReplyInput() {
    S.lastTypedAt = Date.now();
    if (S.viewState !== "replying" || Date.now() - S.viewSentAt >= REPLYING_EVERY_MS) sendViewing("replying");
  }

  function tickViewing() {
    if (!S.current) return;
    const now = Date.now();
    if (S.viewState === "replying" && now - S.lastTypedAt > REPLYING_IDLE_MS) sendViewing("viewing");
    else if (now - S.viewSentAt >= REANNOUNCE_MS) sendViewing(S.viewState || "viewing");
  }

  function renderCollision() {
    const cur = S.current;
    if (!cur || !cur.refs) return;
    const m = S.viewers.get(cur.id);
    const others = m ? [...m.values()] : [];
    const box = cur.refs.collision;
    if (!others.length) {
      box.hidden = true;
      box.replaceChildren();
      return;
    }
    const replying = others.filter((o) => o.state === "replying");
    const viewing = others.filter((o) => o.state !== "replying");
    const parts = [];
    const names = (list) => list.map((o) => o.name).join(", ");
    if (replying.length) parts.push(names(replying) + (replying.length > 1 ? " are replying" : " is replying") + " to this ticket");
    if (viewing.length) parts.push(names(viewing) + (viewing.length > 1 ? " are also viewing" : " is also viewing") + " this ticket");
    box.hidden = false;
    box.className = "collision" + (replying.length ? " replying" : "");
    box.replaceChildren(el("span", { class: "collision-dot", "aria-hidden": "true" }), parts.join(" · ") + ".");
  }

  /* ------------------------------------------------------------------ the ticket view */

  function openTicket(id) {
    const hash = "#/tickets/" + id;
    if (location.hash !== hash) history.replaceState(null, "", hash);
    showTicket(Number(id));
  }

  function route() {
    const m = /^#\/tickets\/(\d+)$/.exec(location.hash);
    if (m) showTicket(Number(m[1]));
  }

  function leaveTicket() {
    const cur = S.current;
    if (!cur) return;
    if (cur.refs) {
      const text = cur.refs.box.value;
      if (text) S.drafts.set(cur.id, { text, mode: S.mode });
      else S.drafts.delete(cur.id);
    }
    sendViewing("left");
    S.current = null;
  }

  function showTicket(id) {
    if (!S.me || (S.current && S.current.id === id)) return;
    leaveTicket();
    const cur = { id, messages: new Map(), loaded: false, sending: false, refs: null, customerId: null };
    cur.ticket = () => S.tickets.get(id);
    S.current = cur;
    if (S.unread.delete(id)) updateTitle();
    buildTicketPane(cur);
    renderCustomerPane(cur);
    renderLists();
    sendViewing("viewing");
    reloadCurrent();
  }

  async function reloadCurrent() {
    const cur = S.current;
    if (!cur) return;
    let t;
    try {
      t = await api("GET", "/api/tickets/" + cur.id);
    } catch (e) {
      if (S.current !== cur) return;
      if (e.status === 401) return showLogin("Your session has ended. Please sign in again.");
      cur.refs.thread.replaceChildren(el("li", { class: "thread-note error", role: "alert" },
        e.status === 404 ? "This ticket does not exist or you cannot see it." : "Could not load the ticket: " + e.message));
      return;
    }
    if (S.current !== cur) return;
    for (const m of t.messages || []) cur.messages.set(m.id, m);
    cur.mergedInto = t.merged_into ?? null;
    storeTicket(t);
    cur.loaded = true;
    updateTicketHead();
    renderThread(true);
    renderLists();
    const cid = t.customer_id;
    if (cur.customerId !== cid) {
      cur.customerId = cid;
      loadCustomerPane(cur, cid);
    }
  }

  function buildEmptyPane() {
    $("ticket-pane").replaceChildren(
      el("div", { class: "empty-state" },
        el("div", { class: "empty-icon", "aria-hidden": "true" }, icon("chat")),
        el("h1", { class: "empty-title" }, "No ticket open"),
        el("p", {}, "Pick a ticket from the list on the left. New tickets assigned to you appear there live."),
        el("p", { class: "muted" }, "Press ", el("kbd", {}, "j"), " to open the first one, ", el("kbd", {}, "?"), " for all shortcuts.")));
    $("customer-pane").replaceChildren(el("div", { class: "aside-empty" }, el("p", { class: "muted" }, "The customer's profile and history show here.")));
  }

  function selectField(label, id, options, onchange) {
    const select = el("select", { id, onchange }, options.map(([value, text]) => el("option", { value }, text)));
    return { select, field: el("div", { class: "field" }, el("label", { for: id }, label), select) };
  }

  function buildTicketPane(cur) {
    const t = cur.ticket() || { id: cur.id, subject: "", status: "", priority: "", tags: [] };
    const refs = {};
    cur.refs = refs;

    refs.subject = el("h1", { class: "subject", id: "ticket-subject" }, t.subject || "Ticket #" + cur.id);
    refs.idBadge = el("span", { class: "ticket-id" }, "#" + cur.id);
    refs.channel = el("span", { class: "ticket-channel" });
    refs.meta = el("p", { class: "ticket-meta" });
    refs.take = el("button", { type: "button", class: "btn secondary", onclick: takeTicket, hidden: true }, "Assign to me");
    refs.resolve = el("button", { type: "button", class: "btn secondary", onclick: resolveTicket, title: "Resolve (e)" }, "Resolve");
    refs.mergeBtn = el("button", {
      type: "button", class: "btn secondary", id: "merge-btn", "aria-haspopup": "dialog", "aria-expanded": "false",
      "aria-controls": "merge-pop", title: "Merge another ticket of this customer into this one", onclick: () => toggleMerge(),
    }, "Merge…");
    refs.mergePop = el("div", { class: "merge-pop", id: "merge-pop", role: "dialog", "aria-label": "Merge a ticket into this one", hidden: true });
    refs.mergePop.addEventListener("keydown", (e) => {
      if (e.key === "Escape") {
        e.preventDefault();
        e.stopPropagation();
        toggleMerge(false);
        refs.mergeBtn.focus();
      }
    });
    refs.merged = el("div", { class: "ticket-banner merged-banner", role: "status", hidden: true });
    refs.notice = el("div", { class: "ticket-banner split-notice", role: "status", hidden: true });

    const status = selectField("Status", "f-status", STATUSES.map((s) => [s, cap(s)]),
      (e) => patchTicket({ status: e.target.value }, "Status set to " + e.target.value));
    const priority = selectField("Priority", "f-priority", PRIORITIES.map((p) => [p, cap(p)]),
      (e) => patchTicket({ priority: e.target.value }, "Priority set to " + e.target.value));
    const assignee = selectField("Assignee", "f-assignee", [["", "Unassigned"]], (e) => {
      const v = e.target.value;
      const id = v === "" ? null : Number(v);
      if (id === S.me.id) S.selfAssigned = cur.id;
      const who = id === null ? "nobody" : (S.agents.get(id) || {}).name || "agent #" + id;
      patchTicket({ assignee_id: id }, "Assigned to " + who);
    });
    const queue = selectField("Queue", "f-queue", [], (e) => patchTicket({ queue: e.target.value }, "Moved to queue " + e.target.value));
    refs.status = status.select;
    refs.priority = priority.select;
    refs.wake = el("input", {
      type: "datetime-local", id: "f-wake", "aria-describedby": "f-wake-hint",
      onchange: (e) => {
        const v = e.target.value;
        const at = v ? new Date(v) : null;
        if (at && isNaN(at.getTime())) return;
        patchTicket({ pending_until: at ? at.toISOString() : null },
          at ? "Wakes up " + clock(at.toISOString()) : "No wake-up time");
      },
    });
    refs.wakeField = el("div", { class: "field wake-field", hidden: true },
      el("label", { for: "f-wake" }, "Pending until"), refs.wake,
      el("span", { class: "sr-only", id: "f-wake-hint" }, "The ticket opens again at this time"));
    refs.sla = el("ul", { class: "sla-timers", id: "sla-timers", "aria-label": "SLA targets", hidden: true });
    refs.assignee = assignee.select;
    refs.queue = queue.select;

    refs.tagList = el("ul", { class: "tag-list", "aria-label": "Current tags" });
    refs.tagInput = el("input", {
      type: "text", id: "f-tag", class: "tag-input", placeholder: "Add tag…", autocomplete: "off", maxlength: 40,
      onkeydown: onTagKey,
    });
    const tags = el("div", { class: "field tags-field" }, el("label", { for: "f-tag" }, "Tags"),
      el("div", { class: "tags" }, refs.tagList, refs.tagInput));

    const head = el("header", { class: "ticket-head" },
      el("div", { class: "title-row" },
        el("div", { class: "title-main" }, refs.channel, refs.subject, refs.idBadge),
        el("div", { class: "title-actions" }, refs.take, refs.resolve,
          el("div", { class: "merge-wrap" }, refs.mergeBtn, refs.mergePop))),
      refs.meta,
      refs.sla,
      el("div", { class: "props" }, status.field, refs.wakeField, priority.field, assignee.field, queue.field, tags));

    refs.collision = el("div", { class: "collision", role: "status", hidden: true });
    refs.thread = el("ol", { class: "thread", role: "log", "aria-label": "Conversation", tabindex: "0" },
      el("li", { class: "thread-note" }, "Loading the conversation…"));
    refs.typing = el("div", { class: "typing", "aria-live": "polite" });
    refs.learn = el("section", { class: "learn-bar", "aria-label": "Save to FAQ", hidden: true });

    const composer = buildComposer(cur, refs);
    $("ticket-pane").replaceChildren(head, refs.merged, refs.notice, refs.collision, refs.thread, refs.typing, refs.learn, composer);
    updateTicketHead();
    renderCollision();
    renderTyping();
    const draft = S.drafts.get(cur.id);
    refs.box.value = draft ? draft.text : "";
    setMode(draft ? draft.mode : "reply");
  }

  function updateTicketHead() {
    const cur = S.current;
    if (!cur || !cur.refs) return;
    const t = cur.ticket();
    if (!t) return;
    const r = cur.refs;
    r.subject.textContent = t.subject || "Ticket #" + t.id;
    r.channel.replaceChildren(channelIcon(t.channel));
    const bits = [customerName(t.customer_id), "via " + (CHANNEL_LABEL[t.channel] || t.channel || "unknown channel")];
    if (t.created_at) bits.push("opened " + SB.ago(t.created_at) + " ago");
    if (t.waiting) bits.push("waiting " + SB.duration(waitSeconds(t.queued_at)));
    if (t.first_response_at) bits.push("first reply " + clock(t.first_response_at));
    r.meta.textContent = bits.join(" · ");
    r.meta.title = "Created " + fullDate(t.created_at);
    const focused = document.activeElement;
    if (focused !== r.status) r.status.value = t.status;
    if (focused !== r.priority) r.priority.value = t.priority;
    r.wakeField.hidden = t.status !== "pending";
    if (focused !== r.wake) r.wake.value = t.pending_until ? localInput(t.pending_until) : "";
    renderSla();
    updateAssigneeOptions();
    updateQueueOptions();
    r.take.hidden = t.assignee_id === S.me.id;
    r.resolve.hidden = t.status === "resolved" || t.status === "closed";
    const into = cur.mergedInto;
    r.mergeBtn.hidden = !!into;
    if (into && !r.mergePop.hidden) toggleMerge(false);
    r.merged.hidden = !into;
    if (into && r.merged.dataset.into !== String(into)) {
      r.merged.dataset.into = String(into);
      r.merged.replaceChildren("Merged into ", el("a", { href: "#/tickets/" + into, class: "merged-link" }, "#" + into),
        el("span", { class: "banner-note" }, " · its messages and replies are in that ticket now."));
    }
    r.sendHint.textContent = S.mode === "note"
      ? "Only agents see notes · Ctrl+Enter to add"
      : "Sends by " + (CHANNEL_LABEL[t.channel] || t.channel || "its channel") + " · Ctrl+Enter to send";
    renderTags(t.tags || []);
  }

  /** An ISO time as a datetime-local input's value, in this browser's time zone. */
  function localInput(iso) {
    const d = new Date(iso);
    const pad = (n) => String(n).padStart(2, "0");
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" + pad(d.getHours()) + ":" + pad(d.getMinutes());
  }

  function slaLate(t) {
    const sla = t.sla || {};
    return t.status !== "resolved" && t.status !== "closed" && !!(sla.first_response_breached_at || sla.resolution_breached_at);
  }

  /** One SLA target as the head shows it: met, missed, or the time left (ticking). */
  function slaChip(label, due, doneAt, breachedAt) {
    if (!due) return null;
    const left = (new Date(due).getTime() - Date.now()) / 1000;
    let state, text;
    if (doneAt && !breachedAt) [state, text] = ["met", label + " met"];
    else if (breachedAt || left <= 0) [state, text] = ["missed", label + (doneAt ? " missed" : " overdue " + SB.duration(-left))];
    else [state, text] = [left < 900 ? "soon" : "due", label + " due in " + SB.duration(left)];
    return el("li", { class: "sla-chip sla-" + state, title: label + " due " + fullDate(due) }, text);
  }

  function renderSla() {
    const cur = S.current;
    const t = cur && cur.ticket();
    if (!t || !cur.refs) return;
    const sla = t.sla || {};
    const done = t.status === "resolved" || t.status === "closed";
    const chips = [
      slaChip("First reply", sla.first_response_due_at, t.first_response_at, sla.first_response_breached_at),
      slaChip("Resolution", sla.resolution_due_at, done ? t.resolved_at || t.updated_at : null, sla.resolution_breached_at),
    ].filter(Boolean);
    const box = cur.refs.sla;
    box.hidden = !chips.length;
    const key = chips.map((c) => c.className + c.textContent).join("|");
    if (box.dataset.key !== key) {
      box.dataset.key = key;
      box.replaceChildren(...chips);
    }
  }

  function updateAssigneeOptions() {
    const cur = S.current;
    if (!cur || !cur.refs) return;
    const t = cur.ticket();
    const sel = cur.refs.assignee;
    if (document.activeElement === sel) return;
    const agents = [...S.agents.values()].sort((a, b) => String(a.name).localeCompare(String(b.name)));
    if (t && t.assignee_id !== null && t.assignee_id !== undefined && !S.agents.has(t.assignee_id)) {
      agents.push({ id: t.assignee_id, name: t.assignee_id === S.me.id ? S.me.name : "Agent #" + t.assignee_id });
    }
    if (!agents.some((a) => a.id === S.me.id)) agents.unshift({ id: S.me.id, name: S.me.name, presence: S.presence });
    const options = [el("option", { value: "" }, "Unassigned")];
    for (const a of agents) {
      let text = a.name + (a.id === S.me.id ? " (you)" : "");
      if (a.presence && a.id !== S.me.id) text += " — " + a.presence;
      options.push(el("option", { value: a.id }, text));
    }
    sel.replaceChildren(...options);
    sel.value = t && t.assignee_id !== null && t.assignee_id !== undefined ? String(t.assignee_id) : "";
  }

  function updateQueueOptions() {
    const cur = S.current;
    if (!cur || !cur.refs) return;
    const t = cur.ticket();
    const sel = cur.refs.queue;
    if (document.activeElement === sel) return;
    const names = new Set([...S.queues, ...(S.me.queues || [])]);
    if (t && t.queue) names.add(t.queue);
    sel.replaceChildren(...[...names].sort().map((n) => el("option", { value: n }, n)));
    if (t && t.queue) sel.value = t.queue;
  }

  function renderTags(tags) {
    const cur = S.current;
    cur.refs.tagList.replaceChildren(...tags.map((tag) => el("li", { class: "tag" },
      el("span", {}, tag),
      el("button", { type: "button", class: "tag-x", "aria-label": "Remove tag " + tag, onclick: () => removeTag(tag) }, "×"))));
  }

  function onTagKey(e) {
    const input = e.target;
    if (e.key === "Enter" || e.key === ",") {
      e.preventDefault();
      const tag = input.value.trim().replace(/,/g, "").toLowerCase();
      if (!tag) return;
      const t = S.current && S.current.ticket();
      if (!t) return;
      input.value = "";
      if ((t.tags || []).includes(tag)) return;
      patchTicket({ tags: [...(t.tags || []), tag] }, "Tag " + tag + " added");
    } else if (e.key === "Backspace" && !input.value) {
      const t = S.current && S.current.ticket();
      if (t && (t.tags || []).length) removeTag(t.tags[t.tags.length - 1]);
    }
  }

  function removeTag(tag) {
    const t = S.current && S.current.ticket();
    if (!t) return;
    patchTicket({ tags: (t.tags || []).filter((x) => x !== tag) }, "Tag " + tag + " removed");
  }

  async function patchTicket(changes, done) {
    const cur = S.current;
    if (!cur) return;
    try {
      const t = await api("PATCH", "/api/tickets/" + cur.id, changes);
      storeTicket(t);
      if (done) toast(done);
    } catch (e) {
      report(e, "Could not update the ticket");
    }
    renderLists();
    if (S.current === cur) updateTicketHead();
  }

  function takeTicket() {
    if (!S.current) return;
    S.selfAssigned = S.current.id;
    patchTicket({ assignee_id: S.me.id }, "Assigned to you");
  }

  function resolveTicket() {
    const t = S.current && S.current.ticket();
    if (!t || t.status === "resolved" || t.status === "closed") return;
    patchTicket({ status: "resolved" }, "Ticket #" + t.id + " resolved");
  }

  /* ------------------------------------------------------------------ merge and split */

  /** The open ticket read again from scratch (messages may have left it, or joined it). */
  async function refreshThread(cur) {
    let t;
    try {
      t = await api("GET", "/api/tickets/" + cur.id);
    } catch (e) {
      if (S.current === cur) report(e, "Could not reload the ticket");
      return;
    }
    if (S.current !== cur) return;
    cur.messages = new Map((t.messages || []).map((m) => [m.id, m]));
    cur.mergedInto = t.merged_into ?? null;
    cur.loaded = true;
    storeTicket(t);
    updateTicketHead();
    renderThread(true, true);
    renderLists();
  }

  let refreshTimer = null;
  function refreshThreadSoon(cur) {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => {
      if (S.current === cur) {
        refreshThread(cur);
        refreshHistorySoon();
      }
    }, 150);
  }

  function toggleMerge(force) {
    const cur = S.current;
    const r = cur && cur.refs;
    if (!r) return;
    const open = force !== undefined ? force : r.mergePop.hidden;
    r.mergePop.hidden = !open;
    r.mergeBtn.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) loadMergeChoices(cur);
  }

  /** The same customer's other open tickets, to merge into the open one. */
  async function loadMergeChoices(cur) {
    const pop = cur.refs.mergePop;
    const err = el("p", { class: "form-error", role: "alert", hidden: true });
    pop.replaceChildren(el("p", { class: "merge-title" }, "Merge into this ticket (#" + cur.id + ")"),
      el("p", { class: "muted" }, "Loading the customer's tickets…"));
    const t = cur.ticket();
    const cid = (cur.cp && cur.cp.id) || (t && t.customer_id) || cur.customerId;
    let items = cur.past;
    if (cid) {
      try {
        const data = await api("GET", "/api/tickets?customer=" + cid + "&status=new,open,pending&limit=50");
        items = data.items || [];
      } catch (e) {
        if (e.status === 401) return showLogin("Your session has ended. Please sign in again.");
        showError(err, "Could not load the customer's tickets: " + e.message);
      }
    }
    if (S.current !== cur || pop.hidden) return;
    const choices = (items || []).filter((x) => x.id !== cur.id && ACTIVE.has(x.status) && !(x.tags || []).includes("merged"));
    const list = choices.length
      ? el("ul", { class: "merge-list", "aria-label": "Other open tickets of " + customerName(t ? t.customer_id : cid) },
        choices.map((x) => el("li", {},
          el("button", { type: "button", class: "merge-opt", "data-ticket": x.id, onclick: (e) => mergeTicket(cur, x, e.currentTarget, err) },
            channelIcon(x.channel),
            el("span", { class: "merge-subject" }, x.subject || "(no subject)"),
            el("span", { class: "merge-meta" }, "#" + x.id + " · " + cap(x.status) + " · " + clock(x.created_at))))))
      : el("p", { class: "muted" }, "This customer has no other open ticket.");
    const title = el("p", { class: "merge-title", tabindex: "-1" }, "Merge into this ticket (#" + cur.id + ")");
    pop.replaceChildren(title,
      el("p", { class: "merge-lead" }, "Its messages join this conversation; it is closed and tagged merged."),
      list, err);
    (pop.querySelector(".merge-opt") || title).focus();
  }

  async function mergeTicket(cur, other, button, err) {
    const subject = other.subject || "(no subject)";
    const sure = window.confirm("Merge ticket #" + other.id + " “" + subject + "” into this ticket (#" + cur.id + ")?\n\n"
      + "Its messages join this conversation; ticket #" + other.id + " is closed and tagged merged.");
    if (!sure) return;
    button.disabled = true;
    showError(err, "");
    let t;
    try {
      t = await api("POST", "/api/tickets/" + cur.id + "/merge", { other_id: other.id });
    } catch (e) {
      button.disabled = false;
      button.focus(); // disabled while waiting, it lost the focus
      return failIn(err, e, "Not merged");
    }
    if (S.current !== cur) return;
    storeTicket(t);
    toggleMerge(false);
    cur.refs.mergeBtn.focus();
    toast("Ticket #" + other.id + " merged into this one");
    announce("Ticket #" + other.id + " merged into this one; its messages are in the conversation.");
    await refreshThread(cur);
    refreshHistorySoon();
    loadLists().catch(() => {});
  }

  async function splitMessage(m, button) {
    const cur = S.current;
    if (!cur) return;
    const text = String(m.body || "").split(/\s+/).join(" ");
    const sure = window.confirm("Split this message into a new ticket?\n\n“" + (text.length > 160 ? text.slice(0, 160) + "…" : text)
      + "”\n\nIt leaves this conversation and becomes a ticket of its own for the same customer, waiting for a person.");
    if (!sure) return;
    button.disabled = true;
    let t;
    try {
      t = await api("POST", "/api/tickets/" + cur.id + "/split", { message_id: m.id });
    } catch (e) {
      button.disabled = false;
      report(e, "Not split");
      return;
    }
    storeTicket(t);
    toast("Split off into ticket #" + t.id);
    if (S.current !== cur) return;
    const notice = cur.refs.notice;
    notice.replaceChildren("The message is now ticket ",
      el("a", { href: "#/tickets/" + t.id, class: "split-link" }, "#" + t.id),
      " · " + (t.subject || "(no subject)"),
      el("button", { type: "button", class: "btn ghost small banner-x", "aria-label": "Dismiss", onclick: () => {
        notice.hidden = true;
        if (cur.refs) cur.refs.thread.focus();
      } }, "×"));
    notice.hidden = false;
    await refreshThread(cur);
    const link = notice.querySelector("a");
    if (link && S.current === cur) link.focus();
    refreshHistorySoon();
    loadLists().catch(() => {});
  }

  /* ------------------------------------------------------------------ conversation */

  function authorLabel(m, customer) {
    if (m.author === "customer") return (customer && customer.name) || "Customer";
    if (m.author === "agent") {
      if (S.me && m.agent_id === S.me.id) return S.me.name + " (you)";
      const a = S.agents.get(m.agent_id);
      return a ? a.name : "Agent";
    }
    if (m.author === "bot") return "Bot";
    return "System";
  }

  function messageRow(m, customer) {
    if (m.author === "system" && !m.internal) {
      return el("li", { class: "msg from-system", "data-seq": m.seq },
        el("span", { class: "sys-text" }, m.body), el("time", { datetime: m.created_at, title: fullDate(m.created_at) }, clock(m.created_at)));
    }
    const who = authorLabel(m, customer);
    const cls = "msg from-" + m.author + (m.internal ? " note" : "") + (m.direction === "out" ? " out" : " in");
    const head = el("div", { class: "msg-head" },
      el("span", { class: "author" }, who),
      m.internal ? el("span", { class: "note-label" }, icon("note"), "Internal note") : null,
      m.internal ? null : channelIcon(m.channel),
      el("time", { datetime: m.created_at, title: fullDate(m.created_at) }, clock(m.created_at)),
      m.direction === "out" && m.status && !m.internal && m.status !== "sent" && m.status !== "delivered"
        ? el("span", { class: "delivery st-" + m.status }, m.status)
        : null);
    let avatarName = who;
    if (m.author === "agent") avatarName = (S.agents.get(m.agent_id) || (S.me && m.agent_id === S.me.id ? S.me : {})).name || "Agent";
    if (m.author === "customer" && !m.internal && !(S.current && S.current.mergedInto)) {
      // a customer's message about something else becomes a ticket of its own (shown on hover and focus)
      head.insertBefore(el("button", {
        type: "button", class: "msg-act", "data-split": m.id,
        "aria-label": "Split into new ticket: the message of " + clock(m.created_at),
        onclick: (e) => splitMessage(m, e.currentTarget),
      }, "Split into new ticket"), head.querySelector("time"));
    }
    return el("li", { class: cls, "data-seq": m.seq, "data-id": m.id },
      el("span", { class: "avatar av-" + m.author, "aria-hidden": "true" }, m.author === "bot" ? "B" : initials(avatarName)),
      el("div", { class: "bubble" }, head, el("div", { class: "body" }, m.body)));
  }

  function renderThread(forceBottom, rebuild) {
    const cur = S.current;
    if (!cur || !cur.refs || !cur.loaded) return;
    const thread = cur.refs.thread;
    const nearBottom = thread.scrollHeight - thread.scrollTop - thread.clientHeight < 80;
    const customer = currentCustomer();
    const msgs = [...cur.messages.values()].sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0) || a.id - b.id);
    const keys = msgs.map((m) => m.id + ":" + (m.status || ""));
    const had = cur.rendered || [];
    const appendOnly = !rebuild && had.length > 0 && had.length <= keys.length && had.every((k, i) => k === keys[i]);
    if (appendOnly) {
      // only new messages at the end: append them (screen readers announce just those)
      for (const m of msgs.slice(had.length)) thread.append(messageRow(m, customer));
    } else {
      const rows = msgs.map((m) => messageRow(m, customer));
      if (!rows.length) rows.push(el("li", { class: "thread-note" }, "No messages yet."));
      // a whole new conversation is not news: keep screen readers from reading it all out
      thread.setAttribute("aria-busy", "true");
      thread.replaceChildren(...rows);
      setTimeout(() => thread.removeAttribute("aria-busy"), 0);
    }
    cur.rendered = keys;
    if (forceBottom || nearBottom) thread.scrollTop = thread.scrollHeight;
    renderLearn();
  }

  function renderTyping() {
    const cur = S.current;
    if (!cur || !cur.refs) return;
    const on = (S.typing.get(cur.id) || 0) > Date.now();
    const box = cur.refs.typing;
    if (on === !!box.dataset.on) return;
    box.dataset.on = on ? "1" : "";
    box.replaceChildren(...(on ? [el("span", { class: "dots", "aria-hidden": "true" }, el("i"), el("i"), el("i")), "Customer is typing…"] : []));
  }

  function currentCustomer() {
    const t = S.current && S.current.ticket();
    if (!t) return null;
    const entry = S.customers.get(t.customer_id);
    return entry ? entry.data : null;
  }

  /* ------------------------------------------------------------------ composer */

  function buildComposer(cur, refs) {
    const modeInput = (value, text) => el("label", { class: "mode mode-" + value },
      el("input", { type: "radio", name: "compose-mode", value, onchange: () => setMode(value) }), text);
    refs.modes = el("fieldset", { class: "modes" }, el("legend", { class: "sr-only" }, "Message type"),
      modeInput("reply", "Reply to customer"), modeInput("note", "Internal note"));
    refs.boxLabel = el("label", { for: "reply-box", class: "sr-only" }, "Reply to the customer");
    refs.box = el("textarea", {
      id: "reply-box", class: "reply-box", rows: 4, "aria-describedby": "send-hint",
      "aria-autocomplete": "list", "aria-controls": "slash-list",
      placeholder: "Write a reply…  Type / for canned responses",
      onkeydown: onBoxKey, oninput: onBoxInput,
    });
    refs.slash = el("ul", { class: "suggest", id: "slash-list", role: "listbox", "aria-label": "Canned responses", hidden: true });
    refs.cannedBtn = el("button", {
      type: "button", class: "btn ghost small", "aria-haspopup": "dialog", "aria-expanded": "false",
      onclick: () => togglePicker(),
    }, icon("canned"), "Canned responses");
    refs.picker = el("div", { class: "picker", role: "dialog", "aria-label": "Canned responses", hidden: true });
    refs.sendHint = el("span", { class: "hint", id: "send-hint" });
    refs.sendErr = el("p", { class: "composer-error", role: "alert", hidden: true });
    refs.send = el("button", { type: "button", class: "btn primary", onclick: sendMessage }, "Send");
    return el("section", { class: "composer", "aria-label": "Reply" },
      refs.modes,
      el("div", { class: "box-wrap" }, refs.boxLabel, refs.box, refs.slash, refs.picker),
      refs.sendErr,
      el("div", { class: "composer-bar" }, refs.cannedBtn, refs.sendHint, el("span", { class: "spacer" }), refs.send));
  }

  function setMode(mode) {
    S.mode = mode;
    const cur = S.current;
    if (!cur || !cur.refs) return;
    const r = cur.refs;
    for (const input of r.modes.querySelectorAll("input")) input.checked = input.value === mode;
    r.box.closest(".composer").classList.toggle("is-note", mode === "note");
    r.boxLabel.textContent = mode === "note" ? "Internal note (only agents see it)" : "Reply to the customer";
    r.box.placeholder = mode === "note"
      ? "Write an internal note: only agents see it…"
      : "Write a reply…  Type / for canned responses";
    r.send.textContent = mode === "note" ? "Add note" : "Send";
    updateTicketHead();
  }

  async function sendMessage() {
    const cur = S.current;
    if (!cur || !cur.refs || cur.sending) return;
    const r = cur.refs;
    const text = r.box.value.replace(/\s+$/, "");
    if (!text.trim()) {
      r.box.focus();
      return;
    }
    const internal = S.mode === "note";
    cur.sending = true;
    r.send.disabled = true;
    try {
      const m = await api("POST", "/api/tickets/" + cur.id + "/messages", { body: text, internal });
      if (S.current === cur) {
        if (m && m.id !== undefined) cur.messages.set(m.id, m);
        if (r.box.value.replace(/\s+$/, "") === text) r.box.value = "";
        S.drafts.delete(cur.id);
        r.sendErr.hidden = true;
        closeSlash();
        renderThread(true);
        sendViewing("viewing");
        refreshHistorySoon();
      }
    } catch (e) {
      if (e.status === 401) return showLogin("Your session has ended. Please sign in again.");
      r.sendErr.textContent = (internal ? "The note was not added: " : "The reply was not sent: ") + e.message;
      r.sendErr.hidden = false;
    } finally {
      cur.sending = false;
      r.send.disabled = false;
    }
  }

  function onBoxInput() {
    onReplyInput();
    updateSlash();
  }

  function onBoxKey(e) {
    const r = S.current && S.current.refs;
    if (!r) return;
    if (!r.slash.hidden) {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        moveSlash(e.key === "ArrowDown" ? 1 : -1);
        return;
      }
      if ((e.key === "Enter" && !e.ctrlKey && !e.metaKey && !e.shiftKey) || e.key === "Tab") {
        const opt = r.slash.querySelector('[aria-selected="true"]');
        if (opt) {
          e.preventDefault();
          applySlash(Number(opt.dataset.cannedId));
          return;
        }
      }
      if (e.key === "Escape") {
        e.preventDefault();
        e.stopPropagation();
        closeSlash();
        return;
      }
    }
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      sendMessage();
    } else if (e.key === "Escape") {
      e.preventDefault();
      e.stopPropagation();
      r.box.blur();
      r.thread.focus();
    }
  }

  /* ------------------------------------------------------------------ canned responses */

  async function loadCanned() {
    try {
      const data = await api("GET", "/api/canned");
      S.canned = (data && data.items) || [];
    } catch (e) {
      S.canned = [];
      if (e.status === 401) showLogin("Your session has ended. Please sign in again.");
    }
  }

  function fillPlaceholders(body) {
    const t = S.current && S.current.ticket();
    const c = currentCustomer();
    const customerName = (c && c.name) || "";
    const values = {
      "customer.name": customerName,
      "customer.first_name": firstName(customerName),
      "customer.email": c && c.emails && c.emails[0] ? c.emails[0] : "",
      "agent.name": S.me ? S.me.name : "",
      "agent.first_name": S.me ? firstName(S.me.name) : "",
      "ticket.id": t ? String(t.id) : S.current ? String(S.current.id) : "",
      "ticket.subject": t ? t.subject || "" : "",
    };
    return String(body || "").replace(/\{\{\s*([\w.]+)\s*\}\}/g, (all, key) => (key in values ? values[key] : all));
  }

  function insertAtCaret(text, from, to) {
    const box = S.current.refs.box;
    const start = from ?? box.selectionStart;
    const end = to ?? box.selectionEnd;
    box.setRangeText(text, start, end, "end");
    box.focus();
    onReplyInput();
  }

  function slashMatch() {
    const box = S.current.refs.box;
    if (box.selectionStart !== box.selectionEnd) return null;
    const before = box.value.slice(0, box.selectionStart);
    const m = /(^|\s)\/([\w.-]*)$/.exec(before);
    if (!m) return null;
    return { query: m[2].toLowerCase(), from: before.length - m[2].length - 1, to: box.selectionStart };
  }

  function cannedMatches(query) {
    const q = query.toLowerCase();
    const scored = [];
    for (const c of S.canned) {
      const sc = String(c.shortcut || "").toLowerCase();
      const title = String(c.title || "").toLowerCase();
      if (!q || sc.startsWith(q)) scored.push([0, c]);
      else if (sc.includes(q) || title.includes(q)) scored.push([1, c]);
    }
    return scored.sort((a, b) => a[0] - b[0]).map((x) => x[1]);
  }

  function updateSlash() {
    const r = S.current.refs;
    const m = slashMatch();
    const items = m ? cannedMatches(m.query).slice(0, 8) : [];
    if (!items.length) return closeSlash();
    r.slash.replaceChildren(...items.map((c, i) => el("li", {
      id: "slash-opt-" + c.id, role: "option", class: "suggest-opt", "data-canned-id": c.id,
      "aria-selected": i === 0 ? "true" : "false",
      onmousedown: (e) => { e.preventDefault(); applySlash(c.id); },
    },
    el("span", { class: "sc" }, "/" + (c.shortcut || "")), el("span", { class: "st" }, c.title || ""),
    el("span", { class: "sp" }, fillPlaceholders(c.body)))));
    r.slash.hidden = false;
    r.box.setAttribute("aria-expanded", "true");
    r.box.setAttribute("aria-activedescendant", "slash-opt-" + items[0].id);
  }

  function moveSlash(delta) {
    const r = S.current.refs;
    const opts = [...r.slash.querySelectorAll("[role=option]")];
    if (!opts.length) return;
    let at = opts.findIndex((o) => o.getAttribute("aria-selected") === "true");
    at = (at + delta + opts.length) % opts.length;
    opts.forEach((o, i) => o.setAttribute("aria-selected", i === at ? "true" : "false"));
    r.box.setAttribute("aria-activedescendant", opts[at].id);
    opts[at].scrollIntoView({ block: "nearest" });
  }

  function closeSlash() {
    const r = S.current && S.current.refs;
    if (!r) return;
    r.slash.hidden = true;
    r.slash.replaceChildren();
    r.box.setAttribute("aria-expanded", "false");
    r.box.removeAttribute("aria-activedescendant");
  }

  function applySlash(cannedId) {
    const c = S.canned.find((x) => x.id === cannedId);
    const m = slashMatch();
    closeSlash();
    if (!c) return;
    if (m) insertAtCaret(fillPlaceholders(c.body), m.from, m.to);
    else insertAtCaret(fillPlaceholders(c.body));
  }

  function togglePicker(force) {
    const r = S.current && S.current.refs;
    if (!r) return;
    const open = force !== undefined ? force : r.picker.hidden;
    if (!open) {
      r.picker.hidden = true;
      r.cannedBtn.setAttribute("aria-expanded", "false");
      return;
    }
    closeSlash();
    const search = el("input", { type: "search", id: "canned-filter", placeholder: "Filter canned responses…", autocomplete: "off" });
    const list = el("ul", { class: "picker-list" });
    const fill = () => {
      const items = cannedMatches(search.value.trim());
      list.replaceChildren(...(items.length ? items.map((c) => el("li", {},
        el("button", { type: "button", class: "picker-opt", "data-canned-id": c.id, onclick: () => pickCanned(c.id) },
          el("span", { class: "picker-title" }, c.title || "Untitled", c.shortcut ? el("span", { class: "sc" }, "/" + c.shortcut) : null),
          el("span", { class: "picker-body" }, fillPlaceholders(c.body)))))
        : [el("li", { class: "picker-empty" }, S.canned.length ? "No canned response matches." : "No canned responses yet.")]));
    };
    search.addEventListener("input", fill);
    search.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        e.preventDefault();
        const first = list.querySelector(".picker-opt");
        if (first) first.click();
      } else if (e.key === "ArrowDown") {
        e.preventDefault();
        const first = list.querySelector(".picker-opt");
        if (first) first.focus();
      }
    });
    list.addEventListener("keydown", (e) => {
      if (e.key !== "ArrowDown" && e.key !== "ArrowUp") return;
      e.preventDefault();
      const opts = [...list.querySelectorAll(".picker-opt")];
      const at = opts.indexOf(document.activeElement);
      const next = e.key === "ArrowDown" ? Math.min(opts.length - 1, at + 1) : at - 1;
      if (next < 0) search.focus();
      else opts[next].focus();
    });
    fill();
    r.picker.replaceChildren(el("label", { for: "canned-filter", class: "sr-only" }, "Filter canned responses"), search, list);
    r.picker.hidden = false;
    r.cannedBtn.setAttribute("aria-expanded", "true");
    search.focus();
  }

  function pickCanned(id) {
    const c = S.canned.find((x) => x.id === id);
    togglePicker(false);
    if (c) insertAtCaret(fillPlaceholders(c.body));
  }

  /* ------------------------------------------------------------------ the customer panel (right column) */

  /* The pane is a stack of sections (profile, channels, notes, duplicates, tickets, history), each redrawn
     on its own: a message arriving redraws the tickets and the history, never a form the agent is typing in. */

  const NOTES_SHOWN = 5;
  const ATTR_INPUT = { text: "text", number: "number", date: "date" };
  const TYPED_KINDS = new Set(["email", "phone"]);

  function renderCustomerPane(cur) {
    $("customer-pane").replaceChildren(el("div", { class: "aside-empty" }, el("p", { class: "muted" }, "Loading the customer…")));
    cur.cp = null;
  }

  async function loadCustomerPane(cur, cid) {
    const customer = await fetchCustomer(cid, true);
    if (S.current !== cur) return;
    const id = customer ? customer.id : cid; // a merged-away id answers with the survivor
    const [past, history, defs, notes, dups, merges, reminders] = await Promise.all([
      api("GET", "/api/tickets?customer=" + id + "&limit=50").catch(() => null),
      api("GET", "/api/customers/" + id + "/history").catch(() => null),
      api("GET", "/api/customer-attributes").catch(() => null),
      api("GET", "/api/customers/" + id + "/notes").catch(() => null),
      // null where the server has no such list (or it failed): the section stays hidden
      api("GET", "/api/customers/" + id + "/duplicates").catch(() => null),
      api("GET", "/api/customers/" + id + "/merges").catch(() => null),
      api("GET", "/api/customers/" + id + "/reminders").catch(() => null),
    ]);
    if (S.current !== cur) return;
    const before = cur.cp && cur.cp.id === id ? cur.cp : null;
    cur.past = past ? past.items || [] : null;
    cur.history = history ? history.items || [] : null;
    cur.cp = {
      id,
      customer,
      defs: defs ? defs.items || [] : null,
      notes: notes ? notes.items || [] : null,
      dups: dups ? dups.items || [] : null,
      merges: merges ? merges.items || [] : null,
      reminders: reminders ? reminders.items || [] : null,
      editing: false,
      allNotes: before ? before.allNotes : false,
      noteDraft: before ? before.noteDraft : "",
      addKind: before ? before.addKind : "email",
      secs: null,
    };
    drawCustomerPane(cur, customer, cid);
  }

  /** The ticket again (a merge or its undo may move it to another customer), then its customer's pane. */
  async function reloadCustomerPane(cur) {
    try {
      const t = await api("GET", "/api/tickets/" + cur.id);
      storeTicket(t);
      if (S.current === cur && t.customer_id !== undefined) cur.customerId = t.customer_id;
    } catch (_) { /* the pane reloads with the customer held */ }
    if (S.current !== cur) return;
    updateTicketHead();
    await loadCustomerPane(cur, cur.customerId);
    loadLists().catch(() => {});
  }

  let historyTimer = null;
  function refreshHistorySoon() {
    clearTimeout(historyTimer);
    const cur = S.current;
    historyTimer = setTimeout(async () => {
      if (!cur || S.current !== cur || !cur.customerId) return;
      const cid = cur.cp ? cur.cp.id : cur.customerId;
      const [past, history] = await Promise.all([
        api("GET", "/api/tickets?customer=" + cid + "&limit=50").catch(() => null),
        api("GET", "/api/customers/" + cid + "/history").catch(() => null),
      ]);
      if (S.current !== cur) return;
      if (past) cur.past = past.items || [];
      if (history) cur.history = history.items || [];
      const entry = S.customers.get(cid);
      drawCustomerPane(cur, entry && entry.data, cid);
    }, 700);
  }

  function identityLabel(kind) {
    return { chat: "Chat visitor", email: "Email", phone: "Phone", sms: "SMS", user: "Signed-in user" }[kind] || cap(kind);
  }

  function identityAddress(i) {
    if (i.kind === "chat" && i.address && i.address.length > 14) return i.address.slice(0, 12) + "…";
    return i.address;
  }

  function agentName(id) {
    if (id === null || id === undefined) return "An agent";
    if (S.me && id === S.me.id) return S.me.name + " (you)";
    const a = S.agents.get(id);
    return a ? a.name : "Agent #" + id;
  }

  /** Replace a section's content; the keyboard focus stays on the element of the same id. */
  function fill(box, ...nodes) {
    const active = document.activeElement;
    const focusId = active && active.id && box.contains(active) ? active.id : "";
    box.replaceChildren(...nodes.filter((n) => n !== null && n !== undefined));
    if (focusId) {
      const again = document.getElementById(focusId);
      if (again) again.focus();
    }
  }

  function showError(box, text) {
    box.textContent = text || "";
    box.hidden = !text;
  }

  /** An error of the API shown in `box` (role=alert); a lost session shows the sign-in instead. */
  function failIn(box, err, prefix) {
    if (err && err.status === 401) return showLogin("Your session has ended. Please sign in again.");
    showError(box, (prefix ? prefix + ": " : "") + ((err && err.message) || "something went wrong"));
  }

  function focusId(id) {
    const node = document.getElementById(id);
    if (node) node.focus();
  }

  /** The customer as the server answered: held for the lists, the ticket head and the pane. */
  function storeCustomer(c) {
    let entry = S.customers.get(c.id);
    if (!entry) {
      entry = { data: null, pending: false, promise: Promise.resolve(c) };
      S.customers.set(c.id, entry);
    }
    const renamed = !entry.data || entry.data.name !== c.name;
    entry.data = c;
    if (!renamed) return;
    renderLists();
    if (S.current) {
      updateTicketHead();
      renderThread(false, true);
    }
  }

  /** PATCH the open customer; the answer is drawn. Throws the API's error (nothing was stored). */
  async function patchCustomer(cur, changes) {
    const cp = cur.cp;
    const c = await api("PATCH", "/api/customers/" + cp.id, changes);
    storeCustomer(c);
    if (S.current === cur && cur.cp === cp) {
      cp.customer = c;
      refreshHistorySoon(); // every change is a line on the timeline
    }
    return c;
  }

  function drawCustomerPane(cur, c, cid) {
    const pane = $("customer-pane");
    if (!c) {
      pane.replaceChildren(el("div", { class: "aside-empty" }, el("p", { role: "alert" }, "Could not load customer #" + cid + ".")));
      return;
    }
    const cp = cur.cp;
    if (!cp) return;
    if (!cp.secs || !cp.secs.profile.isConnected) {
      const scroll = pane.scrollTop;
      const sec = (key, cls) => el("section", { class: cls || "aside-sec", "aria-labelledby": "cp-" + key + "-h" });
      cp.secs = {
        profile: sec("profile", "cust-card"),
        channels: sec("channels"),
        notes: sec("notes"),
        reminders: sec("reminders"),
        dups: sec("dups", "aside-sec dups-sec"),
        past: sec("past"),
        hist: sec("hist"),
      };
      const s = cp.secs;
      pane.replaceChildren(s.profile, s.channels, s.notes, s.reminders, s.dups, s.past, s.hist);
      drawProfile(cur);
      drawChannels(cur);
      drawNotes(cur);
      drawReminders(cur);
      drawDuplicates(cur);
      pane.scrollTop = scroll;
    }
    drawPast(cur);
    drawHistory(cur);
    if (S.current === cur) renderLearn();
  }

  /* -- profile: name and company, tags, the attributes admins define, consent */

  function drawProfile(cur) {
    const cp = cur.cp;
    const c = cp.customer;
    const name = c.name || "Customer #" + c.id;
    const since = c.created_at ? " · since " + new Date(c.created_at).toLocaleDateString() : "";
    const head = el("div", { class: "cust-top" },
      el("span", { class: "avatar big av-customer", "aria-hidden": "true" }, initials(name)),
      el("div", { class: "cust-who" },
        el("h2", { id: "cp-profile-h", class: "cust-name" }, name),
        c.company ? el("p", { class: "cust-company" }, c.company) : null,
        el("p", { class: "muted small" }, "Customer #" + c.id + since)),
      cp.editing ? null : el("button", {
        type: "button", id: "cp-edit", class: "btn ghost small cust-edit", "aria-label": "Edit name and company",
        onclick: () => {
          cp.editing = true;
          drawProfile(cur);
          focusId("cp-name");
        },
      }, "Edit"));
    fill(cp.secs.profile, head, cp.editing ? editForm(cur) : null, tagsBlock(cur), attributesBlock(cur), consentBlock(cur));
  }

  function editForm(cur) {
    const cp = cur.cp;
    const c = cp.customer;
    const name = el("input", { type: "text", id: "cp-name", maxlength: 200, autocomplete: "off", required: true });
    const company = el("input", { type: "text", id: "cp-company", maxlength: 200, autocomplete: "off" });
    name.value = c.name || "";
    company.value = c.company || "";
    const err = el("p", { class: "form-error", role: "alert", hidden: true });
    const save = el("button", { type: "submit", class: "btn primary small" }, "Save");
    const close = () => {
      cp.editing = false;
      drawProfile(cur);
      focusId("cp-edit");
    };
    return el("form", {
      class: "cust-form", "aria-label": "Edit name and company", novalidate: true,
      onkeydown: (e) => {
        if (e.key !== "Escape") return;
        e.preventDefault();
        e.stopPropagation();
        close();
      },
      onsubmit: async (e) => {
        e.preventDefault();
        save.disabled = true;
        showError(err, "");
        try {
          await patchCustomer(cur, { name: name.value, company: company.value });
          if (S.current !== cur || cur.cp !== cp) return;
          toast("Profile saved");
          close();
        } catch (x) {
          failIn(err, x, "Not saved");
          save.disabled = false;
        }
      },
    },
    el("div", { class: "field" }, el("label", { for: "cp-name" }, "Name"), name),
    el("div", { class: "field" }, el("label", { for: "cp-company" }, "Company"), company),
    err,
    el("div", { class: "cust-actions" }, save, el("button", { type: "button", class: "btn ghost small", onclick: close }, "Cancel")));
  }

  function tagsBlock(cur) {
    const cp = cur.cp;
    const tags = cp.customer.tags || [];
    const err = el("p", { class: "form-error", role: "alert", hidden: true });
    const setTags = async (next, done, focus) => {
      showError(err, "");
      try {
        await patchCustomer(cur, { tags: next });
        if (S.current !== cur || cur.cp !== cp) return;
        drawProfile(cur);
        focusId(focus);
        toast(done);
      } catch (x) {
        failIn(err, x, "Tags not saved");
      }
    };
    const input = el("input", {
      type: "text", id: "cp-tag", class: "tag-input", placeholder: "Add tag…", autocomplete: "off", maxlength: 64,
      onkeydown: (e) => {
        if (e.key === "Enter" || e.key === ",") {
          e.preventDefault();
          const tag = input.value.trim().replace(/,/g, "").toLowerCase();
          if (!tag) return;
          input.value = "";
          if (!tags.includes(tag)) setTags([...tags, tag], "Customer tag " + tag + " added", "cp-tag");
        } else if (e.key === "Backspace" && !input.value && tags.length) {
          const last = tags[tags.length - 1];
          setTags(tags.filter((x) => x !== last), "Customer tag " + last + " removed", "cp-tag");
        }
      },
    });
    return el("div", { class: "cust-block" },
      el("h3", { class: "aside-h", id: "cp-tags-h" }, "Tags"),
      el("div", { class: "tags" },
        el("ul", { class: "tag-list", "aria-labelledby": "cp-tags-h" }, tags.map((tag) => el("li", { class: "tag" },
          el("span", {}, tag),
          el("button", {
            type: "button", class: "tag-x", "aria-label": "Remove customer tag " + tag,
            onclick: () => setTags(tags.filter((x) => x !== tag), "Customer tag " + tag + " removed", "cp-tag"),
          }, "×")))),
        el("label", { for: "cp-tag", class: "sr-only" }, "Add a customer tag"),
        input),
      err);
  }

  function attributesBlock(cur) {
    const cp = cur.cp;
    const values = cp.customer.attributes || {};
    const defs = cp.defs;
    const rows = (defs || []).map((d) => attributeRow(cur, d, values[d.key]));
    // values kept for an attribute whose definition was removed: shown, no longer editable
    const defined = new Set((defs || []).map((d) => d.key));
    for (const [key, value] of Object.entries(values)) {
      if (defs && !defined.has(key)) {
        rows.push(el("div", { class: "attr-row retired" },
          el("span", { class: "attr-label" }, key),
          el("span", { class: "attr-value", title: "This field is no longer defined" }, String(value))));
      }
    }
    return el("div", { class: "cust-block" },
      el("h3", { class: "aside-h", id: "cp-attrs-h" }, "Details"),
      defs === null
        ? el("p", { class: "muted small" }, "Could not load the customer fields.")
        : rows.length
          ? el("div", { class: "attrs", role: "group", "aria-labelledby": "cp-attrs-h" }, rows)
          : el("p", { class: "muted small" }, "No customer fields yet: an admin defines them."));
  }

  function attributeRow(cur, d, value) {
    const cp = cur.cp;
    const id = "cp-attr-" + d.key;
    const err = el("p", { class: "form-error attr-error", role: "alert", hidden: true });
    const held = value === undefined || value === null ? "" : String(value);
    let input;
    if (d.type === "choice") {
      const choices = [...(d.choices || [])];
      if (held && !choices.includes(held)) choices.push(held); // a value from before the choices changed
      input = el("select", { id }, el("option", { value: "" }, "—"), choices.map((ch) => el("option", { value: ch }, ch)));
    } else {
      input = el("input", {
        type: ATTR_INPUT[d.type] || "text", id, autocomplete: "off",
        placeholder: d.type === "date" ? null : "—", step: d.type === "number" ? "any" : null,
        maxlength: d.type === "text" ? 1000 : null,
      });
    }
    input.value = held;
    input.addEventListener("change", async () => {
      showError(err, "");
      input.removeAttribute("aria-invalid");
      let next = d.type === "text" ? input.value.trim() : input.value;
      if (next === "" && input.validity && input.validity.badInput) {
        input.setAttribute("aria-invalid", "true");
        return showError(err, d.type === "number" ? "Write a number." : "Write a whole date.");
      }
      if (next === "") next = null;
      else if (d.type === "number") next = Number(next);
      const now = (cp.customer.attributes || {})[d.key];
      if (next === (now === undefined ? null : now)) return;
      try {
        await patchCustomer(cur, { attributes: { [d.key]: next } });
        if (S.current !== cur || cur.cp !== cp) return;
        if (!input.isConnected) drawProfile(cur); // the profile was redrawn while the change was on its way
        toast(next === null ? d.label + " cleared" : d.label + " saved");
      } catch (x) {
        input.setAttribute("aria-invalid", "true");
        failIn(err, x, "Not saved");
      }
    });
    input.setAttribute("aria-describedby", id + "-err");
    err.id = id + "-err";
    return el("div", { class: "attr-row" }, el("label", { for: id, class: "attr-label" }, d.label), input, err);
  }

  function consentBlock(cur) {
    const cp = cur.cp;
    const c = cp.customer;
    const err = el("p", { class: "form-error", role: "alert", hidden: true });
    const toggle = (flag, text, on, off) => {
      const box = el("input", { type: "checkbox", id: "cp-" + flag });
      box.checked = !!c[flag];
      box.addEventListener("change", async () => {
        showError(err, "");
        const want = box.checked;
        try {
          await patchCustomer(cur, { [flag]: want });
          if (S.current !== cur || cur.cp !== cp) return;
          if (!box.isConnected) drawProfile(cur);
          toast(want ? on : off);
        } catch (x) {
          box.checked = !want;
          failIn(err, x, "Not saved");
        }
      });
      return el("label", { class: "consent-opt", for: "cp-" + flag }, box, el("span", {}, text));
    };
    return el("div", { class: "cust-block consent", role: "group", "aria-labelledby": "cp-consent-h" },
      el("h3", { class: "aside-h", id: "cp-consent-h" }, "Consent"),
      toggle("sms_opt_out", "Opted out of SMS", "Opted out of SMS: no texts are sent", "Opted in to SMS again"),
      toggle("email_unsubscribed", "Unsubscribed from email", "Unsubscribed from email", "Subscribed to email again"),
      err);
  }

  /* -- channels: the customer's addresses; an agent adds or removes an email or a phone */

  function drawChannels(cur) {
    const cp = cur.cp;
    const c = cp.customer;
    const ids = c.identities || [];
    const err = el("p", { class: "form-error", id: "cp-id-error", role: "alert", hidden: true });
    const list = ids.length
      ? el("ul", { class: "ids" }, ids.map((i) => el("li", { class: "id-row" },
        channelIcon(i.kind === "chat" || i.kind === "user" ? "chat" : i.kind),
        el("span", { class: "id-kind" }, identityLabel(i.kind)),
        el("span", { class: "id-addr", title: i.address }, identityAddress(i)),
        i.verified ? el("span", { class: "verified", title: "Verified by the channel or an agent" }, "verified") : el("span", { class: "claimed", title: "Typed by the customer, not verified" }, "unverified"),
        TYPED_KINDS.has(i.kind)
          ? el("button", {
            type: "button", class: "tag-x id-x", title: "Remove", "aria-label": "Remove " + identityLabel(i.kind).toLowerCase() + " " + i.address,
            onclick: () => removeIdentity(cur, i, err),
          }, "×")
          : el("span", {}))))
      : el("p", { class: "muted" }, "No known addresses.");

    const kind = el("select", { id: "cp-id-kind", class: "id-kind-sel" },
      el("option", { value: "email" }, "Email"), el("option", { value: "phone" }, "Phone"));
    const address = el("input", { id: "cp-id-addr", autocomplete: "off", spellcheck: "false", "aria-describedby": "cp-id-error" });
    const addressLabel = el("label", { for: "cp-id-addr", class: "sr-only" });
    const fit = () => {
      const phone = kind.value === "phone";
      address.type = phone ? "tel" : "email";
      address.placeholder = phone ? "+46 70 123 45 67" : "name@example.com";
      addressLabel.textContent = phone ? "Phone number to add" : "Email address to add";
    };
    kind.value = cp.addKind;
    fit();
    kind.addEventListener("change", () => {
      cp.addKind = kind.value;
      fit();
      showError(err, "");
    });
    const add = el("button", { type: "submit", class: "btn small", "aria-label": "Add address" }, "Add");
    const offer = el("div", { class: "id-offer", hidden: true });
    const form = el("form", {
      class: "id-add", novalidate: true, "aria-labelledby": "cp-id-add-h",
      onsubmit: async (e) => {
        e.preventDefault();
        const typed = address.value.trim();
        if (!typed) return address.focus();
        add.disabled = true;
        showError(err, "");
        try {
          const c2 = await api("POST", "/api/customers/" + cp.id + "/identities", { kind: kind.value, address: typed });
          storeCustomer(c2);
          if (S.current !== cur || cur.cp !== cp) return;
          cp.customer = c2;
          const added = (c2.identities || []).filter((i) => i.kind === kind.value).pop();
          drawChannels(cur);
          focusId("cp-id-addr");
          refreshHistorySoon();
          toast(identityLabel(kind.value) + " " + (added ? added.address : typed) + " added");
        } catch (x) {
          add.disabled = false;
          address.setAttribute("aria-invalid", "true");
          if (x && x.code === "identity_taken") {
            failIn(err, x, "Not added");
            offerHolder(cur, typed, x.message, offer, err);
            refreshDuplicates(cur);
          } else {
            failIn(err, x, "Not added");
          }
        }
      },
    },
    el("p", { class: "id-add-h", id: "cp-id-add-h" }, "Add email or phone"),
    el("div", { class: "id-add-row" },
      el("label", { for: "cp-id-kind", class: "sr-only" }, "Type of address"), kind, addressLabel, address, add),
    err, offer);
    address.addEventListener("input", () => {
      address.removeAttribute("aria-invalid");
      offer.hidden = true;
    });
    fill(cp.secs.channels, el("h3", { class: "aside-h", id: "cp-channels-h" }, "Channels"), list, form);
  }

  /** Another customer holds the address the agent typed (409 identity_taken): most likely this customer
      under another record. Offer to merge them in, found by a search for the address. */
  async function offerHolder(cur, typed, message, box, err) {
    const cp = cur.cp;
    box.hidden = true;
    let found = [];
    try {
      found = ((await api("GET", "/api/customers?q=" + encodeURIComponent(typed))).items || []).filter((o) => o.id !== cp.id);
    } catch (_) {
      return; // the message names the customer: the agent can look them up
    }
    if (S.current !== cur || cur.cp !== cp || !found.length) return;
    const named = /customer (\d+)/.exec(message || "");
    const other = (named && found.find((o) => o.id === Number(named[1]))) || found[0];
    const oname = other.name || "Customer #" + other.id;
    const addrs = [...(other.emails || []), ...(other.phones || [])].join(", ");
    box.replaceChildren(
      el("p", {}, el("strong", {}, oname), " (customer #" + other.id + (addrs ? ": " + addrs : "") + ") holds it. The same person?"),
      el("button", {
        type: "button", class: "btn small secondary", "aria-label": "Merge " + oname + " (customer #" + other.id + ") into this customer",
        onclick: (e) => mergeDuplicate(cur, other, e.currentTarget, err),
      }, "Merge into this customer"));
    box.hidden = false;
  }

  async function removeIdentity(cur, identity, err) {
    const cp = cur.cp;
    const what = identityLabel(identity.kind).toLowerCase() + " " + identity.address;
    if (!window.confirm("Remove the " + what + " from this customer? Messages from it will no longer find them.")) return;
    showError(err, "");
    try {
      const c = await api("DELETE", "/api/customers/" + cp.id + "/identities/" + identity.id);
      storeCustomer(c);
      if (S.current !== cur || cur.cp !== cp) return;
      cp.customer = c;
      drawChannels(cur);
      focusId("cp-id-addr");
      refreshHistorySoon();
      toast(cap(what) + " removed");
    } catch (x) {
      failIn(err, x, "Not removed");
    }
  }

  /* -- notes about the customer (not about one ticket) */

  /* -- reminders: renewal and payment messages to the customer at a set time, by email or SMS */

  const REMINDER_KINDS = [["payment", "Payment"], ["renewal", "Renewal"], ["other", "Other"]];

  function drawReminders(cur) {
    const cp = cur.cp;
    const items = cp.reminders;
    const c = cp.customer || {};
    const err = el("p", { class: "form-error", role: "alert", hidden: true });
    const kind = el("select", { id: "rm-kind" }, REMINDER_KINDS.map(([v, t]) => el("option", { value: v }, t)));
    const channels = [];
    if ((c.emails || []).length) channels.push(["email", c.email_unsubscribed ? "Email (unsubscribed)" : "Email"]);
    if ((c.phones || []).length) channels.push(["sms", c.sms_opt_out ? "SMS (opted out)" : "SMS"]);
    const channel = el("select", { id: "rm-channel" }, channels.map(([v, t]) => el("option", { value: v }, t)));
    const when = el("input", { type: "datetime-local", id: "rm-when", required: true });
    const body = el("textarea", { id: "rm-body", class: "note-box", rows: 2, maxlength: 1600, placeholder: "What the customer gets…" });
    const go = el("button", { type: "submit", class: "btn small secondary", id: "rm-add" }, "Schedule reminder");
    const form = el("form", {
      class: "reminder-form", novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        const at = when.value ? new Date(when.value) : null;
        if (!at || isNaN(at.getTime())) return when.focus();
        if (!body.value.trim()) return body.focus();
        go.disabled = true;
        showError(err, "");
        try {
          const r = await api("POST", "/api/customers/" + cp.id + "/reminders", {
            kind: kind.value, channel: channel.value, body: body.value.trim(), due_at: at.toISOString(), ticket_id: cur.id,
          });
          if (S.current !== cur || cur.cp !== cp) return;
          cp.reminders = [r, ...(cp.reminders || [])];
          drawReminders(cur);
          toast("Reminder scheduled for " + clock(r.due_at));
          refreshHistorySoon();
        } catch (x) {
          go.disabled = false;
          failIn(err, x, "Not scheduled");
        }
      },
    },
    el("div", { class: "reminder-row" },
      el("label", { for: "rm-kind", class: "sr-only" }, "Kind"), kind,
      el("label", { for: "rm-channel", class: "sr-only" }, "Channel"), channel,
      el("label", { for: "rm-when", class: "sr-only" }, "When"), when),
    el("label", { for: "rm-body", class: "sr-only" }, "Reminder text"), body, err,
    el("div", { class: "note-bar" }, el("span", { class: "hint" }, "Skipped if the customer opts out by then"), go));

    let list;
    if (items === null) list = el("p", { class: "muted" }, "Could not load the reminders.");
    else if (!items.length) list = el("p", { class: "muted small" }, "No reminders.");
    else {
      list = el("ol", { class: "reminders", "aria-label": "Reminders, latest due first" }, items.slice(0, 10).map((r) => el("li", {
        class: "reminder st-" + r.status, "data-reminder-id": r.id,
      },
      el("div", { class: "cnote-head" },
        el("span", { class: "cnote-who" }, cap(r.kind) + " · " + (r.channel === "sms" ? "SMS" : "Email")),
        el("time", { datetime: r.due_at, title: fullDate(r.due_at) }, clock(r.due_at)),
        el("span", { class: "badge st-" + r.status }, cap(r.status))),
      el("p", { class: "cnote-text" }, r.body),
      r.status === "skipped" || r.status === "cancelled" ? el("p", { class: "muted small" }, r.outcome) : null,
      r.status === "scheduled" ? el("button", {
        type: "button", class: "btn ghost small", "aria-label": "Cancel the " + r.kind + " reminder due " + clock(r.due_at),
        onclick: async () => {
          try {
            const done = await api("DELETE", "/api/reminders/" + r.id);
            if (S.current !== cur || cur.cp !== cp) return;
            cp.reminders = cp.reminders.map((x) => (x.id === done.id ? done : x));
            drawReminders(cur);
            toast("Reminder cancelled");
          } catch (x) {
            failIn(err, x, "Not cancelled");
          }
        },
      }, "Cancel") : null)));
    }
    fill(cp.secs.reminders, el("h3", { id: "cp-reminders-h", class: "aside-h" }, "Reminders"),
      channels.length ? form : el("p", { class: "muted small" }, "No email address or phone number to remind."), list);
  }

  function drawNotes(cur) {
    const cp = cur.cp;
    const notes = cp.notes;
    const err = el("p", { class: "form-error", role: "alert", hidden: true });
    const box = el("textarea", {
      id: "cp-note", class: "note-box", rows: 2, maxlength: 10000, placeholder: "Write a note about this customer…",
      "aria-describedby": "cp-note-hint",
      oninput: () => { cp.noteDraft = box.value; },
      onkeydown: (e) => {
        if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
          e.preventDefault();
          form.requestSubmit();
        }
      },
    });
    box.value = cp.noteDraft || "";
    const add = el("button", { type: "submit", class: "btn small secondary" }, "Add customer note");
    const form = el("form", {
      class: "note-form", novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        const text = box.value.trim();
        if (!text) return box.focus();
        add.disabled = true;
        showError(err, "");
        try {
          const note = await api("POST", "/api/customers/" + cp.id + "/notes", { text });
          if (S.current !== cur || cur.cp !== cp) return;
          cp.notes = [note, ...(cp.notes || [])];
          cp.noteDraft = "";
          drawNotes(cur);
          focusId("cp-note");
          toast("Note added");
          refreshHistorySoon();
        } catch (x) {
          add.disabled = false;
          failIn(err, x, "Not added");
        }
      },
    },
    el("label", { for: "cp-note", class: "sr-only" }, "Note about the customer"),
    box, err,
    el("div", { class: "note-bar" }, el("span", { class: "hint", id: "cp-note-hint" }, "Only agents see these · Ctrl+Enter"), add));

    let list;
    if (notes === null) list = el("p", { class: "muted" }, "Could not load the notes.");
    else if (!notes.length) list = el("p", { class: "muted small" }, "No notes yet.");
    else {
      const shown = cp.allNotes ? notes : notes.slice(0, NOTES_SHOWN);
      list = el("ol", { class: "notes", "aria-label": "Notes, newest first" }, shown.map((n) => el("li", { class: "cnote" },
        el("div", { class: "cnote-head" },
          el("span", { class: "cnote-who" }, agentName(n.agent_id)),
          el("time", { datetime: n.at, title: fullDate(n.at) }, clock(n.at))),
        el("p", { class: "cnote-text" }, n.text))));
    }
    const more = notes && notes.length > NOTES_SHOWN
      ? el("button", {
        type: "button", id: "cp-notes-more", class: "btn ghost small", "aria-expanded": cp.allNotes ? "true" : "false",
        onclick: () => {
          cp.allNotes = !cp.allNotes;
          drawNotes(cur);
        },
      }, cp.allNotes ? "Show fewer notes" : "Show all " + notes.length + " notes")
      : null;
    fill(cp.secs.notes,
      el("h3", { class: "aside-h", id: "cp-notes-h" }, "Notes", notes ? el("span", { class: "count" }, String(notes.length)) : null),
      form, list, more);
  }

  /* -- possible duplicates, merging one in, and undoing a merge */

  async function refreshDuplicates(cur) {
    const cp = cur.cp;
    if (!cp) return;
    const [dups, merges] = await Promise.all([
      api("GET", "/api/customers/" + cp.id + "/duplicates").catch(() => null),
      api("GET", "/api/customers/" + cp.id + "/merges").catch(() => null),
    ]);
    if (S.current !== cur || cur.cp !== cp) return;
    if (dups) cp.dups = dups.items || [];
    if (merges) cp.merges = merges.items || [];
    drawDuplicates(cur);
  }

  function scoreLabel(score) {
    const pct = Math.round((Number(score) || 0) * 100);
    const word = pct >= 80 ? "very likely" : pct >= 50 ? "likely" : "possible";
    return pct + "% match · " + word;
  }

  function drawDuplicates(cur) {
    const cp = cur.cp;
    const box = cp.secs.dups;
    const dups = cp.dups || [];
    const merges = (cp.merges || []).filter((m) => m.survivor_id === cp.id);
    if (!dups.length && !merges.length) {
      box.hidden = true;
      box.replaceChildren();
      return;
    }
    box.hidden = false;
    const err = el("p", { class: "form-error", id: "cp-dups-error", role: "alert", hidden: true });
    const candidates = dups.length
      ? el("ul", { class: "dups" }, dups.map((d) => {
        const o = d.customer || {};
        const oname = o.name || "Customer #" + o.id;
        const addrs = [...(o.emails || []), ...(o.phones || [])];
        return el("li", { class: "dup" },
          el("div", { class: "dup-head" },
            el("span", { class: "dup-name" }, oname),
            el("span", { class: "badge dup-score", title: "How sure the duplicate finder is" }, scoreLabel(d.score))),
          el("p", { class: "dup-meta" }, "Customer #" + o.id + (o.company ? " · " + o.company : "")),
          addrs.length ? el("p", { class: "dup-addrs" }, addrs.join(" · ")) : null,
          (d.reasons || []).length
            ? el("ul", { class: "dup-reasons", "aria-label": "Why " + oname + " may be this customer" },
              d.reasons.map((r) => el("li", { class: "dup-reason r-" + String(r.kind || "").replace(/[^\w-]/g, "_") }, r.detail || r.kind)))
            : null,
          el("button", {
            type: "button", class: "btn small secondary", "aria-label": "Merge " + oname + " (customer #" + o.id + ") into this customer",
            onclick: (e) => mergeDuplicate(cur, o, e.currentTarget, err),
          }, "Merge into this customer"));
      }))
      : el("p", { class: "muted small" }, "No possible duplicates.");
    const done = merges.length
      ? el("ul", { class: "merges", "aria-label": "Merges into this customer" }, merges.slice(0, 5).map((m) => {
        const oname = m.other_name || "Customer #" + m.other_id;
        return el("li", { class: "merge-row" + (m.undone_at ? " undone" : "") },
          el("span", { class: "merge-text" },
            el("strong", {}, m.undone_at ? "Merge undone" : "Merged"), " ", oname + " (#" + m.other_id + ")",
            el("span", { class: "merge-meta" }, " · " + agentName(m.agent_id) + ", ",
              el("time", { datetime: m.at, title: fullDate(m.at) }, clock(m.at)), movedText(m.moved))),
          m.undone_at ? null : el("button", {
            type: "button", id: "cp-undo-" + m.id, class: "btn small", "aria-label": "Undo the merge of " + oname,
            onclick: (e) => undoMerge(cur, m, e.currentTarget, err),
          }, "Undo"));
      }))
      : null;
    fill(box,
      el("h3", { class: "aside-h", id: "cp-dups-h" }, "Possible duplicates", el("span", { class: "count" }, String(dups.length))),
      candidates, done, err);
  }

  /** What a merge moved, e.g. " · 2 tickets, 1 address" (counts by table, where the server gives them). */
  function movedText(moved) {
    if (!moved || typeof moved !== "object") return "";
    const parts = [];
    const n = (count, one, many) => { if (count) parts.push(count + " " + (count === 1 ? one : many)); };
    n(Number(moved.tickets) || 0, "ticket", "tickets");
    n(Number(moved.identities) || 0, "address", "addresses");
    n(Number(moved.calls) || 0, "call", "calls");
    return parts.length ? " · moved " + parts.join(", ") : "";
  }

  async function mergeDuplicate(cur, other, button, err) {
    const cp = cur.cp;
    const oname = other.name || "Customer #" + other.id;
    const here = cp.customer.name || "Customer #" + cp.id;
    const sure = window.confirm("Merge " + oname + " (customer #" + other.id + ") into " + here + "?\n\n"
      + "Their addresses, tickets and history move to " + here + ". You can undo it afterwards.");
    if (!sure) return;
    button.disabled = true;
    showError(err, "");
    let merged;
    try {
      merged = await api("POST", "/api/customers/" + cp.id + "/merge", { other_id: other.id });
    } catch (x) {
      button.disabled = false;
      return failIn(err, x, "Not merged");
    }
    if (S.current !== cur) return;
    toast(oname + " merged into this customer");
    announce(oname + " merged into this customer. An Undo button is in the duplicates section.");
    await reloadCustomerPane(cur);
    if (merged && merged.merge_id !== undefined) focusId("cp-undo-" + merged.merge_id);
  }

  async function undoMerge(cur, merge, button, err) {
    const oname = merge.other_name || "Customer #" + merge.other_id;
    button.disabled = true;
    showError(err, "");
    try {
      await api("POST", "/api/merges/" + merge.id + "/undo");
    } catch (x) {
      button.disabled = false;
      return failIn(err, x, "Not undone");
    }
    if (S.current !== cur) return;
    toast("Merge undone: " + oname + " is a customer of their own again");
    await reloadCustomerPane(cur);
  }

  /* -- the customer's tickets and history */

  function drawPast(cur) {
    const past = cur.past;
    const pastList = past === null
      ? el("p", { class: "muted" }, "Could not load past tickets.")
      : past.length
        ? el("ul", { class: "past" }, past.map((t) => el("li", {},
          el("button", {
            type: "button", class: "past-t" + (t.id === cur.id ? " current" : ""), "aria-current": t.id === cur.id ? "true" : null,
            onclick: () => openTicket(t.id),
          },
          channelIcon(t.channel),
          el("span", { class: "past-subject" }, t.subject || "(no subject)"),
          el("span", { class: "badge st-" + t.status }, cap(t.status)),
          el("span", { class: "past-meta" }, "#" + t.id + " · " + clock(t.created_at))))))
        : el("p", { class: "muted" }, "No tickets.");
    fill(cur.cp.secs.past,
      el("h3", { class: "aside-h", id: "cp-past-h" }, "Tickets", past ? el("span", { class: "count" }, String(past.length)) : null), pastList);
  }

  function drawHistory(cur) {
    const hist = cur.history;
    const timeline = hist === null
      ? el("p", { class: "muted" }, "Could not load the history.")
      : hist.length
        ? el("ol", { class: "timeline", "aria-label": "History, newest first" }, [...hist].reverse().map((h) => el("li", {
          class: "tl tl-" + String(h.kind || "").replace(/[^\w-]/g, "_") + (h.internal ? " note" : ""),
        },
        el("div", { class: "tl-head" },
          h.channel ? channelIcon(h.channel) : null,
          el("span", { class: "tl-kind" }, historyLabel(h)),
          h.ticket_id ? el("span", { class: "tl-ticket" }, "#" + h.ticket_id) : null,
          el("time", { datetime: h.at, title: fullDate(h.at) }, clock(h.at))),
        h.text ? el("p", { class: "tl-text" }, h.text) : null)))
        : el("p", { class: "muted" }, "Nothing yet.");
    fill(cur.cp.secs.hist,
      el("h3", { class: "aside-h", id: "cp-hist-h" }, "History", hist ? el("span", { class: "count" }, String(hist.length)) : null), timeline);
  }

  function historyLabel(h) {
    const who = { customer: "Customer", agent: "Agent", bot: "Bot", system: "System" }[h.author] || "";
    if (h.kind === "note" && !h.ticket_id) return (who || "Agent") + " · note about the customer";
    if (h.kind === "note" || h.internal) return (who || "Agent") + " · internal note";
    if (h.kind === "profile") return "Profile changed";
    if (h.kind === "consent") return "Consent changed";
    if (h.kind === "identity") return "Address changed";
    if (h.kind === "merge") return "Customers merged";
    if (h.kind === "unmerge") return "Merge undone";
    if (h.kind === "faq.learned") return "Saved to FAQ";
    if (h.kind === "bot.answer") return "Bot answered from the FAQ";
    if (h.kind === "bot.clarify") return "Bot asked to put it another way";
    if (h.kind === "handoff") return "Handed to a person";
    if (h.kind === "message") {
      if (h.author === "system") return "System message";
      if (h.author === "bot") return "Bot answered";
      return who ? who + (h.direction === "out" ? " replied" : " wrote") : "Message";
    }
    return cap(String(h.kind || "event").replace(/[._]/g, " "));
  }

  /* ------------------------------------------------------------------ save to FAQ (teach the bot) */

  const LEARN_KEY = "switchboard.console.faqOffers";
  const LEARN_KEEP = 500; // remembered tickets (the newest)
  const SUGGEST_DELAY_MS = 350;
  const EXCERPT_CHARS = 200;
  const SUGGEST_MIN_CONFIDENCE = 0.3; // a weaker best match is no suggestion: mostly an unrelated entry
  // handoffs where the customer's last message answers the bot ("a person please", "that did not help"):
  // the question is the message before it
  const REACTIONS = new Set(["asked_for_human", "not_helped"]);
  const learn = { ticketId: null, suggestion: null, gen: 0, timer: null };

  function loadLearnDone() {
    try {
      S.learnDone = new Set(JSON.parse(localStorage.getItem(LEARN_KEY) || "[]"));
    } catch (_) {
      S.learnDone = new Set();
    }
  }

  function markLearnDone(ticketId) {
    S.learnDone.delete(ticketId);
    S.learnDone.add(ticketId);
    const keep = [...S.learnDone].slice(-LEARN_KEEP);
    S.learnDone = new Set(keep);
    try { localStorage.setItem(LEARN_KEY, JSON.stringify(keep)); } catch (_) { /* in memory is enough */ }
  }

  /** On a ticket the bot handed off, once an agent has replied to the customer: {question, answer}, the
      customer's last question before the handoff and the newest reply (mine if I wrote one). Null when
      there is nothing to offer, or it was saved (by anyone: the history says so) or dismissed here. */
  function learnOffer(cur) {
    if (!cur || !cur.loaded || !cur.history || S.learnDone.has(cur.id)) return null;
    const lines = cur.history.filter((h) => h.ticket_id === cur.id);
    if (lines.some((h) => h.kind === "faq.learned")) return null;
    const handoff = lines.filter((h) => h.kind === "handoff" && h.author === "bot").pop();
    if (!handoff) return null;
    const at = Date.parse(handoff.at);
    const msgs = [...cur.messages.values()].filter((m) => !m.internal).sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
    const asked = msgs.filter((m) => m.author === "customer" && Date.parse(m.created_at) <= at);
    if (REACTIONS.has((handoff.data || {}).reason)) asked.pop();
    const question = asked.pop();
    const replies = msgs.filter((m) => m.author === "agent" && Date.parse(m.created_at) >= at);
    if (!question || !replies.length) return null;
    const reply = replies.filter((m) => m.agent_id === S.me.id).pop() || replies.pop();
    return { question: question.body, answer: reply.body };
  }

  function renderLearn() {
    const cur = S.current;
    if (!cur || !cur.refs) return;
    const bar = cur.refs.learn;
    if (!learnOffer(cur)) {
      bar.hidden = true;
      bar.replaceChildren();
      return;
    }
    if (!bar.hidden) return;
    bar.replaceChildren(
      icon("learn"),
      el("span", { class: "learn-text" }, "The bot handed this question to a person. Save your answer so that it can answer it next time."),
      el("button", { type: "button", class: "btn small primary", onclick: openLearn }, "Save to FAQ"),
      el("button", {
        type: "button", class: "btn ghost small icon-only", title: "Dismiss",
        "aria-label": "Dismiss: do not offer to save this ticket to the FAQ", onclick: dismissLearn,
      }, "×"));
    bar.hidden = false;
    announce("You can save your answer to the FAQ.");
  }

  function dismissLearn() {
    if (!S.current) return;
    markLearnDone(S.current.id);
    renderLearn();
    if (S.current.refs) S.current.refs.box.focus();
  }

  function learnKind() {
    const checked = $("learn-form").querySelector("input[name=learn-kind]:checked");
    return checked ? checked.value : "new";
  }

  function setLearnKind(kind) {
    for (const input of $("learn-form").querySelectorAll("input[name=learn-kind]")) input.checked = input.value === kind;
    $("learn-answer-field").hidden = kind !== "new";
  }

  function openLearn() {
    const cur = S.current;
    const offer = learnOffer(cur);
    if (!offer) return;
    learn.ticketId = cur.id;
    learn.suggestion = null;
    $("learn-question").value = offer.question;
    $("learn-answer").value = offer.answer;
    $("learn-error").hidden = true;
    $("learn-save").disabled = false;
    setLearnKind("new");
    showSuggestion(null, "Looking for a similar FAQ entry…");
    $("learn").showModal();
    $("learn-question").focus();
    suggestEntry(true);
  }

  /** Ask the bot which entry the question is closest to: the entry it could become a phrasing of. */
  async function suggestEntry(first) {
    const gen = ++learn.gen;
    const text = $("learn-question").value.trim();
    if (!text) {
      showSuggestion(null, "");
      return;
    }
    let match = null;
    try {
      match = await api("POST", "/api/bot/ask", { text });
    } catch (e) {
      if (gen === learn.gen) showSuggestion(null, "Could not look for a similar entry: " + e.message);
      return;
    }
    if (gen !== learn.gen || !$("learn").open) return;
    const weak = !match || !match.answer || !(Number(match.confidence) >= SUGGEST_MIN_CONFIDENCE);
    if (weak || match.entry_id === null || match.entry_id === undefined) {
      showSuggestion(null, "No FAQ entry is close to this question: save it as a new entry.");
      return;
    }
    showSuggestion(match, "");
    // the same answer as an entry's: a phrasing of that entry is what the agent means
    if (first && match.answer.trim() === $("learn-answer").value.trim()) setLearnKind("phrasing");
  }

  function showSuggestion(match, note) {
    learn.suggestion = match;
    $("learn-opt-phrasing").hidden = !match;
    $("learn-entry-answer").hidden = !match;
    $("learn-suggest").textContent = note;
    if (!match) {
      if (learnKind() === "phrasing") setLearnKind("new");
      $("learn-entry-answer").textContent = "";
      return;
    }
    const pct = Math.round((Number(match.confidence) || 0) * 100);
    $("learn-entry-name").textContent = "A new phrasing of FAQ entry #" + match.entry_id + " (the bot's best match, " + pct + "% sure)";
    const answer = String(match.answer);
    $("learn-entry-answer").textContent = answer.length > EXCERPT_CHARS ? answer.slice(0, EXCERPT_CHARS - 1) + "…" : answer;
  }

  function learnError(text) {
    const box = $("learn-error");
    box.textContent = text;
    box.hidden = !text;
  }

  async function saveLearn(e) {
    e.preventDefault();
    const question = $("learn-question").value.trim();
    const answer = $("learn-answer").value.trim();
    const kind = learnKind();
    if (!question) {
      learnError("Write the customer's question.");
      $("learn-question").focus();
      return;
    }
    const body = { question, ticket_id: learn.ticketId };
    if (kind === "phrasing" && learn.suggestion) body.entry_id = learn.suggestion.entry_id;
    else if (answer) body.answer = answer;
    else {
      learnError("Write the answer the bot should give.");
      $("learn-answer").focus();
      return;
    }
    const save = $("learn-save");
    save.disabled = true;
    learnError("");
    try {
      const r = await api("POST", "/api/faq/learn", body);
      const id = r.entry.id;
      markLearnDone(body.ticket_id);
      $("learn").close();
      if (S.current && S.current.refs) S.current.refs.box.focus();
      toast(r.created ? "Saved to the FAQ as entry #" + id + "."
        : r.added ? "Saved to the FAQ: a new phrasing of entry #" + id + "."
          : "FAQ entry #" + id + " has this question already.");
      renderLearn();
      refreshHistorySoon();
    } catch (err) {
      if (err.status === 401) return showLogin("Your session has ended. Please sign in again.");
      learnError("Not saved: " + err.message);
    } finally {
      save.disabled = false;
    }
  }

  function initLearn() {
    loadLearnDone();
    const dialog = $("learn");
    const form = $("learn-form");
    form.addEventListener("submit", saveLearn);
    form.addEventListener("change", (e) => {
      if (e.target.name === "learn-kind") setLearnKind(e.target.value);
    });
    form.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        form.requestSubmit();
      }
    });
    $("learn-question").addEventListener("input", () => {
      clearTimeout(learn.timer);
      learn.timer = setTimeout(() => suggestEntry(false), SUGGEST_DELAY_MS);
    });
    for (const b of dialog.querySelectorAll("[data-close]")) b.addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => {
      clearTimeout(learn.timer);
      learn.gen += 1;
      const r = S.current && S.current.refs;
      if (r && !r.learn.hidden) r.learn.querySelector("button").focus();
    });
  }

  /* ------------------------------------------------------------------ agents and queues */

  async function loadAgents() {
    try {
      const data = await api("GET", "/api/agents");
      S.agents = new Map((data.items || []).map((a) => [a.id, a]));
    } catch (e) {
      if (e.status === 401) return showLogin("Your session has ended. Please sign in again.");
    }
    if (S.current) {
      updateAssigneeOptions();
      renderThread(false, true);
    }
  }

  async function loadQueues() {
    try {
      const data = await api("GET", "/api/queues");
      S.queues = (data.items || []).map((q) => q.name);
    } catch (_) { S.queues = []; }
    if (S.current) updateQueueOptions();
  }

  /* ------------------------------------------------------------------ keyboard */

  function onKey(e) {
    if (!S.me || e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
    if ($("help").open || $("learn").open) return; // a dialog handles Esc itself
    if (e.key === "Escape") {
      const r = S.current && S.current.refs;
      if (r && !r.picker.hidden) {
        togglePicker(false);
        r.cannedBtn.focus();
        e.preventDefault();
      } else if (r && !r.mergePop.hidden) {
        toggleMerge(false);
        r.mergeBtn.focus();
        e.preventDefault();
      }
      return;
    }
    if (isTypingTarget(e.target)) return;
    switch (e.key) {
      case "j":
        e.preventDefault();
        step(1);
        break;
      case "k":
        e.preventDefault();
        step(-1);
        break;
      case "r":
        if (!S.current) return;
        e.preventDefault();
        setMode("reply");
        S.current.refs.box.focus();
        break;
      case "n":
        if (!S.current) return;
        e.preventDefault();
        setMode("note");
        S.current.refs.box.focus();
        break;
      case "e":
        if (!S.current) return;
        e.preventDefault();
        resolveTicket();
        break;
      case "?":
        e.preventDefault();
        openHelp();
        break;
      default:
    }
  }

  function openHelp() {
    const d = $("help");
    if (!d.open) d.showModal();
  }

  /* ------------------------------------------------------------------ login, start, logout */

  function showLogin(message, prefill) {
    if (S.sock) {
      S.sock.close();
      S.sock = null;
    }
    session.clear();
    S.me = null;
    S.current = null;
    if ($("learn").open) $("learn").close();
    $("app").hidden = true;
    $("ticket-pane").replaceChildren();
    $("customer-pane").replaceChildren();
    $("lists").replaceChildren();
    document.title = TITLE;
    const root = $("login-root");
    const email = el("input", { id: "login-email", name: "email", type: "email", autocomplete: "username", required: true, spellcheck: "false", value: prefill || undefined });
    const password = el("input", { id: "login-password", name: "password", type: "password", autocomplete: "current-password", required: true });
    const code = el("input", { id: "login-code", name: "code", inputmode: "numeric", autocomplete: "one-time-code", maxlength: "8", placeholder: "only with two-step sign-in" });
    const error = el("p", { id: "login-error", class: "form-error", role: "alert", hidden: !message }, message || "");
    const submit = el("button", { type: "submit", class: "btn primary block" }, "Sign in");
    const form = el("form", { class: "login-form", novalidate: true, "aria-describedby": "login-error" },
      el("div", { class: "field" }, el("label", { for: "login-email" }, "Email"), email),
      el("div", { class: "field" }, el("label", { for: "login-password" }, "Password"), password),
      el("div", { class: "field" }, el("label", { for: "login-code" }, "Code from your authenticator app"), code),
      error, submit);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      unlockAudio();
      if (!email.value.trim() || !password.value) {
        error.textContent = "Enter your email and password.";
        error.hidden = false;
        (email.value.trim() ? password : email).focus();
        return;
      }
      const who = email.value.trim();
      const secret = password.value;
      const oneTime = code.value;
      // the form leaves the page at once (no password field lingers while we wait); it comes back with
      // the error if the sign-in fails
      form.replaceChildren(el("p", { class: "muted", role: "status" }, "Signing in as " + who + "…"));
      try {
        await SB.login(who, secret, oneTime);
        await startApp();
      } catch (err) {
        showLogin(SB.loginError(err, null, !!oneTime.trim()), who);
      }
    });
    root.replaceChildren(el("main", { class: "login-card", "aria-labelledby": "login-title" },
      el("div", { class: "login-brand" }, icon("chat", "brand-mark"), el("span", {}, "Switchboard")),
      el("h1", { id: "login-title" }, "Sign in to the agent console"),
      el("p", { class: "muted" }, "Use the email and password your administrator gave you."),
      form));
    root.hidden = false;
    (prefill ? password : email).focus();
  }

  async function startApp() {
    const root = $("login-root");
    root.hidden = true;
    root.replaceChildren(); // no password field stays in the page
    $("app").hidden = false;
    const stored = session.agent || {};
    S.me = { id: stored.id, name: stored.name || "", email: stored.email, role: stored.role, queues: [] };
    try {
      S.me = Object.assign(S.me, await api("GET", "/api/me"));
    } catch (e) {
      if (e.status === 401 || !session.token) return showLogin("Your session has ended. Please sign in again.");
      toast("Could not load your profile: " + e.message, "error");
    }
    S.presence = S.me.presence || "away";
    const want = wantedPresence();
    if (want) S.presence = want;
    const adminLink = $("admin-link");
    if (S.me.role === "admin" && !adminLink) {
      $("me").before(el("a", { id: "admin-link", class: "top-link", href: "/admin" }, "Automation & settings"));
    } else if (S.me.role !== "admin" && adminLink) {
      adminLink.remove();
    }
    $("me").replaceChildren(el("span", { class: "avatar small av-agent", "aria-hidden": "true" }, initials(S.me.name)),
      el("span", { class: "me-name" }, S.me.name), el("span", { class: "sr-only" }, ", signed in as " + (S.me.email || "")));
    renderPresence();
    buildEmptyPane();
    renderLists();
    S.sock = SB.socket("/ws/agent", { onFrame, onState, onOpen });
    await Promise.all([loadLists(), loadAgents(), loadQueues(), loadCanned()]).catch((e) => report(e, "Could not load"));
    route();
  }

  async function logout() {
    leaveTicket();
    localStorage.removeItem(PRESENCE_KEY);
    if (S.sock) {
      S.sock.send({ type: "status", status: "away" });
      await new Promise((r) => setTimeout(r, 50));
      S.sock.close();
      S.sock = null;
    }
    await SB.logout();
    history.replaceState(null, "", location.pathname);
    showLogin();
    S.tickets = new Map();
    S.unread.clear();
    S.viewers.clear();
    S.typing.clear();
    S.drafts.clear();
    buildEmptyPane();
  }

  /* ------------------------------------------------------------------ timers and wiring */

  function tick() {
    const now = Date.now();
    for (const node of document.querySelectorAll("[data-since]")) {
      node.textContent = SB.duration(waitSeconds(node.dataset.since));
    }
    for (const node of document.querySelectorAll("[data-ago]")) node.textContent = SB.ago(node.dataset.ago);
    renderSla();
    let listDirty = false;
    for (const [tid, until] of S.typing) {
      if (until <= now) {
        S.typing.delete(tid);
        listDirty = true;
      }
    }
    for (const [tid, m] of S.viewers) {
      let changed = false;
      for (const [aid, v] of m) {
        if (now - v.at > VIEWER_EXPIRE_MS) {
          m.delete(aid);
          changed = true;
        }
      }
      if (!m.size) S.viewers.delete(tid);
      if (changed && S.current && S.current.id === tid) renderCollision();
    }
    if (S.current) {
      renderTyping();
      tickViewing();
    }
    if (listDirty) renderLists();
  }

  function init() {
    document.addEventListener("keydown", onKey);
    document.addEventListener("pointerdown", unlockAudio, { once: true });
    document.addEventListener("keydown", unlockAudio, { once: true });
    window.addEventListener("hashchange", route);
    window.addEventListener("pagehide", () => { if (S.current) sendViewing("left"); });
    $("presence").addEventListener("change", (e) => {
      if (e.target.name === "presence") setPresence(e.target.value);
    });
    $("logout-btn").addEventListener("click", logout);
    $("help-btn").addEventListener("click", openHelp);
    const help = $("help");
    help.addEventListener("click", (e) => {
      if (e.target === help || e.target.closest("[data-close]")) help.close();
    });
    initLearn();
    document.addEventListener("click", (e) => {
      const r = S.current && S.current.refs;
      if (r && !r.picker.hidden && !r.picker.contains(e.target) && !r.cannedBtn.contains(e.target)) togglePicker(false);
      if (r && !r.mergePop.hidden && !r.mergePop.contains(e.target) && !r.mergeBtn.contains(e.target)) toggleMerge(false);
    });
    setInterval(tick, 1000);
    if (session.token) startApp().catch((e) => report(e, "Could not start"));
    else showLogin();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
