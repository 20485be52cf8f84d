/* Switchboard console pages: shared helpers (login, API calls, the authenticated websocket, the
   sign-in form of the supervisor board and the knowledge base).
   Plain ES2020, no dependencies, no build step. Loaded before console.js, supervisor.js and faq.js.
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

  /** code: the one-time code of two-step sign-in, when the agent has it on (else empty). */
  async function login(email, password, code) {
    const body = { email, password };
    if (code) body.code = code.replace(/\s+/g, "");
    const data = await api("POST", "/api/auth/token", body);
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

  /**
   * The sign-in of the supervisor board and the knowledge base. The page has an empty
   * <section id="login-view" class="auth">, its other views, and a #session-bar shown with its main view;
   * the form (#login-form, #login-email, #login-password, #login-error, #login-submit) is built here. It
   * leaves the document while signed in: a signed-in page holds no password field, not even a hidden one.
   *   title, lead: the form's heading and the line under it (text or nodes)
   *   views: the page's other views, {name: element id}; main: the one that shows #session-bar
   *   onSignedIn(agent): after a sign-in (an error it throws is shown under the form)
   *   onSignedOut(): before the form is shown (stop timers, forget what was on screen)
   *   errText(error): the page's wording of an error
   * Returns {show(name), showLogin(message), resume(), signOut()}.
   */
  function signInForm({ title, lead, views, main, onSignedIn, onSignedOut, errText }) {
    const $ = (id) => document.getElementById(id);
    const email = el("input", { id: "login-email", name: "email", type: "email", autocomplete: "username", required: true, autofocus: true });
    const password = el("input", { id: "login-password", name: "password", type: "password", autocomplete: "current-password", required: true });
    const code = el("input", { id: "login-code", name: "code", inputmode: "numeric", autocomplete: "one-time-code", maxlength: "8", placeholder: "only with two-step sign-in" });
    const error = el("p", { class: "form-error", id: "login-error", role: "alert" });
    const submit = el("button", { type: "submit", class: "btn btn-primary", id: "login-submit" }, "Sign in");
    const form = el("form", { class: "auth-card", id: "login-form", method: "post", action: location.pathname, novalidate: true },
      el("h2", { id: "login-title" }, title),
      el("p", { class: "auth-lead" }, lead),
      el("label", { for: "login-email" }, "Email"), email,
      el("label", { for: "login-password" }, "Password"), password,
      el("label", { for: "login-code" }, "Code from your authenticator app"), code,
      error, submit);

    function show(name) {
      $("login-view").hidden = name !== "login";
      for (const [view, id] of Object.entries(views)) $(id).hidden = name !== view;
      $("session-bar").hidden = name !== main;
      if (name === "login") {
        if (!form.isConnected) $("login-view").append(form);
      } else if (form.isConnected) {
        form.remove();
      }
    }

    function showLogin(message) {
      onSignedOut();
      show("login");
      error.textContent = message || "";
      password.value = "";
      code.value = "";
      submit.disabled = false;
      email.focus();
    }

    /** The signed-in agent (GET /api/me; what the sign-in answered when that fails otherwise), or null
        with the form shown again. */
    async function resume() {
      try {
        return await api("GET", "/api/me");
      } catch (e) {
        if (e.status === 401) showLogin("Your session has ended; please sign in again.");
        else if (session.agent) return session.agent;
        else showLogin("");
        return null;
      }
    }

    async function signOut() {
      onSignedOut();
      await logout();
      showLogin("You are signed out.");
    }

    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const who = email.value.trim();
      if (!who || !password.value) {
        error.textContent = "Enter your email and password.";
        return;
      }
      submit.disabled = true;
      error.textContent = "";
      try {
        await onSignedIn(await login(who, password.value, code.value));
      } catch (e) {
        error.textContent = loginError(e, errText, !!code.value.trim());
        if (e && e.code === "totp_required") code.focus();
      } finally {
        submit.disabled = false;
      }
    });
    return { show, showLogin, resume, signOut };
  }

  /** What to tell someone whose sign-in failed (withCode: they typed a one-time code). */
  function loginError(e, otherwise, withCode) {
    if (e && e.code === "totp_required") return "Two-step sign-in is on: enter the code from your authenticator app.";
    if (e && e.code === "too_many_attempts") return e.message;
    if (e && e.status === 401) return withCode ? "Wrong email, password or code." : "Wrong email or password.";
    return otherwise ? otherwise(e) : "Could not sign in: " + ((e && e.message) || e);
  }

  window.SB = { ApiError, session, api, login, loginError, logout, socket, el, ago, duration, signInForm };
})();
