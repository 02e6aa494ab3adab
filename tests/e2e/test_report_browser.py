"""The HTML report in a real browser: headless Chromium shows hostile names as text, runs no
injected script, loads nothing from the network, prints with every group expanded, and leaves a
screenshot in ``test-artifacts/`` for people to look at.

Chromium is Debian's ``/usr/bin/chromium`` (``scripts/ensure-chromium.sh`` installs it; override
with ``ZTOQ_CHROMIUM``). Without it the tests skip, unless ``ZTOQ_REQUIRE_CHROMIUM`` is set.
"""

from __future__ import annotations

import re
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from browser_support import ARTIFACTS, Cdp, chromium, png_size

from ztoq.report import (
    CountRow,
    EntityLink,
    MismatchRecord,
    PhaseRecord,
    ProblemRecord,
    ReportInput,
    RunRecord,
    build_report,
    write_report,
)

HOSTILE = "<script>alert(1)</script>"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


class _Canary(BaseHTTPRequestHandler):
    hits: list[str] = []  # noqa: RUF012 - shared on purpose: the server makes one handler per request

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def canary() -> Iterator[tuple[str, list[str]]]:
    """A loopback HTTP server that records any request the page would make to it."""
    _Canary.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Canary)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Canary.hits
    server.shutdown()
    server.server_close()


def hostile_input(canary_url: str) -> ReportInput:
    img = f'<img src="{canary_url}/img" onerror="window.pwned=1">'
    style = f"</style><style>body{{background:url({canary_url}/css)}}</style>"
    link = f'<link rel="stylesheet" href="{canary_url}/link">'
    url = "https://acme.qtestnet.com/p/1/portal/project#id="
    run = RunRecord(
        1, "migrate run", ["extract", "load", "validate"], "succeeded", T0, T0, {"qtest": 9}, 2, 1, 3.5
    )
    return ReportInput(
        title=f"Report {HOSTILE}",
        project_key="PROJ",
        qtest_project_id=1,
        generated_at=T0,
        ztoq_version="0.1.0",
        store="sqlite:///x.db",
        runs=[run],
        phases=[PhaseRecord(1, p, "succeeded", T0, T0, {}) for p in ("extract", "load", "validate")],
        counts=[CountRow("test_case", 3, 3, 3, 3, 0, 0), CountRow(HOSTILE, 1, 1, 1, 0, 0, 0)],
        problems=[
            ProblemRecord("transform", "degraded", "html_dropped", "test_case", HOSTILE, img, "description"),
            ProblemRecord("transform", "degraded", style, "test_case", "PROJ-T2", link, HOSTILE),
            ProblemRecord("transform", "skipped", "no_end", "test_run", "PROJ-E1", f"{canary_url}/text"),
        ],
        mismatches=[MismatchRecord("test_case", "PROJ-T3", 3, None, "name", img, style)],
        entities=[
            EntityLink("test_case", HOSTILE, 1, url + "1", "created"),
            EntityLink("test_case", "PROJ-T2", 2, "javascript:window.pwned=2", "created"),
            EntityLink("test_case", "PROJ-T3", 3, f"{canary_url}/entity-link", "created"),
        ],
    )


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory, canary: tuple[str, list[str]]) -> Path:
    report = build_report(hostile_input(canary[0]))
    return write_report(report, tmp_path_factory.mktemp("report") / "report.html")


def run_chromium(args: list[str], tmp: Path, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    argv = [chromium(), *FLAGS, f"--user-data-dir={tmp / 'profile'}", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


class _Dom(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.scripts: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in = tag if tag in ("script", "style") else None
        if tag == "script":
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "script":
            self.scripts[-1] += data
        elif self._in is None:
            self.text.append(data)


def test_static_html_loads_nothing(report_file: Path, canary: tuple[str, list[str]]) -> None:
    html = report_file.read_text(encoding="utf-8")
    assert re.search(r"<(link|img|iframe|object|embed|video|audio|source|base)\b", html, re.I) is None
    assert re.search(r"<[^>]*\s(src|srcset|poster|data|action|xlink:href)\s*=", html, re.I) is None
    style = html[html.index("<style>") : html.index("</style>")]
    assert "url(" not in style
    assert "@import" not in style
    hrefs = re.findall(r'<a href="([^"]*)"', html)
    external = [h for h in hrefs if not h.startswith("#")]
    # only the two http(s) entity links (the canary one is a plain http URL: a link, never loaded)
    assert sorted(external) == [
        f"{canary[0]}/entity-link",
        "https://acme.qtestnet.com/p/1/portal/project#id=1",
    ]
    assert "javascript:" not in html


def test_dump_dom_shows_hostile_names_as_text(
    report_file: Path, tmp_path: Path, canary: tuple[str, list[str]]
) -> None:
    done = run_chromium(["--dump-dom", report_file.as_uri()], tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    dom = _Dom()
    dom.feed(done.stdout)
    text = "".join(dom.text)
    assert HOSTILE in text
    assert "qTest holds 1 entity fewer than expected" in text
    assert "Rate limiting: qTest or Zephyr answered 429" in text
    # the only script element is the report's own print helper; nothing from the source
    assert len(dom.scripts) == 1
    assert "alert" not in dom.scripts[0]
    assert not [t for t, _ in dom.tags if t in ("img", "link", "iframe")]
    assert not [a for _, a in dom.tags if any(k.startswith("on") for k in a)]
    assert canary[1] == []


def test_screenshot_is_saved_as_artifact(
    report_file: Path, tmp_path: Path, canary: tuple[str, list[str]]
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report-browser.png"
    shot.unlink(missing_ok=True)
    done = run_chromium([f"--screenshot={shot}", "--window-size=1280,2000", report_file.as_uri()], tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.exists()
    assert shot.stat().st_size > 20_000
    assert png_size(shot) == (1280, 2000)
    assert canary[1] == []


def test_no_request_leaves_the_page_and_print_expands(
    report_file: Path, tmp_path: Path, canary: tuple[str, list[str]]
) -> None:
    cdp = Cdp(tmp_path)
    try:
        target = cdp.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = cdp.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Network", "Page", "Log", "Runtime"):
            cdp.send(f"{domain}.enable", session=session)
        cdp.send("Page.navigate", {"url": report_file.as_uri()}, session=session)
        cdp.wait_for("Page.loadEventFired")

        def evaluate(expression: str) -> Any:
            result = cdp.send(
                "Runtime.evaluate",
                {"expression": expression, "returnByValue": True, "awaitPromise": True},
                session=session,
            )
            return result["result"].get("value")

        evaluate("new Promise(r => setTimeout(r, 300))")  # let any late request show up
        assert evaluate("document.body.innerText.includes('<script>alert(1)</script>')") is True
        assert evaluate("document.scripts.length") == 1
        assert evaluate("typeof window.pwned") == "undefined"
        assert evaluate("document.querySelectorAll('details:not([open])').length") > 0
        cdp.send("Page.printToPDF", {}, session=session)  # fires beforeprint: every group opens
        assert evaluate("document.querySelectorAll('details:not([open])').length") == 0

        requests = [
            e["params"]["request"]["url"]
            for e in cdp.events
            if e.get("method") == "Network.requestWillBeSent"
        ]
        assert requests == [report_file.as_uri()]
        logs = [e["params"]["entry"]["text"] for e in cdp.events if e.get("method") == "Log.entryAdded"]
        assert not [t for t in logs if "Content Security Policy" in t], logs
        exceptions = [e for e in cdp.events if e.get("method") == "Runtime.exceptionThrown"]
        assert exceptions == []
    finally:
        cdp.close()
    assert canary[1] == []
