/* Switchboard console pages: shared helpers (login, API calls, the authenticated websocket).
   Plain ES2020, no dependencies, no build step. Loaded before console.js / supervisor.js.
   The bearer token lives in localStorage so a session survives a reload; it is never put in a URL. */
"use strict";
(function () {
  const TOKEN_KEY = "switchboard.console.token";
  const AGENT_KEY = "switchboard.console.agent";

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  const session = {
    get token() { return localStorage.getItem(TOKEN_KEY); },
    get agent() {
      try { return JSON.parse(localStorage.getItem(AGENT_KEY) || "null"); } catch (_) { return null; }
    },
    save(token, agent) {
      localStorage.setItem(TOKEN_KEY, token);
      localStorage.setItem(AGENT_KEY, JSON.stringify(agent));
    },
    clear() {
      localStorage.removeItem(TOKEN_KEY);
      localStorage.removeItem(AGENT_KEY);
    },
  };

  /** fetch JSON from the API with the session's bearer token; throws ApiError on a non-2xx answer. */
  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    if (session.token) headers.Authorization = "Bearer " + session.token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    if (res.status === 204) return null;
    let data = null;
    try { data = await res.json(); } catch (_) { data = null; }
    if (!res.ok) {
      const err = (data && data.error) || {};
      if (res.status === 401) session.clear();
      throw new ApiError(res.status, err.code || "http_" + res.status, err.message || res.statusText);
    }
    return data;
  }

  async function login(email, password) {
    const data = await api("POST", "/api/auth/token", { email, password });
    session.save(data.token, data.agent);
    return data.agent;
  }

  async function logout() {
    try { await api("POST", "/api/auth/logout"); } catch (_) { /* the token may be gone already */ }
    session.clear();
  }

  /**
   * An authenticated websocket that reconnects with full-jitter backoff.
   * onFrame(frame) gets every server frame; onState("connecting"|"open"|"closed") the connection state;
   * onOpen() runs after each successful auth (reload what may have been missed there).
   * Returns {send(obj), close()}.
   */
  function socket(path, { onFrame, onState, onOpen }) {
    let ws = null;
    let attempt = 0;
    let closedByUs = false;
    let timer = null;
    const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;

    function connect() {
      if (!session.token) return;
      onState && onState("connecting");
      ws = new WebSocket(url);
      let opened = 0;
      ws.onopen = () => ws.send(JSON.stringify({ type: "auth", token: session.token }));
      ws.onmessage = (ev) => {
        let frame;
        try { frame = JSON.parse(ev.data); } catch (_) { return; }
        if (frame.type === "ready" || (frame.type === "queues" && !opened)) {
          opened = Date.now();
          attempt = 0;
          onState && onState("open");
          onOpen && onOpen(frame);
        }
        if (frame.type === "error" && frame.code === "unauthorized") {
          session.clear();
          closedByUs = true;
          location.reload();
          return;
        }
        onFrame && onFrame(frame);
      };
      ws.onclose = () => {
        onState && onState("closed");
        if (closedByUs) return;
        if (opened && Date.now() - opened > 10000) attempt = 0;
        const cap = Math.min(30000, 500 * 2 ** attempt);
        attempt += 1;
        timer = setTimeout(connect, Math.random() * cap);
      };
    }
    connect();
    return {
      send(obj) {
        if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(obj));
      },
      close() {
        closedByUs = true;
        clearTimeout(timer);
        if (ws) ws.close();
      },
    };
  }

  /** Build an element: el("div", {class: "x", "data-id": 3, onclick: fn}, "text", child, ...).
      Strings become text nodes: customer content can never turn into markup. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
      else if (k === "class") node.className = v;
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  function ago(iso) {
    if (!iso) return "";
    const s = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
    if (s < 60) return Math.floor(s) + "s";
    if (s < 3600) return Math.floor(s / 60) + "m";
    if (s < 86400) return Math.floor(s / 3600) + "h";
    return Math.floor(s / 86400) + "d";
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    const s = Math.round(seconds);
    if (s < 60) return s + "s";
    if (s < 3600) return Math.floor(s / 60) + "m " + (s % 60) + "s";
    return Math.floor(s / 3600) + "h " + Math.floor((s % 3600) / 60) + "m";
  }

  window.SB = { ApiError, session, api, login, logout, socket, el, ago, duration };
})();
