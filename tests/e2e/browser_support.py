"""Headless Chromium for the browser tests: finding it, driving it over the DevTools pipe.

Chromium is Debian's ``/usr/bin/chromium`` (``scripts/ensure-chromium.sh`` installs it; override
with ``ZTOQ_CHROMIUM``). Without it a browser test skips, unless ``ZTOQ_REQUIRE_CHROMIUM`` is set,
in which case it fails (CI sets it).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ztoq.dashboard import FLAGS, find_chromium

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def chromium() -> str:
    """The Chromium executable, or skip (fail when ZTOQ_REQUIRE_CHROMIUM is set)."""
    path = find_chromium()
    if path is None:
        why = (
            "Chromium not found; run scripts/ensure-chromium.sh (needs apt-get and root) or set ZTOQ_CHROMIUM"
        )
        if os.environ.get("ZTOQ_REQUIRE_CHROMIUM"):
            pytest.fail(why)
        pytest.skip(why)
    return path


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) of a PNG file (and that it is one)."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


class Cdp:
    """The Chrome DevTools protocol over --remote-debugging-pipe (fd 3 in, fd 4 out, NUL-framed)."""

    def __init__(self, tmp: Path) -> None:
        to_chrome_r, self._w = os.pipe()
        self._r, from_chrome_w = os.pipe()
        # A tiny Python trampoline puts the pipe ends on fds 3 and 4, then becomes Chromium.
        trampoline = (
            "import os,sys;os.dup2(int(sys.argv[1]),3);os.dup2(int(sys.argv[2]),4);"
            "os.execv(sys.argv[3],sys.argv[3:])"
        )
        argv = [chromium(), *FLAGS, f"--user-data-dir={tmp / 'cdp-profile'}", "--remote-debugging-pipe"]
        self.proc = subprocess.Popen(
            [sys.executable, "-c", trampoline, str(to_chrome_r), str(from_chrome_w), *argv],
            pass_fds=(to_chrome_r, from_chrome_w),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buf = b""
        self._id = 0
        self.events: list[dict[str, Any]] = []
        self.session: str | None = None

    def _recv(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buf:
            ready, _, _ = select.select([self._r], [], [], max(deadline - time.monotonic(), 0))
            if not ready:
                raise TimeoutError("no answer from Chromium")
            chunk = os.read(self._r, 1 << 16)
            if not chunk:
                raise EOFError("Chromium closed the pipe")
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        message: dict[str, Any] = json.loads(raw)
        return message

    def send(self, method: str, params: dict[str, Any] | None = None, *, session: str | None = None) -> Any:
        self._id += 1
        message: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._w, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + 15
        while True:
            answer = self._recv(deadline)
            if answer.get("id") == self._id:
                assert "error" not in answer, answer
                return answer["result"]
            self.events.append(answer)

    def wait_for(self, method: str, timeout: float = 15) -> dict[str, Any]:
        """The first event named ``method`` (recorded already, or arriving within ``timeout``)."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if event.get("method") == method:
                    return event
            self.events.append(self._recv(deadline))

    def open(self, url: str) -> None:
        """A new tab on ``url``, with network, page, log and runtime events recorded."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Network", "Page", "Log", "Runtime"):
            self.send(f"{domain}.enable", session=self.session)
        self.send("Page.navigate", {"url": url}, session=self.session)

    def evaluate(self, expression: str) -> Any:
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            session=self.session,
        )
        assert "exceptionDetails" not in result, result
        return result["result"].get("value")

    def close(self) -> None:
        with contextlib.suppress(OSError, EOFError, TimeoutError, AssertionError):
            self.send("Browser.close")
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._r)
        os.close(self._w)
