"""The dashboard page's one script: polls ``api/status`` and builds every value into the DOM as text.

Kept apart from :mod:`ztoq.dashboard.page` (the skeleton and style) so each stays short. It is a
``%``-format template: ``%(poll_ms)d`` is the poll interval, and a literal percent sign is ``%%``.
"""

from __future__ import annotations

# The script never assigns innerHTML/outerHTML or uses insertAdjacentHTML, document.write or eval:
# every value from the store goes through el()'s textContent.
SCRIPT = """
"use strict";
(function () {
  const POLL_MS = %(poll_ms)d;
  const $ = (id) => document.getElementById(id);
  let polls = 0;

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }
  function cell(text, cls) { return el("td", text === null || text === undefined ? "\\u2013" : text, cls); }
  function num(value) { return typeof value === "number" && isFinite(value) ? value : null; }
  function slug(text) { return String(text || "").toLowerCase().replace(/[^a-z0-9]+/g, "-"); }
  function pill(status) { return el("span", status, "pill " + slug(status)); }
  function duration(seconds) {
    if (num(seconds) === null) return "\\u2013";
    let s = Math.round(seconds);
    const h = Math.floor(s / 3600); s -= h * 3600;
    const m = Math.floor(s / 60); s -= m * 60;
    if (h) return h + "h " + String(m).padStart(2, "0") + "m " + String(s).padStart(2, "0") + "s";
    if (m) return m + "m " + String(s).padStart(2, "0") + "s";
    return s + "s";
  }
  function when(iso) {
    if (!iso) return "\\u2013";
    const d = new Date(iso);
    if (isNaN(d.getTime())) return String(iso);
    const today = d.toDateString() === new Date().toDateString();
    return today ? d.toLocaleTimeString() : d.toLocaleString();
  }
  function fixed(value, digits) { return num(value) === null ? "\\u2013" : value.toFixed(digits); }
  function size(bytes) {
    if (num(bytes) === null) return "\\u2013";
    if (bytes < 1024) return bytes + " B";
    if (bytes < 1048576) return (bytes / 1024).toFixed(1) + " KB";
    if (bytes < 1073741824) return (bytes / 1048576).toFixed(1) + " MB";
    return (bytes / 1073741824).toFixed(2) + " GB";
  }
  function bar(percent) {
    const outer = el("div", null, "bar");
    const inner = el("span");
    if (num(percent) === null) { outer.classList.add("unknown"); }
    else { inner.style.width = Math.max(0, Math.min(100, percent)) + "%%"; }
    outer.appendChild(inner);
    return outer;
  }
  function setCard(id, text) {
    $(id).textContent = text === null || text === undefined ? "\\u2013" : String(text);
  }

  function renderRun(s) {
    const run = s.run;
    const status = $("run-status");
    status.replaceChildren(run ? pill(run.status) : el("span", "no run yet", "muted"));
    status.dataset.status = run ? run.status : "";
    setCard("run-id", run ? "#" + run.id : null);
    setCard("run-command", run ? run.command : null);
    setCard("run-started", run ? when(run.started_at) : null);
    setCard("run-elapsed", run ? duration(run.elapsed_seconds) : null);
    const current = run ? s.phases.find((p) => p.status === "running") : null;
    setCard("run-phase", current ? current.phase : (run ? "\\u2013" : null));
    $("run-error").textContent = run && run.error ? run.error : "";
    document.title =
      "ztoq dashboard \\u2013 " + (s.project_key || "") + (run ? " \\u2013 " + run.status : "");
  }

  // Phases whose per-type rows the user opened or closed (by default: open while running or failed).
  const toggled = new Map();
  let last = null;

  function isOpen(phase) {
    if (toggled.has(phase.phase)) return toggled.get(phase.phase);
    return phase.status === "running" || phase.status === "failed" || phase.status === "interrupted";
  }

  function renderPhases(s) {
    const rows = [];
    let done = 0;
    for (const phase of s.phases) {
      const open = isOpen(phase);
      const sums = {done: 0, failed: 0, skipped: 0};
      for (const c of phase.counts) {
        sums.done += c.done; sums.failed += c.failed; sums.skipped += c.skipped;
      }
      done += sums.done;
      const head = el("tr", null, "phase");
      head.dataset.phase = phase.phase;
      head.dataset.status = phase.status;
      const name = el("td");
      if (phase.counts.length) {
        const button = el("button", (open ? "\u25be " : "\u25b8 ") + phase.phase, "toggle");
        button.type = "button";
        button.setAttribute("aria-expanded", String(open));
        button.addEventListener("click", () => { toggled.set(phase.phase, !open); if (last) render(last); });
        name.appendChild(button);
      } else {
        name.textContent = phase.phase;
      }
      const info = el("td");
      info.colSpan = 6;
      info.appendChild(pill(phase.status));
      const parts = [];
      if (num(phase.seconds) !== null) parts.push(duration(phase.seconds));
      if (phase.counts.length) {
        const types = phase.counts.length + (phase.counts.length === 1 ? " type" : " types");
        parts.push(types, sums.done + " done");
        if (sums.failed) parts.push(sums.failed + " failed");
        if (sums.skipped) parts.push(sums.skipped + " skipped");
      }
      if (parts.length) info.append(el("span", " " + parts.join(" \u00b7 "), "muted"));
      head.append(name, info);
      rows.push(head);
      if (phase.error) {
        const row = el("tr", null, "phase-error");
        const td = el("td", phase.error, "wrap error");
        td.colSpan = 7;
        row.appendChild(td);
        rows.push(row);
      }
      if (!open) continue;
      for (const c of phase.counts) {
        const row = el("tr", null, "count");
        row.dataset.phase = phase.phase;
        row.dataset.type = c.type;
        row.dataset.done = String(c.done);
        const barCell = el("td");
        barCell.appendChild(bar(c.percent));
        const finished = c.total !== null && c.done >= c.total;
        row.append(
          el("td", c.type, "entity"), barCell,
          cell(c.done + " / " + (c.total === null ? "?" : c.total), "n done"),
          cell(c.failed, "n"), cell(c.skipped, "n"),
          cell(num(c.rate) === null ? null : fixed(c.rate, 1) + "/s", "n"),
          cell(finished ? "" : (num(c.eta) === null ? null : duration(c.eta)), "n"));
        rows.push(row);
      }
    }
    if (!rows.length) {
      const row = el("tr"); const td = el("td", "No phase has started yet.", "empty"); td.colSpan = 7;
      row.appendChild(td); rows.push(row);
    }
    $("phases-body").replaceChildren(...rows);
    $("done-total").textContent = String(done);
  }

  function renderApi(s) {
    const rows = s.api.map((a) => {
      const row = el("tr");
      row.dataset.api = a.api;
      row.append(el("td", a.api), cell(a.requests, "n requests"), cell(a.retries, "n"),
        cell(a.rate_limit_waits, "n"), cell(fixed(a.rate_limit_wait_seconds, 1), "n"));
      return row;
    });
    if (!rows.length) {
      const row = el("tr"); const td = el("td", "No request yet.", "empty"); td.colSpan = 5;
      row.appendChild(td); rows.push(row);
    }
    $("api-body").replaceChildren(...rows);
    $("requests-total").textContent = String(s.api.reduce((n, a) => n + a.requests, 0));
  }

  function renderProblems(s) {
    const p = s.problems || {total: 0, by_severity: [], top_codes: [], more_codes: 0, kept_in_text: 0};
    const chips = [el("span", p.total + " in all", "muted")];
    for (const item of p.by_severity) {
      const chip = el("span");
      chip.append(el("span", item.severity, "sev sev-" + slug(item.severity)),
        document.createTextNode(" " + item.count));
      chip.dataset.severity = item.severity;
      chips.push(chip);
    }
    if (p.kept_in_text) {
      const chip = el("span");
      chip.append(el("span", "kept in text", "sev sev-kept-in-text"),
        document.createTextNode(" " + p.kept_in_text + " (information: no qTest field)"));
      chip.dataset.severity = "kept_in_text";
      chips.push(chip);
    }
    $("problem-counts").replaceChildren(...chips);
    $("problems-total").textContent = String(p.total);
    $("kept-total").textContent = String(p.kept_in_text || 0);
    const rows = p.top_codes.map((c) => {
      const row = el("tr");
      const sev = el("td"); sev.appendChild(el("span", c.severity, "sev sev-" + slug(c.severity)));
      const example = el("td", null, "wrap");
      if (c.example) {
        example.append(el("span", c.example.entity_type + " ", "muted"),
          el("span", c.example.source_key, "key"), document.createTextNode(": " + c.example.message));
      }
      const code = el("td", c.code, "key");
      code.title = "recorded by " + c.phases.join(", ");
      row.append(sev, code, cell(c.count, "n"), example);
      return row;
    });
    if (!rows.length) {
      const row = el("tr"); const td = el("td", "No problem recorded.", "empty"); td.colSpan = 4;
      row.appendChild(td); rows.push(row);
    }
    $("problems-body").replaceChildren(...rows);
    $("problems-more").textContent =
      p.more_codes ? p.more_codes + " more codes: see ztoq migrate status." : "";
  }

  function renderTypes(s) {
    const rows = s.types.map((t) => {
      const row = el("tr");
      row.dataset.type = t.entity_type;
      const barCell = el("td");
      barCell.appendChild(t.planned ? bar(100 * t.loaded / t.planned) : el("span", "\\u2013", "muted"));
      row.append(el("td", t.entity_type.replace(/_/g, " ")), cell(t.source, "n"), cell(t.planned, "n"),
        cell(t.loaded, "n"), barCell, cell(t.degraded, "n"), cell(t.kept_in_text, "n"), cell(t.skipped, "n"),
        cell(t.failed, "n"), cell(t.pending, "n"));
      return row;
    });
    if (!rows.length) {
      const row = el("tr"); const td = el("td", "Nothing extracted yet.", "empty"); td.colSpan = 10;
      row.appendChild(td); rows.push(row);
    }
    $("types-body").replaceChildren(...rows);
  }

  function renderAttachments(s) {
    const a = s.attachments || {listed: false, by_owner_type: [], not_sent: [], changed: []};
    $("attachments").hidden = !a.listed;
    $("attachments-unavailable").textContent = a.unavailable_sentence || "";
    const rows = a.by_owner_type.map((o) => {
      const row = el("tr");
      row.dataset.owner = o.owner_type;
      row.append(el("td", o.label), cell(o.files, "n"), cell(size(o.bytes), "n"), cell(o.cached, "n"),
        cell(o.failed, "n"), cell(o.sent, "n"), cell(size(o.sent_bytes), "n"));
      return row;
    });
    if (a.by_owner_type.length) {
      const t = a.total;
      const row = el("tr", null, "total");
      row.append(el("td", "total"), cell(t.files, "n"), cell(size(t.bytes), "n"), cell(t.cached, "n"),
        cell(t.failed, "n"), cell(t.sent, "n"), cell(size(t.sent_bytes), "n"));
      rows.push(row);
    } else {
      const row = el("tr"); const td = el("td", "No attachment listed.", "empty"); td.colSpan = 7;
      row.appendChild(td); rows.push(row);
    }
    $("attachments-body").replaceChildren(...rows);
    const groups = [];
    for (const [title, list] of [["not sent", a.not_sent], ["sent with a change", a.changed]]) {
      for (const g of list) {
        const row = el("tr");
        row.dataset.code = g.code;
        const sev = el("td"); sev.appendChild(el("span", g.severity, "sev sev-" + slug(g.severity)));
        const example = el("td", null, "wrap");
        const e = g.examples[0];
        if (e && e.url) {
          example.append(el("span", e.source_key, "key"), document.createTextNode(" (" + e.url + ")"));
        } else if (e) {
          example.append(el("span", e.source_key, "key"),
            document.createTextNode(" " + (e.name || "") + " (" + size(e.size) +
              (e.cache_path ? ", cache: " + e.cache_path : "") + ")"));
        }
        row.append(el("td", title), sev, el("td", g.reason, "wrap"), cell(g.count, "n"),
          cell(size(g.bytes), "n"), example);
        groups.push(row);
      }
    }
    $("attachment-groups").hidden = !groups.length;
    $("attachment-groups-body").replaceChildren(...groups);
  }

  function render(s) {
    $("project").textContent = s.project_key || "";
    $("store").textContent = s.store || "";
    const notice = $("notice");
    notice.textContent = s.error || "";
    notice.className = s.error ? "shown" : "";
    last = s;
    if (s.error && !s.run) return;
    renderRun(s); renderPhases(s); renderApi(s); renderProblems(s); renderTypes(s);
    renderAttachments(s);
  }

  async function poll() {
    const conn = $("conn");
    try {
      const answer = await fetch("api/status", {cache: "no-store", credentials: "same-origin"});
      if (!answer.ok) throw new Error("HTTP " + answer.status);
      const status = await answer.json();
      render(status);
      polls += 1;
      document.body.dataset.polls = String(polls);
      conn.className = "";
      conn.textContent = "live \\u00b7 updated " + new Date().toLocaleTimeString();
    } catch (error) {
      conn.className = "down";
      const why = error && error.message ? error.message : String(error);
      conn.textContent = "cannot reach the dashboard (" + why + "); retrying";
    } finally {
      setTimeout(poll, POLL_MS);
    }
  }
  poll();
})();
"""
