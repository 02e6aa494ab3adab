"""The dashboard's one HTML page: inline CSS, one inline script, no data in the markup.

The page is a fixed skeleton. Its script polls ``api/status`` every second and builds every piece
of data into the DOM with ``textContent`` (never ``innerHTML``), so a test case key or a problem
message holding markup shows as text. The script and style carry a per-response CSP nonce; the
policy (sent as a header by the app) allows nothing else: no external script, style, font, image
or connection.
"""

from __future__ import annotations

import secrets

POLL_MS = 1000


def new_nonce() -> str:
    """A fresh CSP nonce for one page response."""
    return secrets.token_urlsafe(18)


def content_security_policy(nonce: str) -> str:
    """The page's policy: its own nonce'd script and style, fetches to itself only."""
    return (
        "default-src 'none'; "
        f"script-src 'nonce-{nonce}'; "
        f"style-src 'nonce-{nonce}'; "
        "connect-src 'self'; "
        "img-src 'none'; "
        "base-uri 'none'; "
        "form-action 'none'; "
        "frame-ancestors 'none'"
    )


_CSS = """
:root{--fg:#1f2328;--muted:#656d76;--line:#d0d7de;--bg2:#f6f8fa;--ok:#1a7f37;--warn:#9a6700;
--bad:#cf222e;--info:#0969da;--bar:#2da44e}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
color:var(--fg);margin:0 auto;padding:16px 24px 36px;max-width:1320px}
header{display:flex;flex-wrap:wrap;align-items:baseline;gap:6px 18px;border-bottom:1px solid var(--line);
padding-bottom:8px}
h1{font-size:22px;margin:0}h2{font-size:16px;margin:18px 0 6px}
.muted{color:var(--muted)}.key{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
#conn{margin-left:auto;font-size:13px}#conn.down{color:var(--bad);font-weight:600}
#notice{display:none;margin:10px 0;padding:8px 12px;border-left:6px solid var(--warn);background:#fff8c5;
border-radius:4px}#notice.shown{display:block}
.cards{display:flex;flex-wrap:wrap;gap:10px 26px;margin:12px 0 4px}
.card .label{color:var(--muted);font-size:11px;text-transform:uppercase;letter-spacing:.04em}
.card .value{font-size:17px;font-weight:600;font-variant-numeric:tabular-nums;white-space:nowrap}
.pill{display:inline-block;border-radius:10px;padding:0 9px;font-size:12px;font-weight:600;color:#fff;
background:#6e7781;text-transform:lowercase}
.pill.running{background:var(--info)}.pill.succeeded{background:var(--ok)}.pill.failed{background:var(--bad)}
.pill.interrupted{background:#bc4c00}.pill.pending,.pill.not-run{background:#d0d7de;color:var(--fg)}
.card .value .pill{font-size:15px;padding:1px 12px}
#run-error{color:var(--bad);margin:4px 0;white-space:pre-wrap}
.cols{display:grid;grid-template-columns:minmax(0,1fr) auto;gap:0 24px;align-items:start}
@media (max-width:1100px){.cols{grid-template-columns:minmax(0,1fr)}}
table{border-collapse:collapse;font-size:13px;max-width:100%}
th,td{border:1px solid var(--line);padding:3px 7px;text-align:left;vertical-align:middle}
th{background:var(--bg2);font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.wrap{overflow-wrap:anywhere}td.error{color:var(--bad)}
#phases,#problems,#types{width:100%}
tr.phase td{background:var(--bg2);font-weight:600}tr.phase .muted{font-weight:400}
td.entity{padding-left:26px}#types td:first-child,#phases td:first-child{white-space:nowrap}
button.toggle{font:inherit;font-weight:600;border:0;background:none;padding:0;cursor:pointer;color:var(--fg)}
.bar{width:100%;min-width:60px;height:12px;background:#eaeef2;border-radius:6px;overflow:hidden}
.bar>span{display:block;height:100%;background:var(--bar);width:0}
.bar.unknown>span{background:repeating-linear-gradient(45deg,#8c959f 0 6px,#afb8c1 6px 12px);width:100%}
.sev{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:600;color:#fff;
background:#7048e8}
.sev-failed{background:#a61e1e}.sev-missing{background:#e03131}.sev-mismatch{background:#d9480f}
.sev-degraded{background:#f59f00;color:#1f2328}.sev-skipped{background:#868e96}
.chips{display:flex;flex-wrap:wrap;gap:6px 14px;margin:4px 0 8px}
.empty{color:var(--muted);font-style:italic}
footer{margin-top:24px;color:var(--muted);font-size:12px;border-top:1px solid var(--line);padding-top:6px}
"""

