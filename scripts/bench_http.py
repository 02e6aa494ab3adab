"""CPU per request of ztoq's HTTP client (issue 13): a micro-benchmark of :class:`ztoq.http.ApiSession`.

A trivial Starlette app is served by uvicorn in a separate process (its CPU is not counted); this
process sends N requests through ``ApiSession.create`` (the factory the API clients use, with the
default ``network`` settings) with ``performance.max_workers`` requests in flight, alternating a
GET and a POST of small JSON bodies (``get_json``/``post_json``, decoded as the clients do: by
default straight through aiohttp, see ``ztoq.http.direct``), and prints the CPU time of this
process (``time.process_time``: user + system) per request.

Usage::

    .venv/bin/python scripts/bench_http.py                  # 5,000 requests, 8 in flight
    .venv/bin/python scripts/bench_http.py -n 20000 --workers 16 --repeat 3
    .venv/bin/python scripts/bench_http.py --httpx-transport   # httpx's own transport (httpcore)

Each run is preceded by a warm-up (connections opened, code paths warmed) that is not counted;
with ``--repeat`` the best and median runs are printed, the best being the least disturbed by
other processes on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from typing import Any

from ztoq.config import NetworkConfig, PerformanceConfig
from ztoq.http import ApiSession

WARM_UP = 300


def serve() -> None:
    """Serve the trivial API on a free port until killed, announcing its URL (the server process)."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from ztoq.serving import serve_forever

    async def read(request: Request) -> JSONResponse:
        item = int(request.path_params["item"])
        return JSONResponse({"id": item, "name": f"case {item}", "status": "Approved", "labels": ["a", "b"]})

    async def create(request: Request) -> JSONResponse:
        body = await request.json()
        return JSONResponse({"id": 1, **body}, status_code=201)

    app = Starlette(routes=[Route("/api/items/{item}", read), Route("/api/items", create, methods=["POST"])])
    serve_forever(app, "127.0.0.1", 0)


async def send(session: ApiSession, count: int, workers: int) -> None:
    """Send ``count`` requests, ``workers`` at a time, half GET and half POST of small JSON."""
    numbers = iter(range(count))

    async def worker() -> None:
        for number in numbers:
            if number % 2:
                answer = await session.get_json(f"/items/{number}", {"expand": "steps"})
            else:
                body: dict[str, Any] = {"name": f"case {number}", "priority": "High", "labels": ["x"]}
                answer = await session.post_json("/items", body)
            if not isinstance(answer, dict):
                raise RuntimeError(f"unexpected answer {answer!r}")

    await asyncio.gather(*(worker() for _ in range(workers)))


async def measure(
    base_url: str, count: int, workers: int, repeat: int, httpx_transport: bool
) -> list[tuple[float, float]]:
    """(CPU ms per request, wall seconds) of each of ``repeat`` runs of ``count`` requests."""
    network = NetworkConfig(http_transport="httpx" if httpx_transport else "aiohttp")
    session = ApiSession.create(api_name="Bench", base_url=base_url, network=network, max_workers=workers)
    runs = []
    async with session:
        await send(session, WARM_UP, workers)
        for _ in range(repeat):
            cpu, wall = time.process_time(), time.perf_counter()
            await send(session, count, workers)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            runs.append((cpu * 1000.0 / count, wall))
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", "--requests", type=int, default=5000, help="requests per run (5000)")
    default_workers = PerformanceConfig().max_workers
    parser.add_argument(
        "--workers",
        type=int,
        default=default_workers,
        help=f"in flight (performance.max_workers, {default_workers})",
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs (each of --requests)")
    parser.add_argument(
        "--httpx-transport",
        action="store_true",
        help="send through httpx's own transport (httpcore): network.http_transport: httpx",
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve()
        return 0
    server = subprocess.Popen([sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        announced = server.stdout.readline().split()  # "listening on http://127.0.0.1:PORT"
        if not announced:
            raise RuntimeError(f"the server exited with {server.wait()}")
        url = f"{announced[-1]}/api"
        runs = asyncio.run(measure(url, args.requests, args.workers, args.repeat, args.httpx_transport))
    finally:
        server.terminate()
        server.wait(timeout=10)
    best = min(runs)
    print(f"{args.requests} requests x {len(runs)} run(s), {args.workers} in flight (GET/POST JSON)")
    for cpu_ms, wall in runs:
        print(f"  CPU {cpu_ms:.3f} ms/request, wall {wall:.2f} s ({args.requests / wall:.0f} requests/s)")
    median = statistics.median(cpu for cpu, _ in runs)
    print(f"client CPU per request: best {best[0]:.3f} ms, median {median:.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
