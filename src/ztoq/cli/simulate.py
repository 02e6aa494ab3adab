"""``ztoq simulate zephyr|zephyr-server|qtest``: serve a simulator of one vendor API on a loopback port."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from ztoq.errors import InputError
from ztoq.simulators.faults import FaultOptions

app = typer.Typer(
    help=(
        "Serve a simulator of the Zephyr Scale Cloud v2, Zephyr Scale Server/Data Center v1 or "
        "qTest Manager v3 API (for rehearsals and tests)."
    ),
    no_args_is_help=True,
)

HostOpt = typer.Option("127.0.0.1", "--host", help="Address to listen on (loopback by default).")
DataOpt = typer.Option(None, "--data", help="Seed the state from this JSON dataset file (see docs).")
GenerateOpt = typer.Option(0, "--generate", min=0, help="Generate a realistic project of about N test cases.")
SeedOpt = typer.Option(0, "--seed", help="Seed for --generate and for injected faults (reproducible).")
LatencyOpt = typer.Option(0.0, "--latency-ms", min=0, help="Add this latency to every request.")
RateOpt = typer.Option(0.0, "--rate-limit", min=0, help="Requests per second per token; over it: 429.")
FailOpt = typer.Option(0.0, "--fail-rate", min=0, max=1, help="Share of requests answered 5xx or dropped.")


def load_dataset(path: Path | None) -> dict[str, Any] | None:
    """Read a ``--data`` file, with one clear sentence on failure."""
    if path is None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"The dataset file {path} does not exist; check the --data path.") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(
            f"The dataset file {path} is not valid JSON ({exc}); fix or regenerate it."
        ) from None
    if not isinstance(data, dict):
        raise InputError(f"The dataset file {path} must hold one JSON object, not a {type(data).__name__}.")
    return data


def _faults(latency_ms: float, rate_limit: float, fail_rate: float, seed: int) -> FaultOptions:
    return FaultOptions(latency_ms=latency_ms, rate_limit=rate_limit, fail_rate=fail_rate, seed=seed)


@app.command("zephyr")
def zephyr(
    host: str = HostOpt,
    port: int = typer.Option(8100, "--port", min=0, max=65535, help="Port (0 = any free port)."),
    data: Path | None = DataOpt,
    generate: int = GenerateOpt,
    seed: int = SeedOpt,
    project_key: str = typer.Option("DEMO", "--project-key", help="Project key of a generated project."),
    latency_ms: float = LatencyOpt,
    rate_limit: float = RateOpt,
    fail_rate: float = FailOpt,
    token: str | None = typer.Option(None, "--token", help="The API token the simulator accepts."),
    max_results_cap: int = typer.Option(100, "--max-results-cap", min=1, help="Server cap on maxResults."),
    executions_per_case: float | None = typer.Option(
        None,
        "--executions-per-case",
        min=0.1,
        help="With --generate: about this many executions per test case.",
    ),
    no_attachments: bool = typer.Option(
        False, "--no-attachments", help="With --generate: attach no small files to the generated entities."
    ),
    large_attachments: int = typer.Option(
        0,
        "--large-attachments",
        min=0,
        help="With --generate: also attach K large files (see --large-attachment-mb), made on the fly.",
    ),
    large_attachment_mb: float = typer.Option(
        51.0, "--large-attachment-mb", min=0.001, help="Size of each --large-attachments file, in MiB."
    ),
    attachments_unavailable: bool = typer.Option(
        False,
        "--attachments-unavailable",
        help="Act as a tenant without the attachment operations: they all answer 503.",
    ),
) -> None:
    """Serve the Zephyr Scale Cloud REST API v2 under /v2 until interrupted."""
    from ztoq.serving import serve_forever
    from ztoq.simulators.zephyr import DEFAULT_ZEPHYR_TOKEN, ZephyrSimulator, generate_dataset

    dataset = load_dataset(data)
    if generate:
        if dataset is not None:
            raise InputError("Give either --data or --generate, not both.")
        dataset = generate_dataset(
            generate,
            seed=seed,
            project_key=project_key,
            executions_per_case=executions_per_case,
            attachments=not no_attachments,
            large_attachments=large_attachments,
            large_attachment_size=int(large_attachment_mb * 1024 * 1024),
        )
    sim = ZephyrSimulator(
        dataset,
        token=token or DEFAULT_ZEPHYR_TOKEN,
        faults=_faults(latency_ms, rate_limit, fail_rate, seed),
        max_results_cap=max_results_cap,
        attachments_available=not attachments_unavailable,
    )
    serve_forever(sim.app, host, port)


@app.command("zephyr-server")
def zephyr_server(
    host: str = HostOpt,
    port: int = typer.Option(8110, "--port", min=0, max=65535, help="Port (0 = any free port)."),
    data: Path | None = DataOpt,
    generate: int = GenerateOpt,
    seed: int = SeedOpt,
    project_key: str = typer.Option("DC", "--project-key", help="Project key of a generated project."),
    latency_ms: float = LatencyOpt,
    rate_limit: float = RateOpt,
    fail_rate: float = FailOpt,
    token: str | None = typer.Option(None, "--token", help="The personal access token accepted (Bearer)."),
    username: str | None = typer.Option(None, "--username", help="The Jira login accepted (Basic auth)."),
    password: str | None = typer.Option(None, "--password", help="The password of --username."),
    max_results_cap: int = typer.Option(1000, "--max-results-cap", min=1, help="Server cap on maxResults."),
    no_attachments: bool = typer.Option(
        False, "--no-attachments", help="With --generate: attach no small files to the generated entities."
    ),
    large_attachments: int = typer.Option(
        0,
        "--large-attachments",
        min=0,
        help="With --generate: also attach K large files (see --large-attachment-mb), made on the fly.",
    ),
    large_attachment_mb: float = typer.Option(
        51.0, "--large-attachment-mb", min=0.001, help="Size of each --large-attachments file, in MiB."
    ),
    context_path: str = typer.Option(
        "", "--context-path", help="Serve the Jira site below this context path (e.g. /jira)."
    ),
) -> None:
    """Serve the Zephyr Scale Server/Data Center REST API v1 (/rest/atm/1.0) and its Jira calls."""
    from ztoq.serving import serve_forever
    from ztoq.simulators.zephyr_server import (
        DEFAULT_SERVER_PASSWORD,
        DEFAULT_SERVER_TOKEN,
        DEFAULT_SERVER_USER,
        ZephyrServerSimulator,
    )

    dataset = load_dataset(data)
    settings: dict[str, Any] = {
        "token": token or DEFAULT_SERVER_TOKEN,
        "username": username or DEFAULT_SERVER_USER,
        "password": password or DEFAULT_SERVER_PASSWORD,
        "faults": _faults(latency_ms, rate_limit, fail_rate, seed),
        "max_results_cap": max_results_cap,
        "context_path": context_path,
    }
    if generate:
        if dataset is not None:
            raise InputError("Give either --data or --generate, not both.")
        sim = ZephyrServerSimulator.generated(
            generate,
            seed,
            project_key,
            attachments=not no_attachments,
            large_attachments=large_attachments,
            large_attachment_size=int(large_attachment_mb * 1024 * 1024),
            **settings,
        )
    else:
        sim = ZephyrServerSimulator(dataset, **settings)
    serve_forever(sim.app, host, port)


@app.command("qtest")
def qtest(
    host: str = HostOpt,
    port: int = typer.Option(8200, "--port", min=0, max=65535, help="Port (0 = any free port)."),
    data: Path | None = DataOpt,
    generate: int | None = typer.Option(
        None,
        "--generate",
        min=0,
        help="Build a project ready to receive the generated Zephyr project, already holding N test cases.",
    ),
    seed: int = SeedOpt,
    latency_ms: float = LatencyOpt,
    rate_limit: float = RateOpt,
    fail_rate: float = FailOpt,
    token: str | None = typer.Option(None, "--token", help="A bearer (API) token the simulator accepts."),
    attachment_limit_mb: float = typer.Option(
        50.0,
        "--attachment-limit-mb",
        min=0.001,
        help="Largest upload accepted (qTest SaaS: 50); over it: 413.",
    ),
) -> None:
    """Serve the qTest Manager REST API v3 (and /oauth) until interrupted."""
    from ztoq.serving import serve_forever
    from ztoq.simulators.qtest import DEFAULT_QTEST_TOKEN, QTestSimulator, generate_target

    dataset = load_dataset(data)
    if generate is not None:
        if dataset is not None:
            raise InputError("Give either --data or --generate, not both.")
        dataset = generate_target(seed=seed, existing_test_cases=generate)
    sim = QTestSimulator(
        dataset, token=token or DEFAULT_QTEST_TOKEN, faults=_faults(latency_ms, rate_limit, fail_rate, seed)
    )
    sim.state.attachment_limit = int(attachment_limit_mb * 1024 * 1024)
    serve_forever(sim.app, host, port)
