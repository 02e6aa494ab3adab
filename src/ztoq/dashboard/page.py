"""The dashboard's one HTML page: inline CSS, one inline script, no data in the markup.

The page is a fixed skeleton. Its script (:mod:`ztoq.dashboard.page_script`) polls ``api/status``
every second and builds every piece of data into the DOM with ``textContent`` (never
``innerHTML``), so a test case key or a problem message holding markup shows as text. The script
and style carry a per-response CSP nonce; the policy (sent as a header by the app) allows nothing
else: no external script, style, font, image or connection.
"""

from __future__ import annotations

import secrets

from ztoq.dashboard.page_script import SCRIPT

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
.sev-degraded{background:#f59f00;color:#1f2328}.sev-skipped{background:#868e96}.sev-kept-in-text{background:#1c7ed6}
.chips{display:flex;flex-wrap:wrap;gap:6px 14px;margin:4px 0 8px}
.empty{color:var(--muted);font-style:italic}
p.warn:not(:empty){margin:6px 0;padding:8px 12px;border-left:6px solid var(--warn);background:#fff8c5;
border-radius:4px}tr.total td{font-weight:700}#attachment-groups{margin-top:8px;width:100%}
footer{margin-top:24px;color:var(--muted);font-size:12px;border-top:1px solid var(--line);padding-top:6px}
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
<div class="card"><div class="label">Kept in text</div><div class="value" id="kept-total">0</div></div>
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
<th>Loaded</th><th class="n">Degraded</th><th class="n">Kept in text</th><th class="n">Skipped</th>
<th class="n">Failed</th><th class="n">Pending</th></tr></thead>
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
<section id="attachments" hidden>
<h2>Attachments</h2>
<p id="attachments-unavailable" class="warn"></p>
<table id="attachment-owners">
<thead><tr><th>Owner</th><th class="n">Files</th><th class="n">Size</th><th class="n">Cached</th>
<th class="n">Failed</th><th class="n">In qTest</th><th class="n">Size in qTest</th></tr></thead>
<tbody id="attachments-body"></tbody>
</table>
<table id="attachment-groups" hidden>
<thead><tr><th>Files</th><th>Severity</th><th>Why</th><th class="n">Count</th><th class="n">Size</th>
<th>Example</th></tr></thead>
<tbody id="attachment-groups-body"></tbody>
</table>
</section>
<footer>Read-only view of the migration store, refreshed every second.
Nothing is sent anywhere but this dashboard.</footer>
<script nonce="%(nonce)s">%(js)s</script>
</body>
</html>
"""


def render_page(nonce: str) -> str:
    """The dashboard page, its style and script tagged with ``nonce``."""
    script = SCRIPT % {"poll_ms": POLL_MS}
    return _HTML % {"nonce": nonce, "css": _CSS, "js": script}
