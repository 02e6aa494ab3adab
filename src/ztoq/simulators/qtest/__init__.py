"""Simulator of the Tricentis qTest Manager REST API v3, the target of a ztoq migration.

It follows the published contract (Tricentis' Swagger file ``api-manager-v3.0.yaml`` and the
qTest API documentation); ``docs/simulators-qtest.md`` lists every endpoint served, the
``--data`` format and each behaviour where the simulator had to guess.

Example::

    sim = QTestSimulator.generated(seed=1)
    with serve_in_thread(sim.app) as base_url:
        ...  # bearer token: DEFAULT_QTEST_TOKEN, or POST /oauth/token
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from ztoq.simulators.faults import ASGIApp, FaultOptions, RequestStats
from ztoq.simulators.qtest.app import build_app
from ztoq.simulators.qtest.generate import (
    DEFAULT_QTEST_PASSWORD,
    DEFAULT_QTEST_TOKEN,
    DEFAULT_QTEST_USER,
    default_dataset,
    generate_target,
)
from ztoq.simulators.qtest.state import QTestState

__all__ = [
    "DEFAULT_QTEST_PASSWORD",
    "DEFAULT_QTEST_TOKEN",
    "DEFAULT_QTEST_USER",
    "QTestSimulator",
    "QTestState",
    "generate_target",
]


class QTestSimulator:
    """A qTest Manager v3 simulator: an ASGI ``app`` over an in-memory ``state``.

    Args:
        dataset: The ``--data`` object; None serves one empty project ready to receive a
            migration, a few users, the system fields and the default execution statuses.
        token: The static API token, always accepted as a bearer token (``--token``).
        faults: Latency, rate limit and failure injection (all off by default).
        clock: Source of the current time (tests may inject one).
        token_ttl: Lifetime in seconds of tokens issued by ``POST /oauth/token``.

    Raises:
        InputError: The dataset is malformed.
    """

    def __init__(
        self,
        dataset: dict[str, Any] | None = None,
        *,
        token: str = DEFAULT_QTEST_TOKEN,
        faults: FaultOptions | None = None,
        clock: Callable[[], datetime] | None = None,
        token_ttl: int = 3600,
    ) -> None:
        self.state = QTestState(
            dataset if dataset is not None else default_dataset(), token, clock=clock, token_ttl=token_ttl
        )
        self.stats = RequestStats()
        self.faults = faults or FaultOptions()
        self.app: ASGIApp = build_app(self.state, self.faults, self.stats)

    @classmethod
    def generated(cls, test_cases: int = 0, seed: int = 0, **kw: Any) -> QTestSimulator:
        """A simulator serving :func:`generate_target`'s project.

        Args:
            test_cases: Test cases already in the target (left alone by a rollback).
            seed: Seed of the generated project.
            **kw: ``project_name`` goes to :func:`generate_target`; the rest to the constructor.

        Returns:
            The simulator.
        """
        target: dict[str, Any] = {"existing_test_cases": test_cases}
        if "project_name" in kw:
            target["project_name"] = kw.pop("project_name")
        return cls(generate_target(seed, **target), **kw)