# The script never assigns innerHTML/outerHTML or uses insertAdjacentHTML, document.write or eval:
# every value from the store goes through el()'s textContent.
_JS = """
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
    const p = s.problems || {total: 0, by_severity: [], top_codes: [], more_codes: 0};
    const chips = [el("span", p.total + " in all", "muted")];
    for (const item of p.by_severity) {
      const chip = el("span");
      chip.append(el("span", item.severity, "sev sev-" + slug(item.severity)),
        document.createTextNode(" " + item.count));
      chip.dataset.severity = item.severity;
      chips.push(chip);
    }
    $("problem-counts").replaceChildren(...chips);
    $("problems-total").textContent = String(p.total);
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
        cell(t.loaded, "n"), barCell, cell(t.degraded, "n"), cell(t.skipped, "n"), cell(t.failed, "n"),
        cell(t.pending, "n"));
      return row;
    });
    if (!rows.length) {
      const row = el("tr"); const td = el("td", "Nothing extracted yet.", "empty"); td.colSpan = 9;
      row.appendChild(td); rows.push(row);
    }
    $("types-body").replaceChildren(...rows);
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

_HTML = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ztoq dashboard</title>
<style nonce="%(nonce)s">%(css)s</style>
</head>
<body>
<header>
<h1>ztoq dashboard</h1>
<span>Zephyr project <b id="project"></b></span>
<span class="muted">store <span id="store" class="key"></span></span>
<span id="conn" class="muted">connecting&hellip;</span>
</header>
<div id="notice" role="status"></div>
<section id="run">
<div class="cards">
<div class="card"><div class="label">Run</div><div class="value" id="run-id">&ndash;</div></div>
<div class="card"><div class="label">Status</div><div class="value" id="run-status">&ndash;</div></div>
<div class="card"><div class="label">Command</div><div class="value" id="run-command">&ndash;</div></div>
<div class="card"><div class="label">Phase</div><div class="value" id="run-phase">&ndash;</div></div>
<div class="card"><div class="label">Started</div><div class="value" id="run-started">&ndash;</div></div>
<div class="card"><div class="label">Elapsed</div><div class="value" id="run-elapsed">&ndash;</div></div>
<div class="card"><div class="label">Items done</div><div class="value" id="done-total">0</div></div>
<div class="card"><div class="label">API requests</div><div class="value" id="requests-total">0</div></div>
<div class="card"><div class="label">Problems</div><div class="value" id="problems-total">0</div></div>
</div>
<div id="run-error"></div>
</section>
<div class="cols">
<section>
<h2>Phases</h2>
<table id="phases">
<thead><tr><th>Phase / entity</th><th>Progress</th><th class="n">Done / total</th><th class="n">Failed</th>
<th class="n">Skipped</th><th class="n">Rate</th><th class="n">ETA</th></tr></thead>
<tbody id="phases-body"></tbody>
</table>
</section>
<section>
<h2>API</h2>
<table id="api">
<thead><tr><th>API</th><th class="n">Requests</th><th class="n">Retries</th>
<th class="n">Rate-limit waits</th><th class="n">Wait seconds</th></tr></thead>
<tbody id="api-body"></tbody>
</table>
<h2>Per entity type</h2>
<table id="types">
<thead><tr><th>Entity</th><th class="n">Zephyr</th><th class="n">Planned</th><th class="n">In qTest</th>
<th>Loaded</th><th class="n">Degraded</th><th class="n">Skipped</th><th class="n">Failed</th>
<th class="n">Pending</th></tr></thead>
<tbody id="types-body"></tbody>
</table>
</section>
</div>
<h2>Problems</h2>
<div class="chips" id="problem-counts"></div>
<table id="problems">
<thead><tr><th>Severity</th><th>Code</th><th class="n">Count</th><th>Example</th></tr></thead>
<tbody id="problems-body"></tbody>
</table>
<p class="muted" id="problems-more"></p>
<footer>Read-only view of the migration store, refreshed every second.
Nothing is sent anywhere but this dashboard.</footer>
<script nonce="%(nonce)s">%(js)s</script>
</body>
</html>
"""


def render_page(nonce: str) -> str:
    """The dashboard page, its style and script tagged with ``nonce``."""
    script = _JS % {"poll_ms": POLL_MS}
    return _HTML % {"nonce": nonce, "css": _CSS, "js": script}
