"""The ``ztoq`` entry point: command groups, ``--version``/``--debug``, and the exit-code convention.

Exit codes: 0 success; 1 a failed run (or an unexpected error); 2 bad input or configuration;
130 interrupted (state saved). Every failure is one sentence on stderr saying what is wrong and
what to do; tracebacks only with ``--debug`` (or ``ZTOQ_DEBUG=1``).
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
import traceback

import typer
from rich.console import Console

from ztoq import __version__
from ztoq.cli import bench, dashboard, db, demo, fields, migrate, simulate, users, verify, workflow
from ztoq.errors import ZtoqError

app = typer.Typer(
    name="ztoq",
    help="Migrate a whole Zephyr Scale test history to Tricentis qTest Manager.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(db.app, name="db")
app.add_typer(migrate.app, name="migrate")
app.add_typer(workflow.app, name="workflow")
app.add_typer(fields.app, name="fields")
app.add_typer(users.app, name="users")
app.add_typer(simulate.app, name="simulate")
app.command("demo")(demo.demo)
app.command("bench")(bench.bench)
app.command("verify-tokens")(verify.verify_tokens)
app.command("dashboard")(dashboard.dashboard)

_err = Console(stderr=True, highlight=False, soft_wrap=True)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ztoq {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks and debug logs on failure."),
) -> None:
    """Migrate a whole Zephyr Scale test history to Tricentis qTest Manager."""
    if debug:
        logging.getLogger("ztoq").setLevel(logging.DEBUG)


def _debug_requested(argv: list[str]) -> bool:
    return "--debug" in argv or os.environ.get("ZTOQ_DEBUG", "") not in ("", "0")


def _fail(message: str, code: int, debug: bool) -> int:
    logging.getLogger("ztoq").error(message, exc_info=debug)
    if debug:
        traceback.print_exc()
    _err.print(f"[bold red]Error:[/] {message}", markup=True, emoji=False)
    return code


#: glibc's ``M_MMAP_THRESHOLD`` option of ``mallopt``.
_M_MMAP_THRESHOLD = -3


def steady_memory() -> None:
    """Keep the process's memory from creeping up while files stream through it (glibc only).

    Attachments pass through in pieces of 64-256 KiB. glibc raises its mmap threshold each time
    such a piece is freed, after which pieces come from the heap and fragment it: measured with
    ``ztoq bench --cases 200 --large-attachments K --large-attachment-mb 20``, peak memory went
    from 111 MiB (K=2) to 122 MiB (K=40), and to 106/110 MiB with a fixed threshold. Fixing it
    at 128 KiB keeps such pieces out of the heap. Elsewhere (musl, macOS) this does nothing.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, 128 * 1024)
    except (OSError, AttributeError):
        pass


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return (as the console script: exit with) its exit code.

    Typer's standalone mode handles usage errors (exit 2) and ``--help``; our own exceptions
    escape it and are turned into one sentence and their exit code here.
    """
    steady_memory()
    args = list(sys.argv[1:] if argv is None else argv)
    debug = _debug_requested(args)
    code: int
    try:
        app(args=args, prog_name="ztoq", standalone_mode=True)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except KeyboardInterrupt:
        code = _fail("Interrupted; run the same command again to resume.", 130, debug)
    except ZtoqError as exc:
        code = _fail(str(exc), exc.exit_code, debug)
    except Exception as exc:
        code = _fail(
            f"ztoq hit an unexpected {type(exc).__name__}: {exc}. "
            "Re-run with --debug for the traceback and report it.",
            1,
            debug,
        )
    if argv is None:
        sys.exit(code)
    return code


if __name__ == "__main__":  # pragma: no cover
    run()
