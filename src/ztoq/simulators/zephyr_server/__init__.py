"""Simulator of the Zephyr Scale Server / Data Center REST API v1 (``/rest/atm/1.0``) and its Jira site.

``ZephyrServerSimulator(dataset)`` serves a ``--data`` dataset (or nothing) as an ASGI app, below an
optional Jira context path; ``ZephyrServerSimulator.generated(n, seed)`` serves a generated project.
See docs/simulators-zephyr-server.md for the wire format, the dataset format, the endpoints and
every behaviour the vendor's specification leaves open.
"""

from ztoq.simulators.zephyr_server.app import (
    DEFAULT_SERVER_PASSWORD,
    DEFAULT_SERVER_TOKEN,
    DEFAULT_SERVER_USER,
    ZephyrServerSimulator,
)

__all__ = [
    "DEFAULT_SERVER_PASSWORD",
    "DEFAULT_SERVER_TOKEN",
    "DEFAULT_SERVER_USER",
    "ZephyrServerSimulator",
]
