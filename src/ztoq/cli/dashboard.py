"""``ztoq dashboard``: serve a live view of the project's current or last run, read from the store."""

from __future__ import annotations

from pathlib import Path

import typer

from ztoq.cli.console import ConfigOpt, err, load


def dashboard(
    config: Path | None = ConfigOpt,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (loopback by default)."),
    port: int = typer.Option(8300, "--port", min=0, max=65535, help="Port (0 = any free port)."),
) -> None:
    """Serve a web page showing the migration's live progress (read-only; Ctrl+C stops it)."""
    from ztoq.dashboard import create_dashboard_app, is_loopback
    from ztoq.serving import serve_forever

    cfg = load(config)
    loopback = is_loopback(host)
    if not loopback:
        err.print(
            f"Warning: listening on {host}: anyone who can reach it sees the migration's status "
            "(project, entity keys, problem messages); there is no login.",
            markup=False,
        )
    app = create_dashboard_app(
        cfg, allowed_hosts=_loopback_names(host) if loopback else None, config_file=str(config)
    )
    try:
        serve_forever(app, host, port, announce="dashboard on")
    finally:
        app.state.status_source.close()


def _loopback_names(host: str) -> list[str]:
    from ztoq.dashboard import LOOPBACK_HOSTS

    names = [*LOOPBACK_HOSTS]
    bracketed = f"[{host}]" if ":" in host and not host.startswith("[") else host
    if bracketed not in names:
        names.append(bracketed)
    return names
