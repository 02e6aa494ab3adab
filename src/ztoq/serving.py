"""Serving an ASGI app (the dashboard, a simulator) on a socket: in a background thread, or forever."""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn

from ztoq.errors import ZtoqError


class _Server(uvicorn.Server):
    """A uvicorn server that can tell which port it bound (uvicorn skips signals off the main thread)."""

    def bound_port(self) -> int:
        for server in getattr(self, "servers", []):
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        raise RuntimeError("server has no bound socket")


def _config(app: Any, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_keep_alive=30,
        # Loopback services under load (simulators, the dashboard): a tiny backlog would refuse bursts.
        backlog=2048,
    )


@contextlib.contextmanager
def serve_in_thread(app: Any, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve ``app`` on ``host:port`` (0 = a free port) in a daemon thread; yield its base URL."""
    server = _Server(_config(app, host, port))
    # Dropped connections are injected on purpose; uvicorn would log each one as an error.
    logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL)
    thread = threading.Thread(target=server.run, name=f"serve-{host}:{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise ZtoqError(f"The server could not start on {host}:{port}; is the port free?")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{server.bound_port()}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def serve_forever(app: Any, host: str, port: int, announce: str = "listening on") -> None:
    """Serve until interrupted; print ``listening on http://HOST:PORT`` once ready."""
    _check_port_free(host, port)
    logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL)

    class _Announcing(_Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:
                print(f"{announce} http://{host}:{self.bound_port()}", flush=True)

    server = _Announcing(_config(app, host, port))
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    sys.stdout.flush()


def _check_port_free(host: str, port: int) -> None:
    if port == 0:
        return
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise ZtoqError(
                f"Cannot listen on {host}:{port} ({exc.strerror}); choose another --port."
            ) from exc
