"""What every entity loader returns and implements (shared by the design and execution loaders)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from ztoq.qtest import QTestClient
from ztoq.store import ProblemItem


@dataclass(frozen=True)
class Loaded:
    """What qTest answered for a created, updated or adopted entity."""

    target_id: int
    pid: str | None = None
    web_url: str | None = None
    version: str | None = None
    #: Degraded values found while loading (e.g. a requirement to link that qTest lacks).
    problems: tuple[ProblemItem, ...] = ()


class EntityLoader(Protocol):
    """How one planned entity type is created, updated and found again in qTest."""

    async def create(self, client: QTestClient, body: dict[str, Any], extra: dict[str, Any]) -> Loaded: ...

    async def update(
        self, client: QTestClient, target_id: int, body: dict[str, Any], extra: dict[str, Any]
    ) -> Loaded: ...

    async def find(
        self, client: QTestClient, source_key: str, body: dict[str, Any], extra: dict[str, Any]
    ) -> Loaded | None: ...
