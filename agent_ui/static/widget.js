/*!
 * Switchboard live-chat widget.
 * SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * Embed with:
 *   <script src="https://support.example.com/widget.js" defer data-title="Chat with us"></script>
 *
 * For a signed-in user of the site, add data-user-id="ID" and data-user-hash="HMAC" (hex HMAC-SHA256
 * of the id with the site's widget secret, computed on the site's server): that user finds their
 * conversation on every device. When the signed-in user changes (or signs out), this browser forgets
 * the previous user's conversation.
 *
 * Plain ES2020, no dependencies, no network access other than the
 * websocket to the server the script itself was loaded from.
 *
 * Everything the server sends is rendered with textContent / text nodes,
 * never as HTML.
 */
(() => {
  "use strict";

  if (window.__switchboardWidgetLoaded) return;
  window.__switchboardWidgetLoaded = true;

  // ---------------------------------------------------------------------------
  // Configuration, captured synchronously while the script is being executed.
  // ---------------------------------------------------------------------------
  const SCRIPT = document.currentScript || findOwnScript();

  function findOwnScript() {
    const scripts = document.querySelectorAll("script[src]");
    for (let i = scripts.length - 1; i >= 0; i--) {
      if (/\/widget\.js(?:[?#]|$)/.test(scripts[i].src)) return scripts[i];
    }
    return null;
  }

  let SCRIPT_URL;
  try {
    SCRIPT_URL = new URL(SCRIPT && SCRIPT.src ? SCRIPT.src : "/widget.js", document.baseURI);
  } catch {
    SCRIPT_URL = new URL("/widget.js", window.location.href);
  }
  const ORIGIN = SCRIPT_URL.origin;
  const WS_URL = (() => {
    // Resolved relative to the script so a server mounted under a path prefix works too;
    // for the usual "/widget.js" this is simply <origin>/ws/chat.
    const u = new URL("ws/chat", SCRIPT_URL);
    u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
    u.search = "";
    u.hash = "";
    return u.href;
  })();
  const TITLE = ((SCRIPT && SCRIPT.getAttribute("data-title")) || "").trim() || "Chat with us";
  const USER_ID = ((SCRIPT && SCRIPT.getAttribute("data-user-id")) || "").trim();
  const USER_HASH = ((SCRIPT && SCRIPT.getAttribute("data-user-hash")) || "").trim();

  const BACKOFF_BASE_MS = 500;
  const BACKOFF_FACTOR = 2;
  const BACKOFF_CAP_MS = 30000;
  const STABLE_AFTER_MS = 10000; // a connection open this long resets the backoff
  const WELCOME_TIMEOUT_MS = 15000;
  const TYPING_EVERY_MS = 3000;
  const MAX_MESSAGE_BYTES = 64 * 1024;
  const NOTICE_MS = 6000;
  const CACHE_MAX_ITEMS = 500;
  const CACHE_MAX_CHARS = 400000;
  const KINDS = new Set(["customer", "bot", "agent", "system"]);
  const STATUS_TEXT = {
    connecting: "connecting\u2026",
    reconnecting: "reconnecting\u2026",
    connected: "connected",
  };

  // ---------------------------------------------------------------------------
  // Storage: localStorage, namespaced per server origin, with an in-memory
  // fallback (private mode, sandboxed iframes, quota errors).
  // ---------------------------------------------------------------------------
  const PREFIX = "switchboard." + ORIGIN + ".";
  const memory = new Map();
  let ls = null;
  try {
    ls = window.localStorage;
    const probe = PREFIX + "probe";
    ls.setItem(probe, "1");
    ls.removeItem(probe);
  } catch {
    ls = null;
  }

  const store = {
    get(key) {
      if (ls) {
        try {
          const v = ls.getItem(PREFIX + key);
          if (v !== null) return v;
        } catch {
          /* fall through */
        }
      }
      return memory.has(key) ? memory.get(key) : null;
    },
    set(key, value) {
      memory.set(key, value);
      if (!ls) return false;
      try {
        ls.setItem(PREFIX + key, value);
        return true;
      } catch {
        try {
          ls.removeItem(PREFIX + key); // never leave a stale value behind
        } catch {
          /* ignore */
        }
        return false;
      }
    },
    remove(key) {
      memory.delete(key);
      if (!ls) return;
      try {
        ls.removeItem(PREFIX + key);
      } catch {
        /* ignore */
      }
    },
    getJSON(key, fallback) {
      const raw = store.get(key);
      if (raw == null) return fallback;
      try {
        return JSON.parse(raw);
      } catch {
        return fallback;
      }
    },
    setJSON(key, value) {
      return store.set(key, JSON.stringify(value));
    },
  };

  // ---------------------------------------------------------------------------
  // Helpers
  // ---------------------------------------------------------------------------
  function uuid() {
    const c = window.crypto;
    if (c && typeof c.randomUUID === "function") {
      try {
        return c.randomUUID();
      } catch {
        /* insecure context: fall back */
      }
    }
    const b = new Uint8Array(16);
    if (c && typeof c.getRandomValues === "function") c.getRandomValues(b);
    else for (let i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const hex = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return (
      hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" +
      hex.slice(16, 20) + "-" + hex.slice(20)
    );
  }

  function utf8Length(s) {
    if (typeof TextEncoder === "function") return new TextEncoder().encode(s).length;
    return unescape(encodeURIComponent(s)).length;
  }

  function toSeq(v) {
    if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return v;
    if (typeof v === "string" && /^\d{1,15}$/.test(v)) return Number(v);
    return null;
  }

  function asText(v) {
    if (typeof v === "string") return v;
    return v == null ? "" : String(v);
  }

  function formatTime(at) {
    if (typeof at !== "string" && typeof at !== "number") return null;
    const d = new Date(at);
    if (Number.isNaN(d.getTime())) return null;
    let label;
    try {
      label = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    } catch {
      label = d.toTimeString().slice(0, 5);
    }
    return { iso: d.toISOString(), label };
  }

  /** Tiny DOM builder. Attribute values and children are never parsed as HTML. */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === false || v == null) continue;
        if (k === "text") el.textContent = v;
        else el.setAttribute(k, v === true ? "" : String(v));
      }
    }
    for (const c of children) if (c != null) el.append(c); // strings become Text nodes
    return el;
  }

  const SVG_NS = "http://www.w3.org/2000/svg";
  function icon(cls, paths) {
    const svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("class", cls);
    for (const d of paths) {
      const p = document.createElementNS(SVG_NS, "path");
      p.setAttribute("d", d);
      svg.append(p);
    }
    return svg;
  }

  // ---------------------------------------------------------------------------
  // Styles (applied inside the shadow root only)
  // ---------------------------------------------------------------------------
  const CSS = `
:host {
  all: initial;
  display: block;
  position: fixed;
  right: 0;
  bottom: 0;
  width: 0;
  height: 0;
  z-index: 2147483000;
  --sb-accent: #1d4ed8;
  --sb-accent-text: #ffffff;
  --sb-bg: #f5f6f8;
  --sb-surface: #ffffff;
  --sb-text: #1f2933;
  --sb-muted: #5b6472;
  --sb-border: #dde1e7;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--sb-text);
}
*, *::before, *::after { box-sizing: border-box; }
[hidden] { display: none !important; }
button, input, textarea { font: inherit; color: inherit; }
.vh {
  position: absolute !important; width: 1px; height: 1px; padding: 0; margin: -1px;
  overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0;
}
.launcher {
  position: fixed; right: 20px; bottom: 20px; width: 56px; height: 56px; padding: 0;
  border: 0; border-radius: 50%; cursor: pointer;
  display: flex; align-items: center; justify-content: center;
  background: var(--sb-accent); color: var(--sb-accent-text);
  box-shadow: 0 6px 18px rgba(15, 23, 42, .28);
}
.launcher:hover { filter: brightness(1.08); }
.launcher:focus-visible, .close:focus-visible, .send:focus-visible {
  outline: 3px solid #f59e0b; outline-offset: 2px;
}
.launcher svg { width: 26px; height: 26px; }
.i-fill { fill: currentColor; }
.i-stroke { fill: none; stroke: currentColor; stroke-width: 2.2; stroke-linecap: round; }
.launcher .i-close { display: none; }
.root[data-open] .launcher .i-chat { display: none; }
.root[data-open] .launcher .i-close { display: block; }
.badge {
  position: absolute; top: -3px; right: -3px; min-width: 20px; height: 20px; padding: 0 5px;
  border-radius: 10px; background: #dc2626; color: #fff; font-size: 12px; font-weight: 700;
  line-height: 20px; text-align: center;
}
.panel {
  position: fixed; right: 20px; bottom: 88px;
  width: min(380px, calc(100vw - 24px)); height: min(600px, calc(100vh - 108px));
  display: flex; flex-direction: column; overflow: hidden;
  background: var(--sb-surface); border-radius: 14px;
  box-shadow: 0 14px 44px rgba(15, 23, 42, .25), 0 0 0 1px rgba(15, 23, 42, .06);
}
@media (prefers-reduced-motion: no-preference) {
  .panel { animation: sb-in .16s ease-out; }
  @keyframes sb-in { from { opacity: 0; transform: translateY(8px); } to { opacity: 1; transform: none; } }
}
@media (max-width: 480px) {
  .panel { inset: 0; width: 100%; height: 100%; border-radius: 0; }
  .root[data-open] .launcher { display: none; }
}
.head {
  display: flex; align-items: center; gap: 8px; padding: 12px 10px 12px 16px;
  background: var(--sb-accent); color: var(--sb-accent-text);
}
.head-text { min-width: 0; flex: 1; }
.title { margin: 0; font-size: 16px; font-weight: 650; line-height: 1.25; overflow-wrap: anywhere; }
.status { margin: 2px 0 0; font-size: 12px; opacity: .92; display: flex; align-items: center; gap: 6px; }
.status::before {
  content: ""; width: 8px; height: 8px; border-radius: 50%; background: #fbbf24; flex: none;
}
.status[data-state="connected"]::before { background: #4ade80; }
.close {
  flex: none; width: 34px; height: 34px; padding: 0; border: 0; border-radius: 8px;
  background: transparent; color: inherit; cursor: pointer;
  display: flex; align-items: center; justify-content: center;
}
.close:hover { background: rgba(255, 255, 255, .16); }
.close svg { width: 20px; height: 20px; }
.notice {
  padding: 8px 14px; font-size: 13px; background: #fff7e6; color: #7a4b00;
  border-bottom: 1px solid #f3d08a; white-space: pre-wrap; overflow-wrap: anywhere;
}
.log {
  flex: 1; min-height: 0; overflow-y: auto; overscroll-behavior: contain;
  display: flex; flex-direction: column; gap: 10px; padding: 14px 12px;
  background: var(--sb-bg);
}
.log:focus-visible { outline: 2px solid var(--sb-accent); outline-offset: -2px; }
.log:empty::before {
  content: "Send us a message to start the conversation.";
  margin: auto; color: var(--sb-muted); font-size: 13px; text-align: center;
}
.row { display: flex; flex-direction: column; align-items: flex-start; max-width: 85%; }
.row.from-customer { align-self: flex-end; align-items: flex-end; }
.row.from-system { align-self: center; align-items: center; max-width: 95%; }
.who { margin: 0 0 2px 4px; font-size: 12px; font-weight: 600; color: var(--sb-muted); }
.msg {
  padding: 8px 12px; border-radius: 14px; border: 1px solid var(--sb-border);
  background: var(--sb-surface); color: var(--sb-text);
  white-space: pre-wrap; overflow-wrap: anywhere;
}
.from-customer .msg {
  background: var(--sb-accent); color: var(--sb-accent-text); border-color: transparent;
  border-bottom-right-radius: 4px;
}
.from-bot .msg { background: #eef2ff; border-color: #c7d2fe; border-bottom-left-radius: 4px; }
.from-agent .msg { background: #ffffff; border-color: #cbd5e1; border-bottom-left-radius: 4px; }
.from-system .msg {
  padding: 2px 8px; border: 0; background: transparent; color: var(--sb-muted);
  font-size: 12px; font-style: italic; text-align: center;
}
.msg[data-state="pending"] { opacity: .72; }
.msg[data-state="failed"] { background: #fee2e2; color: #991b1b; border-color: #fca5a5; }
.meta { margin: 2px 4px 0; font-size: 11px; color: var(--sb-muted); }
.meta:empty { display: none; }
.compose {
  display: flex; flex-direction: column; gap: 8px; padding: 10px;
  border-top: 1px solid var(--sb-border); background: var(--sb-surface);
}
.name-row { display: flex; align-items: center; gap: 8px; font-size: 12px; color: var(--sb-muted); }
.name-row input {
  flex: 1; min-width: 0; height: 30px; padding: 4px 8px;
  border: 1px solid #cbd5e1; border-radius: 8px; background: #fff;
}
.compose-row { display: flex; align-items: flex-end; gap: 8px; }
textarea {
  flex: 1; min-width: 0; min-height: 40px; max-height: 140px; margin: 0; padding: 9px 10px;
  resize: none; field-sizing: content; line-height: 1.4;
  border: 1px solid #cbd5e1; border-radius: 10px; background: #fff;
}
textarea:focus, .name-row input:focus { outline: 2px solid var(--sb-accent); outline-offset: -1px; }
.send {
  flex: none; height: 40px; padding: 0 16px; border: 0; border-radius: 10px; cursor: pointer;
  background: var(--sb-accent); color: var(--sb-accent-text); font-weight: 600;
}
.send:hover { filter: brightness(1.08); }
`;

  function applyStyles(root) {
    // Constructable stylesheets are CSSOM, so they also work under a CSP without
    // style-src 'unsafe-inline'. Fall back to a <style> element in the shadow root.
    try {
      if ("adoptedStyleSheets" in root && typeof CSSStyleSheet.prototype.replaceSync === "function") {
        const sheet = new CSSStyleSheet();
        sheet.replaceSync(CSS);
        root.adoptedStyleSheets = [sheet];
        return;
      }
    } catch {
      /* fall back */
    }
    const style = document.createElement("style");
    style.textContent = CSS;
    root.append(style);
  }

  // ---------------------------------------------------------------------------
  // State
  // ---------------------------------------------------------------------------
  if ((store.get("user_id") || "") !== USER_ID) {
    // Another signed-in user than the one this browser last chatted as (or none now): their
    // conversation, transcript and unsent messages are not this user's to see.
    for (const key of ["visitor_token", "transcript", "last_seq", "outbox", "name"]) store.remove(key);
    if (USER_ID) store.set("user_id", USER_ID);
    else store.remove("user_id");
  }
  let visitorToken = store.get("visitor_token") || null;
  let conversationId = null;
  let lastSeq = 0;

  /** seq -> {seq, from, text, at, author_name}, persisted as the transcript cache. */
  const cacheItems = new Map();
  {
    const cached = store.getJSON("transcript", null);
    if (visitorToken && cached && cached.token === visitorToken && Array.isArray(cached.items)) {
      for (const it of cached.items) {
        const seq = it && toSeq(it.seq);
        if (seq == null) continue;
        cacheItems.set(seq, {
          seq,
          from: KINDS.has(it.from) ? it.from : "system",
          text: asText(it.text),
          at: it.at,
          author_name: typeof it.author_name === "string" ? it.author_name : undefined,
        });
      }
      lastSeq = toSeq(store.get("last_seq")) || 0;
    }
    // No (matching) transcript cache: last_seq stays 0 so the server replays everything
    // and nothing is silently missing from the rendered transcript.
  }

  /** Unacked outgoing messages: [{client_id, text, at}] in send order. */
  function readStoredOutbox() {
    const v = store.getJSON("outbox", []);
    if (!Array.isArray(v)) return [];
    return v.filter((e) => e && typeof e.client_id === "string" && typeof e.text === "string");
  }
  let outbox = readStoredOutbox();

  // Read-modify-write so that several tabs of the same site do not drop each other's entries.
  function storeOutboxAdd(entry) {
    const list = readStoredOutbox();
    if (!list.some((e) => e.client_id === entry.client_id)) list.push(entry);
    store.setJSON("outbox", list);
  }
  function outboxRemove(clientId) {
    outbox = outbox.filter((e) => e.client_id !== clientId);
    const list = readStoredOutbox().filter((e) => e.client_id !== clientId);
    if (list.length) store.setJSON("outbox", list);
    else store.remove("outbox");
  }

  let ws = null;
  let ready = false; // socket open AND welcome received
  let wanted = false; // the widget should hold a connection
  let attempt = 0;
  let reconnectTimer = null;
  let stableTimer = null;
  let welcomeTimer = null;
  let sentToken = null; // visitor_token sent in the current connection's hello
  let helloName = ""; // name sent in the current connection's hello
  let helloSentOn = null; // socket that has sent its hello
  let lastTypingAt = 0;
  let status = "connecting";

  let ui = null;
  let isOpen = false;
  let unread = 0;
  let noticeTimer = null;
  let saveTimer = null;
  const rowsBySeq = new Map(); // seq -> row element
  const pendingRows = new Map(); // client_id -> row element (not yet acked)

  // ---------------------------------------------------------------------------
  // Persistence of transcript + last_seq (written together so they stay consistent)
  // ---------------------------------------------------------------------------
  function saveNow() {
    clearTimeout(saveTimer);
    saveTimer = null;
    if (!visitorToken) return;
    let items = Array.from(cacheItems.values()).sort((a, b) => a.seq - b.seq);
    if (items.length > CACHE_MAX_ITEMS) items = items.slice(-CACHE_MAX_ITEMS);
    let chars = 0;
    let start = items.length;
    while (start > 0 && chars + items[start - 1].text.length <= CACHE_MAX_CHARS) {
      chars += items[start - 1].text.length;
      start--;
    }
    items = items.slice(start);
    while (!store.setJSON("transcript", { token: visitorToken, items }) && items.length) {
      items = items.slice(Math.ceil(items.length / 2)); // quota: keep the newest half
    }
    store.set("last_seq", String(lastSeq));
  }

  function saveSoon() {
    if (saveTimer == null) saveTimer = setTimeout(saveNow, 150);
  }

  function cacheAdd(seq, from, text, at, authorName) {
    cacheItems.set(seq, { seq, from, text, at, author_name: authorName || undefined });
  }

  function setLastSeq(seq) {
    if (seq > lastSeq) lastSeq = seq;
  }

  // ---------------------------------------------------------------------------
  // UI
  // ---------------------------------------------------------------------------
  function init() {
    if (ui) return;
    const host = document.createElement("switchboard-widget");
    const shadow = host.attachShadow({ mode: "open" });
    applyStyles(shadow);

    const statusEl = h("p", { class: "status", "data-sb": "status", "data-state": "connecting", role: "status" });
    const closeBtn = h(
      "button",
      { class: "close", type: "button", "aria-label": "Close chat", "data-sb": "close" },
      icon("i-stroke", ["M6 6l12 12M18 6L6 18"]),
    );
    const notice = h("div", { class: "notice", "data-sb": "notice", role: "status", hidden: true });
    const log = h("div", {
      class: "log",
      "data-sb": "log",
      role: "log",
      "aria-live": "polite",
      "aria-relevant": "additions",
      "aria-label": "Chat transcript",
      tabindex: "0",
    });
    const nameInput = h("input", {
      id: "sb-name",
      type: "text",
      "data-sb": "name",
      autocomplete: "name",
      maxlength: "100",
      placeholder: "So we know what to call you",
    });
    nameInput.value = store.get("name") || "";
    const nameRow = h("div", { class: "name-row" }, h("label", { for: "sb-name", text: "Your name (optional)" }), nameInput);
    const input = h("textarea", {
      id: "sb-input",
      "data-sb": "input",
      rows: "1",
      placeholder: "Type a message\u2026",
      autocomplete: "off",
    });
    const sendBtn = h("button", { class: "send", type: "submit", "data-sb": "send", text: "Send" });
    const form = h(
      "form",
      { class: "compose", novalidate: true },
      nameRow,
      h("label", { class: "vh", for: "sb-input", text: "Type your message" }),
      h("div", { class: "compose-row" }, input, sendBtn),
    );
    const panel = h(
      "section",
      { class: "panel", id: "sb-panel", role: "dialog", "aria-labelledby": "sb-title", hidden: true },
      h("header", { class: "head" }, h("div", { class: "head-text" }, h("h2", { class: "title", id: "sb-title", text: TITLE }), statusEl), closeBtn),
      notice,
      log,
      form,
    );
    const badge = h("span", { class: "badge", "aria-hidden": "true", hidden: true });
    const launcher = h(
      "button",
      {
        class: "launcher",
        type: "button",
        "data-sb": "launcher",
        "aria-label": "Open chat",
        "aria-expanded": "false",
        "aria-controls": "sb-panel",
      },
      icon("i-fill i-chat", ["M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H10l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z"]),
      icon("i-stroke i-close", ["M6 6l12 12M18 6L6 18"]),
      badge,
    );
    const root = h("div", { class: "root" }, panel, launcher);
    shadow.append(root);

    ui = { host, shadow, root, panel, status: statusEl, notice, log, nameRow, nameInput, input, sendBtn, form, launcher, badge };

    launcher.addEventListener("click", () => (isOpen ? close() : open()));
    closeBtn.addEventListener("click", () => close());
    panel.addEventListener("keydown", (e) => {
      if (e.key === "Escape") {
        e.preventDefault();
        close();
      }
    });
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      submitFromInput();
    });
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
        e.preventDefault();
        submitFromInput();
      }
    });
    input.addEventListener("input", () => {
      if (!ready || !input.value.trim()) return;
      const now = Date.now();
      if (now - lastTypingAt < TYPING_EVERY_MS) return;
      lastTypingAt = now;
      transmit({ type: "typing" });
    });

    (document.body || document.documentElement).append(host);

    // Restore the cached transcript, then the unacked outbox.
    for (const it of Array.from(cacheItems.values()).sort((a, b) => a.seq - b.seq)) {
      const row = buildRow(it.from, it.text, { seq: it.seq, at: it.at, author: it.author_name, state: it.from === "customer" ? "sent" : null });
      rowsBySeq.set(it.seq, row);
      log.append(row);
    }
    for (const entry of outbox) {
      const row = buildRow("customer", entry.text, { seq: null, at: entry.at, state: "pending" });
      row.sbClientId = entry.client_id;
      pendingRows.set(entry.client_id, row);
      log.append(row);
    }
    setStatus(status);
    updateNameRow();
  }

  function setStatus(s) {
    status = s;
    if (!ui) return;
    ui.status.textContent = STATUS_TEXT[s];
    ui.status.setAttribute("data-state", s);
  }

  function buildRow(from, text, opts) {
    const kind = KINDS.has(from) ? from : "system";
    const row = h("div", { class: "row from-" + kind });
    if (kind === "bot") row.append(h("div", { class: "who", text: "Bot" }));
    else if (kind === "agent") row.append(h("div", { class: "who", text: opts.author || "Agent" }));
    else if (kind === "customer") row.append(h("span", { class: "vh", text: "You:" }));
    const msg = h("div", {
      class: "msg",
      "data-sb": "msg",
      "data-from": kind,
      "data-seq": opts.seq == null ? "" : String(opts.seq),
    });
    if (opts.state) msg.setAttribute("data-state", opts.state);
    msg.textContent = text;
    const meta = h("div", { class: "meta", "aria-hidden": "true" });
    row.append(msg, meta);
    row.sbSeq = opts.seq == null ? null : opts.seq;
    row.sbMsg = msg;
    row.sbMeta = meta;
    row.sbAt = opts.at;
    row.sbText = text;
    renderMeta(row);
    return row;
  }

  function renderMeta(row) {
    const parts = [];
    const t = formatTime(row.sbAt);
    if (t) parts.push(h("time", { datetime: t.iso, text: t.label }));
    const state = row.sbMsg.getAttribute("data-state");
    if (state === "pending") parts.push("Sending\u2026");
    else if (state === "failed") parts.push("Not sent");
    const children = [];
    parts.forEach((p, i) => {
      if (i) children.push(" \u00b7 ");
      children.push(p);
    });
    row.sbMeta.replaceChildren(...children);
  }

  function setRowSent(row, seq, at) {
    row.sbSeq = seq;
    row.sbMsg.setAttribute("data-seq", seq == null ? "" : String(seq));
    row.sbMsg.setAttribute("data-state", "sent");
    if (at) row.sbAt = at;
    renderMeta(row);
  }

  /** Keep sequenced rows in seq order, pending (unsequenced) rows at the end. */
  function placeRow(row) {
    const log = ui.log;
    const seq = row.sbSeq;
    let before = null;
    if (seq != null) {
      for (let el = log.lastElementChild; el; el = el.previousElementSibling) {
        if (el === row) continue;
        if (el.sbSeq == null || el.sbSeq > seq) before = el;
        else break;
      }
    }
    if (row.parentNode === log && row.nextElementSibling === before) return; // already in place
    log.insertBefore(row, before);
  }

  function nearBottom() {
    const l = ui.log;
    return l.scrollHeight - l.scrollTop - l.clientHeight < 80;
  }

  function scrollToBottom() {
    ui.log.scrollTop = ui.log.scrollHeight;
  }

  function updateNameRow() {
    if (!ui) return;
    ui.nameRow.hidden = !!ui.log.querySelector('[data-from="customer"]');
  }

  function renderBadge() {
    if (!ui) return;
    const show = unread > 0 && !isOpen;
    ui.badge.hidden = !show;
    ui.badge.textContent = show ? (unread > 9 ? "9+" : String(unread)) : "";
    let label = isOpen ? "Minimize chat" : "Open chat";
    if (show) label += " (" + unread + " unread)";
    ui.launcher.setAttribute("aria-label", label);
  }

  function showNotice(text) {
    init();
    ui.notice.textContent = text;
    ui.notice.hidden = false;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => {
      ui.notice.hidden = true;
      ui.notice.textContent = "";
    }, NOTICE_MS);
  }

  function open() {
    init();
    if (!isOpen) {
      isOpen = true;
      ui.panel.hidden = false;
      ui.root.setAttribute("data-open", "");
      ui.launcher.setAttribute("aria-expanded", "true");
      unread = 0;
      renderBadge();
      scrollToBottom();
      try {
        ui.input.focus({ preventScroll: true });
      } catch {
        /* ignore */
      }
    }
    startConnection();
  }

  function close() {
    if (!ui || !isOpen) return;
    const hadFocus = ui.panel.contains(ui.shadow.activeElement);
    isOpen = false;
    ui.panel.hidden = true;
    ui.root.removeAttribute("data-open");
    ui.launcher.setAttribute("aria-expanded", "false");
    renderBadge();
    if (hadFocus) ui.launcher.focus();
  }

  function submitFromInput() {
    const value = ui.input.value;
    if (!value.trim()) return;
    if (send(value) != null) ui.input.value = "";
  }

  // ---------------------------------------------------------------------------
  // Sending
  // ---------------------------------------------------------------------------
  function transmit(frame) {
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    try {
      ws.send(JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  function transmitEntry(entry) {
    return transmit({ type: "message", text: entry.text, client_id: entry.client_id });
  }

  function send(text) {
    init();
    const body = asText(text).trim();
    if (!body) return null;
    if (utf8Length(body) > MAX_MESSAGE_BYTES) {
      showNotice("That message is too long (the limit is 64 KiB). Please shorten it.");
      return null;
    }

    // Optional name, only offered before the first message.
    let reidentify = false;
    if (!ui.nameRow.hidden) {
      const name = ui.nameInput.value.trim().slice(0, 100);
      if (name) store.set("name", name);
      else store.remove("name");
      // The name travels in "hello"; if this connection already said hello without it,
      // reconnect once (the message waits in the outbox and is sent after "welcome").
      if (name && name !== helloName && ws && helloSentOn === ws) reidentify = true;
    }

    const entry = { client_id: uuid(), text: body, at: new Date().toISOString() };
    outbox.push(entry);
    storeOutboxAdd(entry);

    const row = buildRow("customer", body, { seq: null, at: entry.at, state: "pending" });
    row.sbClientId = entry.client_id;
    pendingRows.set(entry.client_id, row);
    placeRow(row);
    updateNameRow();
    scrollToBottom();

    if (reidentify) restartConnection();
    else if (ready) transmitEntry(entry);
    startConnection();
    return entry.client_id;
  }

  // ---------------------------------------------------------------------------
  // Connection management
  // ---------------------------------------------------------------------------
  function isLive(sock) {
    return !!sock && (sock.readyState === WebSocket.CONNECTING || sock.readyState === WebSocket.OPEN);
  }

  function startConnection() {
    wanted = true;
    if (!isLive(ws) && reconnectTimer == null) connect();
  }

  function connect() {
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    if (isLive(ws)) return;
    let sock;
    try {
      sock = new WebSocket(WS_URL);
    } catch {
      ws = null;
      setStatus("reconnecting");
      scheduleReconnect();
      return;
    }
    ws = sock;
    ready = false;
    if (status !== "reconnecting") setStatus("connecting");

    sock.onopen = () => {
      if (ws !== sock) return;
      clearTimeout(stableTimer);
      stableTimer = setTimeout(() => {
        if (ws === sock) attempt = 0;
      }, STABLE_AFTER_MS);
      const hello = { type: "hello" };
      if (visitorToken) {
        hello.visitor_token = visitorToken;
        hello.last_seq = lastSeq;
      }
      const name = store.get("name") || "";
      if (name) hello.name = name;
      if (USER_ID && USER_HASH) {
        hello.user_id = USER_ID;
        hello.user_hash = USER_HASH;
      }
      helloName = name;
      sentToken = visitorToken;
      helloSentOn = sock;
      try {
        sock.send(JSON.stringify(hello));
      } catch {
        /* the close handler reconnects */
      }
      clearTimeout(welcomeTimer);
      welcomeTimer = setTimeout(() => {
        if (ws === sock && !ready) {
          try {
            sock.close(4000, "no welcome");
          } catch {
            /* ignore */
          }
        }
      }, WELCOME_TIMEOUT_MS);
    };
    sock.onmessage = (ev) => {
      if (ws !== sock) return;
      onFrame(ev.data);
    };
    sock.onclose = () => {
      if (ws !== sock) return;
      dropped();
    };
    sock.onerror = () => {
      /* always followed by close */
    };
  }

  function dropped() {
    ws = null;
    ready = false;
    clearTimeout(stableTimer);
    clearTimeout(welcomeTimer);
    setStatus("reconnecting");
    scheduleReconnect();
  }

  function scheduleReconnect() {
    if (reconnectTimer != null || !wanted) return;
    // Exponential backoff with full jitter.
    const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * Math.pow(BACKOFF_FACTOR, attempt));
    const delay = Math.random() * ceiling;
    attempt = Math.min(attempt + 1, 30);
    reconnectTimer = setTimeout(() => {
      reconnectTimer = null;
      connect();
    }, delay);
  }

  function restartConnection() {
    const old = ws;
    ws = null;
    ready = false;
    clearTimeout(stableTimer);
    clearTimeout(welcomeTimer);
    if (old) {
      try {
        old.close(1000, "reidentify");
      } catch {
        /* ignore */
      }
    }
    setStatus("reconnecting");
    connect();
  }

  function reconnectPromptly() {
    if (!wanted || isLive(ws)) return;
    connect();
  }

  window.addEventListener("online", reconnectPromptly);
  window.addEventListener("pageshow", reconnectPromptly);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") reconnectPromptly();
    else if (saveTimer != null) saveNow();
  });
  window.addEventListener("pagehide", () => {
    if (saveTimer != null) saveNow();
  });

  // ---------------------------------------------------------------------------
  // Incoming frames
  // ---------------------------------------------------------------------------
  function onFrame(data) {
    if (typeof data !== "string") return;
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    if (!frame || typeof frame !== "object") return;
    switch (frame.type) {
      case "welcome":
        onWelcome(frame);
        break;
      case "message":
        onMessage(frame);
        break;
      case "ack":
        onAck(frame);
        break;
      case "error":
        onError(frame);
        break;
      default:
        break; // unknown frame types are ignored (forward compatible)
    }
  }

  function resetTranscript() {
    for (const el of Array.from(ui.log.children)) {
      if (!el.sbClientId || !pendingRows.has(el.sbClientId)) {
        el.remove();
      } else if (el.sbSeq != null) {
        // Unacked bubble that had adopted an echo from the old conversation: pending again.
        el.sbSeq = null;
        el.sbMsg.setAttribute("data-seq", "");
        el.sbMsg.setAttribute("data-state", "pending");
        renderMeta(el);
      }
    }
    rowsBySeq.clear();
    cacheItems.clear();
    lastSeq = 0;
    unread = 0;
    renderBadge();
    updateNameRow();
  }

  function onWelcome(frame) {
    init();
    const token = typeof frame.visitor_token === "string" && frame.visitor_token ? frame.visitor_token : null;
    if (token) {
      if (token !== sentToken) {
        // Unknown/expired token (or first contact): a fresh conversation.
        resetTranscript();
      }
      visitorToken = token;
      store.set("visitor_token", token);
      saveNow();
    }
    conversationId = frame.conversation_id == null ? null : frame.conversation_id;
    ready = true;
    setStatus("connected");
    for (const entry of outbox) transmitEntry(entry); // same client_id: stored once server-side
  }

  function onMessage(frame) {
    init();
    const from = KINDS.has(frame.from) ? frame.from : "system";
    const text = asText(frame.text);
    const seq = toSeq(frame.seq);
    const stick = isOpen && nearBottom();

    if (seq == null) {
      // Not expected by the protocol; show it but it cannot be deduplicated or persisted.
      const row = buildRow(from, text, { seq: null, at: frame.at, author: frame.author_name, state: null });
      ui.log.append(row);
      afterLiveRow(from, stick);
      return;
    }
    if (seq <= lastSeq) return; // already seen
    if (rowsBySeq.has(seq)) {
      // Our own message whose ack already gave it this seq: the echo is not shown twice.
      setLastSeq(seq);
      saveSoon();
      return;
    }

    if (from === "customer") {
      let pending = null;
      if (typeof frame.client_id === "string") pending = pendingRows.get(frame.client_id) || null;
      if (!pending && typeof frame.client_id !== "string") {
        // Echo arrived before the ack: adopt the oldest pending bubble with the same text.
        for (const row of pendingRows.values()) {
          if (row.sbSeq == null && row.sbText === text) {
            pending = row;
            break;
          }
        }
      }
      if (pending) {
        if (typeof frame.client_id === "string") {
          pendingRows.delete(frame.client_id);
          outboxRemove(frame.client_id);
        }
        // (an adopted bubble stays in the outbox until its ack arrives)
        setRowSent(pending, seq, frame.at);
        rowsBySeq.set(seq, pending);
        placeRow(pending);
        cacheAdd(seq, "customer", text, frame.at);
        setLastSeq(seq);
        saveSoon();
        updateNameRow();
        return;
      }
    }

    const row = buildRow(from, text, {
      seq,
      at: frame.at,
      author: typeof frame.author_name === "string" ? frame.author_name : "",
      state: from === "customer" ? "sent" : null,
    });
    rowsBySeq.set(seq, row);
    placeRow(row);
    cacheAdd(seq, from, text, frame.at, typeof frame.author_name === "string" ? frame.author_name : "");
    setLastSeq(seq);
    saveSoon();
    afterLiveRow(from, stick);
  }

  function afterLiveRow(from, stick) {
    if (from === "customer") updateNameRow();
    if (!isOpen && from !== "customer") {
      unread++;
      renderBadge();
    }
    if (stick) scrollToBottom();
  }

  function onAck(frame) {
    const cid = frame.client_id;
    if (typeof cid !== "string") return;
    const seq = toSeq(frame.seq);
    let row = pendingRows.get(cid) || null;
    const entry = outbox.find((e) => e.client_id === cid) || null;
    if (!row && !entry) return; // duplicate ack
    const text = entry ? entry.text : row.sbText;
    const at = entry ? entry.at : row.sbAt;
    pendingRows.delete(cid);
    outboxRemove(cid);

    if (row && row.sbSeq != null && row.sbSeq !== seq) {
      // The bubble had adopted an identical echo that turned out to be another message:
      // it keeps representing that one; ours gets its own bubble below.
      row.sbClientId = undefined;
      row = null;
    }
    if (seq == null) {
      if (row) setRowSent(row, null);
      return;
    }
    const existing = rowsBySeq.get(seq);
    if (existing) {
      if (row && existing !== row) row.remove(); // the echo was rendered first
      else if (existing === row) row.sbClientId = undefined;
      return;
    }
    if (!row) row = buildRow("customer", text, { seq, at, state: "sent" });
    row.sbClientId = undefined;
    setRowSent(row, seq);
    rowsBySeq.set(seq, row);
    placeRow(row);
    cacheAdd(seq, "customer", text, at);
    if (seq === lastSeq + 1) setLastSeq(seq); // no gap, so nothing can be skipped by this
    saveSoon();
    updateNameRow();
  }

  function onError(frame) {
    const code = asText(frame.code) || "error";
    let text = typeof frame.message === "string" && frame.message.trim() ? frame.message : "";
    if (!text) {
      text =
        code === "too_large"
          ? "That message is too long (the limit is 64 KiB)."
          : "Something went wrong (" + code + ").";
    }
    showNotice(text);
    const cid = frame.client_id;
    if (typeof cid === "string" && pendingRows.has(cid)) {
      // A message the server refused will never be acked: stop resending it.
      const row = pendingRows.get(cid);
      pendingRows.delete(cid);
      outboxRemove(cid);
      row.sbClientId = undefined;
      row.sbMsg.setAttribute("data-state", "failed");
      renderMeta(row);
    }
  }

  // ---------------------------------------------------------------------------
  // Public API
  // ---------------------------------------------------------------------------
  window.Switchboard = {
    open,
    close,
    send,
    state() {
      return { connected: ready, visitorToken, lastSeq, pending: outbox.length };
    },
  };

  function boot() {
    init();
    // Returning visitors (or unsent messages) and signed-in users (who may have a conversation from
    // another device) connect straight away so new replies show up as unread; first-time anonymous
    // visitors only connect once they open the chat.
    if (visitorToken || outbox.length || (USER_ID && USER_HASH)) startConnection();
  }

  if (document.body) boot();
  else document.addEventListener("DOMContentLoaded", boot, { once: true });
})();
