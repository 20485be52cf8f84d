/* The satisfaction survey: five stars and a comment, sent with the token from the page's own link. */
(function () {
  "use strict";
  const token = decodeURIComponent(location.pathname.split("/").pop() || "");
  const $ = (id) => document.getElementById(id);
  const LABELS = ["Poor", "Fair", "Good", "Very good", "Excellent"];

  async function call(method, body) {
    const r = await fetch("/api/csat/" + encodeURIComponent(token), {
      method,
      headers: body ? { "Content-Type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error((data.error && data.error.message) || "Something went wrong (" + r.status + ")");
    return data;
  }

  function light(score) {
    document.querySelectorAll(".stars label").forEach((l, i) => l.classList.toggle("lit", i < score));
  }

  function stars(current) {
    const box = $("stars");
    box.replaceChildren();
    LABELS.forEach((label, i) => {
      const input = document.createElement("input");
      input.type = "radio";
      input.name = "score";
      input.value = String(i + 1);
      input.id = "score-" + (i + 1);
      input.checked = current === i + 1;
      input.addEventListener("change", () => light(i + 1));
      const star = document.createElement("span");
      star.className = "star";
      star.setAttribute("aria-hidden", "true");
      star.textContent = "★";
      const text = document.createElement("span");
      text.textContent = (i + 1) + " · " + label;
      const wrap = document.createElement("label");
      wrap.htmlFor = input.id;
      wrap.append(input, star, text);
      box.append(wrap);
    });
    light(current || 0);
  }

  function thanks(data) {
    $("csat-done").hidden = false;
    $("csat-done").textContent = "Thank you! You rated us " + data.score + " of 5. You can change it below.";
  }

  async function start() {
    try {
      const s = await call("GET");
      $("csat-about").textContent = "About your request “" + (s.subject || "") + "”" + (s.agent ? ", answered by " + s.agent : "") + ".";
      stars(s.score);
      $("comment").value = s.comment || "";
      $("csat-form").hidden = false;
      if (s.score) thanks(s);
    } catch (e) {
      $("csat-about").textContent = e.message;
    }
  }

  $("csat-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const picked = document.querySelector("input[name=score]:checked");
    $("csat-error").textContent = "";
    if (!picked) {
      $("csat-error").textContent = "Choose from 1 to 5 stars first.";
      return;
    }
    try {
      thanks(await call("POST", { score: Number(picked.value), comment: $("comment").value }));
    } catch (e) {
      $("csat-error").textContent = e.message;
    }
  });
  start();
})();
