"""``ztoq verify-tokens``: every way credentials, URLs and access go wrong, said precisely.

Both simulators are served on loopback with distinctive tokens, so the tests can also prove that
no token (nor a piece of one) ever reaches the output. The region heuristic and 5xx handling use
``httpx.MockTransport``, since the real SmartBear hosts are not reachable from tests; the pure
classification helpers have unit tests at the end.
"""

from __future__ import annotations

import json
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from ztoq.cli.main import run
from ztoq.config import build_config
from ztoq.errors import NetworkError
from ztoq.http.probe import classify_network
from ztoq.serving import serve_in_thread
from ztoq.simulators.qtest import QTestSimulator
from ztoq.simulators.zephyr import ZephyrSimulator, generate_dataset
from ztoq.verify import FAIL, PASS, Check, exit_code, other_region, verify_tokens

ZEPHYR_TOKEN = "zq7Kp2Vw9Hc4Ld8Tn1Fb"
QTEST_TOKEN = "qt4Rs9Xb2Mv6Jw3Ye5Pa"
WRONG_ZEPHYR = "wzT3mQ8Gk5Rb7Nc2Xv"
WRONG_QTEST = "wqH6nL1Dp9Zs4Bt8Kw"
SECRETS = (ZEPHYR_TOKEN, QTEST_TOKEN, WRONG_ZEPHYR, WRONG_QTEST)


@dataclass
class Sims:
    zephyr: ZephyrSimulator
    qtest: QTestSimulator
    zephyr_url: str
    qtest_url: str
    html_url: str
    project_id: int


async def _login_page(request: Request) -> HTMLResponse:
    return HTMLResponse("<!DOCTYPE html><html><head><title>Sign in</title></head><body>Sign in</body></html>")


@pytest.fixture(scope="module")
def sims() -> Iterator[Sims]:
    zephyr = ZephyrSimulator(generate_dataset(3, seed=1), token=ZEPHYR_TOKEN)
    qtest = QTestSimulator.generated(token=QTEST_TOKEN)
    html = Starlette(routes=[Route("/{path:path}", _login_page)])
    with (
        serve_in_thread(zephyr.app) as zurl,
        serve_in_thread(qtest.app) as qurl,
        serve_in_thread(html) as hurl,
    ):
        project_id = next(iter(qtest.state.projects))
        yield Sims(zephyr, qtest, f"{zurl}/v2", qurl, hurl, project_id)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _verify(
    sims: Sims,
    capsys: pytest.CaptureFixture[str],
    *,
    zephyr_token: str | None = ZEPHYR_TOKEN,
    qtest_token: str | None = QTEST_TOKEN,
    zephyr_url: str | None = None,
    qtest_url: str | None = None,
    project_key: str = "DEMO",
    qtest_project_id: int | None = None,
    extra: tuple[str, ...] = (),
) -> tuple[int, dict[str, str], str]:
    """Run the command; return the exit code, each check's line by "<service> <name>", the output."""
    args = ["verify-tokens", "--zephyr-url", zephyr_url or sims.zephyr_url]
    args += ["--qtest-url", qtest_url or sims.qtest_url, "--project-key", project_key]
    args += ["--qtest-project-id", str(qtest_project_id or sims.project_id)]
    if zephyr_token is not None:
        args += ["--zephyr-token", zephyr_token]
    if qtest_token is not None:
        args += ["--qtest-token", qtest_token]
    capsys.readouterr()
    code = run([*args, *extra])
    captured = capsys.readouterr()
    text = captured.out + captured.err
    for secret in SECRETS:
        assert secret not in text
        # Not even a piece of one: every 6-character slice of every token stays out.
        assert not any(secret[i : i + 6] in text for i in range(len(secret) - 5)), secret
    lines: dict[str, str] = {}
    for line in captured.out.splitlines():
        if line.startswith("["):
            mark, _, rest = line.partition("]")
            rest = rest.strip()
            lines[rest.split(":", 1)[0]] = f"{mark}] {rest}"
    return code, lines, text


pytestmark = pytest.mark.e2e


