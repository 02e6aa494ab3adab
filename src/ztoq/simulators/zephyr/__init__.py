"""Simulator of the Zephyr Scale Cloud REST API v2, and its deterministic dataset generator.

``ZephyrSimulator(dataset)`` serves a ``--data`` dataset (or nothing) under ``/v2`` as an ASGI
app; ``generate_dataset(n, seed)`` builds a realistic project in that format. See
docs/simulators-zephyr.md for the dataset format, the endpoints and every behaviour the
vendor's specification leaves open.
"""

from ztoq.simulators.zephyr.app import DEFAULT_ZEPHYR_TOKEN, ZephyrSimulator
from ztoq.simulators.zephyr.generate import generate_dataset

__all__ = ["DEFAULT_ZEPHYR_TOKEN", "ZephyrSimulator", "generate_dataset"]
