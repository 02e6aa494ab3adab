"""What every entity loader returns and implements, and the loader of each registered type."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ztoq.pipeline.load_listings import Listings
from ztoq.plan import PlannedEntity
from ztoq.qtest import QTestClient
from ztoq.store import FileCache, ProblemItem


@dataclass(frozen=True)
class Loaded:
    """What qTest answered for a created, updated or adopted entity."""

    target_id: int
    pid: str | None = None
    web_url: str | None = None
    version: str | None = None
    #: Degraded values found while loading (e.g. a requirement to link that qTest lacks).
    problems: tuple[ProblemItem, ...] = ()
    #: What qTest holds, as listed (for an entity found rather than created: adoption compares it).
    wire: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)


class EntityLoader(Protocol):
    """How one planned entity type is created, updated, found again and deleted in qTest.

    Every method takes the planned entity with its references already resolved to qTest ids.
    """

    async def create(self, client: QTestClient, entity: PlannedEntity) -> Loaded: ...

    async def update(self, client: QTestClient, target_id: int, entity: PlannedEntity) -> Loaded: ...

    async def candidates(self, entity: PlannedEntity, listings: Listings) -> list[Loaded]:
        """Every entity qTest holds under ``entity``'s parent with its Zephyr key (more than one: duplicates).

        Recognised by the key only (a marker line or the "Zephyr Key" field), never by name alone;
        the fixed "root" and "adhoc" containers by name and description.
        """
        ...

    async def adopted(self, client: QTestClient, found: Loaded, entity: PlannedEntity) -> Loaded:
        """Finish taking over an entity found in qTest (a test case is approved when it should be)."""
        ...

    async def delete(self, client: QTestClient, target_id: int, placement: str | None = None) -> None:
        """Delete it in qTest; ``placement`` is what was recorded as its pid (an attachment's object)."""
        ...


@dataclass
class LoaderInputs:
    """What loaders are built from.

    Attributes:
        key_fields: per qTest object type, the id of its "Zephyr Key" field (None: none).
        case_ids: Zephyr test case key -> qTest id, kept current by the load phase as it goes
            (test logs bind their step results to the steps of those test cases).
        attachment_cache: where attachments are uploaded from (None: none can be uploaded).
        attachment_places: qTest attachment id -> the object it is on (``"test-cases/12"``),
            of every attachment ztoq already uploaded or adopted.
    """

    key_fields: Mapping[str, int | None] = field(default_factory=dict)
    case_ids: dict[str, int] = field(default_factory=dict)
    attachment_cache: FileCache | None = None
    attachment_places: Mapping[int, str] = field(default_factory=dict)


LoaderFactory = Callable[[LoaderInputs], EntityLoader]
