"""Run a simulator in a separate process (``ztoq simulate ... --port 0``) and learn its URL.

Used by ``ztoq demo``, ``ztoq bench`` and the end-to-end tests, so that the simulators do not
share the migration's interpreter (and its GIL) and are exercised exactly as a user starts them.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from ztoq.errors import ZtoqError

_LISTENING = re.compile(r"listening on (http://\S+)")


@dataclass
class SimulatorProcess:
    """A running ``ztoq simulate`` child process."""

    kind: str
    url: str
    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)

    pump: threading.Thread | None = None

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the process (SIGTERM, then SIGKILL after ``timeout``) and close its output pipe."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout)
        if self.pump is not None:
            self.pump.join(timeout=timeout)
        if self.process.stdout is not None:
            self.process.stdout.close()


def simulator_command(kind: str, *options: str) -> list[str]:
    """The command line serving simulator ``kind`` ("zephyr", "zephyr-server", "qtest") on a free port."""
    return [sys.executable, "-m", "ztoq.cli", "simulate", kind, "--port", "0", *options]


@contextlib.contextmanager
def run_simulator(kind: str, *options: str, startup_timeout: float = 60.0) -> Iterator[SimulatorProcess]:
    """Start ``ztoq simulate KIND --port 0 OPTIONS`` and yield it once it prints its URL."""
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    proc = subprocess.Popen(
        simulator_command(kind, *options),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines: list[str] = []
    found: dict[str, str] = {}
    ready = threading.Event()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            match = _LISTENING.search(line)
            if match and not ready.is_set():
                found["url"] = match.group(1)
                ready.set()
        ready.set()

    reader = threading.Thread(target=pump, name=f"sim-{kind}-stdout", daemon=True)
    reader.start()
    deadline = time.monotonic() + startup_timeout
    while not ready.wait(0.05):
        if time.monotonic() > deadline:
            break
    sim = SimulatorProcess(kind, found.get("url", ""), proc, lines, reader)
    if not sim.url:
        sim.stop()
        tail = " | ".join(lines[-5:]) or "no output"
        raise ZtoqError(f"The {kind} simulator did not start ({tail}).")
    try:
        yield sim
    finally:
        sim.stop()
