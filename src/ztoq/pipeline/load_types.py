"""What every entity loader returns and implements, and the loader of each registered type."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from ztoq.plan import PlannedEntity
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
    """How one planned entity type is created, updated, found again and deleted in qTest.

    Every method takes the planned entity with its references already resolved to qTest ids.
    """

    async def create(self, client: QTestClient, entity: PlannedEntity) -> Loaded: ...

    async def update(self, client: QTestClient, target_id: int, entity: PlannedEntity) -> Loaded: ...

    async def find(self, client: QTestClient, entity: PlannedEntity) -> Loaded | None:
        """The entity qTest already holds with this Zephyr key under its parent, or None."""
        ...

    async def delete(self, client: QTestClient, target_id: int) -> None: ...


@dataclass
class LoaderInputs:
    """What loaders are built from.

    Attributes:
        key_fields: per qTest object type, the id of its "Zephyr Key" field (None: none).
        case_ids: Zephyr test case key -> qTest id, kept current by the load phase as it goes
            (test logs bind their step results to the steps of those test cases).
    """

    key_fields: Mapping[str, int | None] = field(default_factory=dict)
    case_ids: dict[str, int] = field(default_factory=dict)


LoaderFactory = Callable[[LoaderInputs], EntityLoader]
