"""``ztoq verify-tokens``: check both services' URLs, credentials, projects and permissions.

The Zephyr checks are those of the configured source, named in their heading: Zephyr Scale Cloud
(REST API v2) or Zephyr Scale Server/Data Center (REST API v1).

One line per check, marked ✓/✗ on a terminal and ``[ok]``/``[FAIL]`` when the output is piped or
logged. Exit 0 when every check passes, 2 when a URL, credential or access check fails, 1 when a
service itself failed (5xx, 429). Tokens are never printed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.text import Text

from ztoq.cli.console import ConfigOpt, InsecureOpt, JsonOpt, load, out
from ztoq.config import ZtoqConfig
from ztoq.errors import ConfigError, safe_path
from ztoq.sources import source_name, source_title
from ztoq.verify import FAIL, PASS, SKIP, WARN, Check, checks_json, exit_code
from ztoq.verify import verify_tokens as run_checks

#: (terminal mark, plain mark, style) per status.
_MARKS: dict[str, tuple[str, str, str]] = {
    PASS: ("✓", "[ok]  ", "green"),
    FAIL: ("✗", "[FAIL]", "bold red"),
    WARN: ("!", "[warn]", "yellow"),
    SKIP: ("-", "[skip]", "dim"),
}


def mark(status: str, *, terminal: bool | None = None) -> Text:
    """The mark of a check status: a coloured ✓/✗/!/- on a terminal, plain text otherwise."""
    terminal = out.is_terminal if terminal is None else terminal
    symbol, plain, style = _MARKS.get(status, ("?", "[?]   ", ""))
    return Text(symbol, style=style) if terminal else Text(plain)


def check_line(check: Check) -> Text:
    """``✓ Zephyr token: The token is accepted.``"""
    return Text.assemble(mark(check.status), " ", Text(f"{check.service} {check.name}: {check.message}"))


def zephyr_title(cfg: ZtoqConfig) -> str:
    """The configured source's title (``Zephyr Scale Cloud (REST API v2)``); unknown: Zephyr Scale."""
    try:
        return source_title(source_name(cfg))
    except ConfigError:
        return "Zephyr Scale"


def verify_tokens(
    config: Path | None = ConfigOpt,
    zephyr_token: str | None = typer.Option(
        None,
        "--zephyr-token",
        help="Zephyr Scale Cloud API token, or a Jira Server/Data Center personal access token "
        "(default: zephyr.api_token or ZTOQ_ZEPHYR_API_TOKEN).",
        show_default=False,
    ),
    qtest_token: str | None = typer.Option(
        None,
        "--qtest-token",
        help="qTest API bearer token (default: qtest.bearer_token or ZTOQ_QTEST_BEARER_TOKEN).",
        show_default=False,
    ),
    zephyr_url: str | None = typer.Option(
        None,
        "--zephyr-url",
        help="Zephyr Scale Cloud API base URL, or the Jira Server/Data Center site (default: the config's, "
        "else the Cloud US/global region).",
    ),
    zephyr_username: str | None = typer.Option(
        None,
        "--zephyr-username",
        help="Jira Server/Data Center user, with zephyr.password or ZTOQ_ZEPHYR_PASSWORD (a password is "
        "never a command-line option).",
        show_default=False,
    ),
    qtest_url: str | None = typer.Option(
        None, "--qtest-url", help="qTest site URL, e.g. https://x.qtestnet.com."
    ),
    project_key: str | None = typer.Option(None, "--project-key", help="Zephyr (Jira) project key to check."),
    qtest_project_id: int | None = typer.Option(
        None, "--qtest-project-id", help="qTest project id to check (with the permissions).", min=1
    ),
    insecure: bool = InsecureOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Check the Zephyr and qTest URLs, credentials, projects and permissions; say precisely what is wrong."""
    overrides: dict[str, Any] = {}
    for section, key, value in (
        ("zephyr", "api_token", zephyr_token),
        ("zephyr", "base_url", zephyr_url),
        ("zephyr", "username", zephyr_username),
        ("zephyr", "project_key", project_key),
        ("qtest", "bearer_token", qtest_token),
        ("qtest", "base_url", qtest_url),
        ("qtest", "project_id", qtest_project_id),
    ):
        if value is not None:
            overrides.setdefault(section, {})[key] = value
    cfg = load(config, overrides=overrides, required=False, insecure=insecure)
    checks = run_checks(cfg)
    code = exit_code(checks)
    if as_json:
        print(json.dumps({"ok": code == 0, "exit_code": code, "checks": checks_json(checks)}))
        raise typer.Exit(code)
    services = (
        ("Zephyr", f"{zephyr_title(cfg)}  {safe_path(cfg.zephyr.base_url)}"),
        (
            "qTest",
            f"qTest  {safe_path(cfg.qtest.base_url) or '(no URL)'}"
            + (f"  project {cfg.qtest.project_id}" if cfg.qtest.project_id else ""),
        ),
    )
    for service, title in services:
        out.print(Text(title, style="bold"))
        for check in checks:
            if check.service == service:
                out.print(check_line(check))
    failed = [c for c in checks if c.failed]
    if not failed:
        out.print("All checks passed.", markup=False)
    else:
        plural = "s" if len(failed) != 1 else ""
        out.print(
            f"{len(failed)} check{plural} failed; fix what they say, then run `ztoq verify-tokens` again.",
            markup=False,
        )
    raise typer.Exit(code)