def test_all_good(sims: Sims, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, text = _verify(sims, capsys)
    assert code == 0, text
    assert list(lines) == [
        "Zephyr base URL",
        "Zephyr token",
        "Zephyr project",
        "qTest base URL",
        "qTest token",
        "qTest project",
        "qTest permissions",
    ]
    assert all(line.startswith("[ok]") for line in lines.values()), text
    assert "Project DEMO (id 10001) is readable." in lines["Zephyr project"]
    assert "Every permission a migration needs is granted (17 checked)." in lines["qTest permissions"]
    assert f"Zephyr Scale Cloud (REST API v2)  {sims.zephyr_url}" in text
    assert "All checks passed." in text


def test_values_default_to_the_environment_and_the_config(
    sims: Sims, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ZTOQ_ZEPHYR_API_TOKEN", ZEPHYR_TOKEN)
    monkeypatch.setenv("ZTOQ_QTEST_BEARER_TOKEN", QTEST_TOKEN)
    config = tmp_path / "config.yaml"
    config.write_text(
        f"zephyr:\n  base_url: {sims.zephyr_url}\n  project_key: DEMO\n"
        f"qtest:\n  base_url: {sims.qtest_url}\n  project_id: {sims.project_id}\n"
    )
    capsys.readouterr()
    assert run(["verify-tokens", "--config", str(config), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True
    assert [c["status"] for c in report["checks"]] == [PASS] * 7
    assert ZEPHYR_TOKEN not in json.dumps(report)


def test_wrong_zephyr_token(sims: Sims, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, text = _verify(sims, capsys, zephyr_token=WRONG_ZEPHYR)
    assert code == 2
    assert lines["Zephyr base URL"].startswith("[ok]")
    assert lines["Zephyr token"].startswith("[FAIL] Zephyr token: Zephyr rejected the token (401)")
    # A simulator's URL is no Zephyr region: no region hint.
    assert "region" not in lines["Zephyr token"]
    assert (
        lines["Zephyr project"]
        == "[skip] Zephyr project: Project DEMO not checked: the token was not accepted."
    )
    assert all(lines[k].startswith("[ok]") for k in lines if k.startswith("qTest")), text


def test_missing_tokens(
    sims: Sims, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("ZTOQ_ZEPHYR_API_TOKEN", "zephyr_access_token", "ZEPHYR_ACCESS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name in ("ZTOQ_QTEST_BEARER_TOKEN", "qtest_bearer_token", "QTEST_BEARER_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    code, lines, _ = _verify(sims, capsys, zephyr_token=None, qtest_token=None)
    assert code == 2
    assert lines["Zephyr token"].startswith("[FAIL] Zephyr token: No Zephyr API token: pass --zephyr-token")
    assert lines["qTest token"].startswith("[FAIL] qTest token: No qTest credentials: pass --qtest-token")


def test_wrong_qtest_token(sims: Sims, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, text = _verify(sims, capsys, qtest_token=WRONG_QTEST)
    assert code == 2
    assert lines["qTest token"].startswith("[FAIL] qTest token: qTest rejected the token (401)")
    assert lines["qTest project"].startswith("[skip]")
    assert lines["qTest permissions"].startswith("[skip]")
    assert lines["Zephyr token"].startswith("[ok]"), text


def test_unreachable_base_urls(sims: Sims, capsys: pytest.CaptureFixture[str]) -> None:
    port = _closed_port()
    code, lines, _ = _verify(
        sims, capsys, zephyr_url=f"http://127.0.0.1:{port}/v2", qtest_url=f"http://127.0.0.1:{port}"
    )
    assert code == 2
    for service, url in (("Zephyr", f"http://127.0.0.1:{port}/v2"), ("qTest", f"http://127.0.0.1:{port}")):
        assert lines[f"{service} base URL"] == (
            f"[FAIL] {service} base URL: Cannot connect to {url}: 127.0.0.1:{port} refused the connection: "
            "nothing listens there."
        )
        assert lines[f"{service} token"].startswith(f"[skip] {service} token: Not checked: the base URL")


def test_base_urls_answering_with_a_web_page(sims: Sims, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, _ = _verify(sims, capsys, zephyr_url=f"{sims.html_url}/v2", qtest_url=sims.html_url)
    assert code == 2
    assert lines["Zephyr base URL"].startswith(
        f"[FAIL] Zephyr base URL: {sims.html_url}/v2 answered GET /projects with a web page (text/html), "
        "not the Zephyr REST API; the base URL is the API root, ending in /v2"
    )
    assert lines["qTest base URL"].startswith(
        f"[FAIL] qTest base URL: {sims.html_url} answered GET /api/v3/projects with a web page (text/html), "
        "not the qTest REST API; the base URL is the site address, without /api/v3"
    )


def test_base_urls_that_are_not_the_api_root(sims: Sims, capsys: pytest.CaptureFixture[str]) -> None:
    zephyr_wrong = sims.zephyr_url.replace("/v2", "/api/v2")
    code, lines, _ = _verify(sims, capsys, zephyr_url=zephyr_wrong, qtest_url=f"{sims.qtest_url}/api/v3")
    assert code == 2
    assert lines["Zephyr base URL"] == (
        f"[FAIL] Zephyr base URL: {zephyr_wrong} answered 404 to GET /projects, so it is not the Zephyr API "
        "root; the base URL is the API root, ending in /v2 (e.g. https://api.zephyrscale.smartbear.com/v2)."
    )
    assert lines["qTest base URL"].startswith(
        f"[FAIL] qTest base URL: {sims.qtest_url}/api/v3 answered 404 to GET /api/v3/projects"
    )


def test_a_url_without_v2_is_checked_as_a_jira_site(sims: Sims, capsys: pytest.CaptureFixture[str]) -> None:
    zephyr_root = sims.zephyr_url.removesuffix("/v2")
    code, lines, text = _verify(sims, capsys, zephyr_url=zephyr_root)
    assert code == 2
    assert f"Zephyr Scale Server/Data Center (REST API v1)  {zephyr_root}" in text
    assert lines["Zephyr base URL"].startswith(
        f"[FAIL] Zephyr base URL: {zephyr_root} answered 404 to GET /rest/atm/1.0/environments: it is not a "
        "Jira Server/Data Center site, or Zephyr Scale Server is not installed on it; set zephyr.base_url"
    )
    assert lines["Zephyr credentials"].startswith("[skip]")


def test_zephyr_project_not_found(sims: Sims, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, _ = _verify(sims, capsys, project_key="NOPE")
    assert code == 2
    assert lines["Zephyr project"].startswith(
        "[FAIL] Zephyr project: Zephyr project NOPE does not exist, has Zephyr Scale turned off, or the "
        "token's user cannot see it (404)"
    )


def test_qtest_project_not_accessible(sims: Sims, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, _ = _verify(sims, capsys, qtest_project_id=4)
    assert code == 2
    assert lines["qTest project"].startswith(
        "[FAIL] qTest project: qTest project 4 does not exist or the token's user is not a member of it (404)"
    )
    # It names the projects the user does see, to help pick the right id.
    assert f"this user sees {sims.project_id} 'Migration Target'" in lines["qTest project"]
    assert lines["qTest permissions"].startswith("[skip]")


def test_missing_qtest_permissions(sims: Sims, capsys: pytest.CaptureFixture[str]) -> None:
    state = sims.qtest.state
    profiles = state.project(sims.project_id).profiles
    with state.lock:
        profiles[state.admin_id] = {"test_case": {"approve": False}, "test_run": {"execute": False}}
    try:
        code, lines, _ = _verify(sims, capsys)
    finally:
        with state.lock:
            profiles.pop(state.admin_id)
    assert code == 2
    line = lines["qTest permissions"]
    assert line.startswith(
        "[FAIL] qTest permissions: The token's user lacks 2 qTest permissions a migration needs:"
    )
    assert "test_case.approve (approve test cases, as qtest.approve_test_cases is on)" in line
    assert "test_run.execute (submit test logs)" in line


# -- through mock transports: regions, server failures ----------------------------------------------------


def _config(zephyr_url: str, **qtest: Any) -> Any:
    return build_config(
        {
            "zephyr": {"base_url": zephyr_url, "api_token": WRONG_ZEPHYR, "project_key": "PROJ"},
            "qtest": qtest,
        }
    )


def _always(status: int, body: bytes = b'{"message": "nope"}') -> httpx.MockTransport:
    return httpx.MockTransport(
        lambda request: httpx.Response(status, content=body, headers={"content-type": "application/json"})
    )


@pytest.mark.parametrize(
    ("url", "suggested"),
    [
        ("https://api.zephyrscale.smartbear.com/v2", "https://eu.api.zephyrscale.smartbear.com/v2"),
        ("https://eu.api.zephyrscale.smartbear.com/v2", "https://api.zephyrscale.smartbear.com/v2"),
    ],
)
def test_a_401_from_a_zephyr_region_suggests_the_other_one(url: str, suggested: str) -> None:
    checks = verify_tokens(_config(url), zephyr_transport=_always(401))
    token = next(c for c in checks if c.service == "Zephyr" and c.name == "token")
    assert token.status == FAIL
    assert token.exit_code == 2
    assert f"try --zephyr-url {suggested} (a guess" in token.message
    assert WRONG_ZEPHYR not in " ".join(c.message for c in checks)


def test_server_errors_are_the_service_failing_not_the_config() -> None:
    checks = verify_tokens(
        _config(
            "https://api.zephyrscale.smartbear.com/v2",
            base_url="https://x.qtestnet.com",
            project_id=3,
            bearer_token=WRONG_QTEST,
        ),
        zephyr_transport=_always(503),
        qtest_transport=_always(500),
    )
    url = {c.service: c for c in checks if c.name == "base URL"}
    assert url["Zephyr"].status == FAIL
    assert url["Zephyr"].exit_code == 1
    assert "failed (GET /projects answered 503); try again in a few minutes" in url["Zephyr"].message
    assert url["qTest"].exit_code == 1
    assert exit_code(checks) == 1


def test_an_echoed_token_is_scrubbed() -> None:
    echo = httpx.MockTransport(
        lambda request: httpx.Response(
            400, json={"message": f"bad header {request.headers['authorization']}"}
        )
    )
    checks = verify_tokens(_config("https://api.zephyrscale.smartbear.com/v2"), zephyr_transport=echo)
    assert WRONG_ZEPHYR not in json.dumps([c.message for c in checks])


# -- pure helpers -----------------------------------------------------------------------------------------


def test_other_region() -> None:
    assert (
        other_region("https://api.zephyrscale.smartbear.com/v2")
        == "https://eu.api.zephyrscale.smartbear.com/v2"
    )
    assert (
        other_region("https://EU.api.zephyrscale.smartbear.com/v2")
        == "https://api.zephyrscale.smartbear.com/v2"
    )
    assert other_region("http://127.0.0.1:9000/v2") is None


def _wrapped(cause: BaseException) -> NetworkError:
    try:
        try:
            raise cause
        except BaseException as inner:
            raise httpx.ConnectError("All connection attempts failed") from inner
    except httpx.ConnectError as outer:
        error = NetworkError("Zephyr could not be reached", api="Zephyr")
        error.__cause__ = outer
        return error


@pytest.mark.parametrize(
    ("cause", "kind", "text"),
    [
        (
            socket.gaierror(-2, "Name or service not known"),
            "dns",
            "the host api.example.com cannot be resolved (DNS)",
        ),
        (
            ConnectionRefusedError(111, "Connect call failed"),
            "refused",
            "api.example.com:8443 refused the connection",
        ),
        (httpx.ConnectTimeout("timed out"), "timeout", "api.example.com:8443 did not answer within 7 s"),
        (
            ssl.SSLCertVerificationError("certificate verify failed"),
            "tls",
            "the TLS handshake with api.example.com",
        ),
        (OSError("something else"), "unreachable", "api.example.com:8443 cannot be reached"),
    ],
)
def test_classify_network(cause: BaseException, kind: str, text: str) -> None:
    answer = classify_network(_wrapped(cause), "https://api.example.com:8443/v2", 7)
    assert answer.kind == kind
    assert text in answer.detail


def test_exit_code_prefers_configuration_failures() -> None:
    ok = Check("Zephyr", "token", PASS, "fine")
    service = Check("qTest", "base URL", FAIL, "503", 1)
    config = Check("Zephyr", "project", FAIL, "404", 2)
    assert exit_code([ok]) == 0
    assert exit_code([ok, service]) == 1
    assert exit_code([service, config]) == 2
