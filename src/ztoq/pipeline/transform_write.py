"""Transform's writes: planned entities of one type stored a batch at a time, and what went stale.

Each batch of ``performance.batch_size`` plans is stored with its problems and committed, so an
interrupted transform keeps what it wrote (a rerun only rewrites what changed). Once a type is
planned, the plans stored before whose source no longer calls for them are deleted and recorded
as ``deleted_in_source``. The keys planned in this run are kept as digests (:class:`KeySet`), so
a type of a million entities costs a few megabytes, never the entities.
"""

from __future__ import annotations

import hashlib
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence

from ztoq.pipeline.context import PhaseContext
from ztoq.pipeline.faults import fault_point
from ztoq.plan import PlannedEntity
from ztoq.store import PlannedItem, ProblemItem, Repository

PHASE = "transform"

#: Digests are 76 bits: the first 12 pick a bucket, the other 64 are stored in it.
_BUCKET_BITS = 12
_LOW_BITS = 64


class KeySet:
    """A set of keys kept as 76-bit digests, 8 bytes a key (a key as a Python string costs about 90).

    Add every key, then :meth:`freeze` before asking. Two keys share a digest with a probability
    below 1e-10 for ten million keys; that would only keep a stale plan, never delete a current one.
    """

    def __init__(self) -> None:
        self._buckets = [array("Q") for _ in range(1 << _BUCKET_BITS)]
        self._frozen = False
        self.count = 0

    @staticmethod
    def _digest(key: str) -> tuple[int, int]:
        value = int.from_bytes(hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=10).digest())
        return value >> (80 - _BUCKET_BITS), value & ((1 << _LOW_BITS) - 1)

    def add(self, key: str) -> None:
        """Add ``key`` (before :meth:`freeze`)."""
        if self._frozen:
            raise RuntimeError("KeySet.add after freeze")
        bucket, low = self._digest(key)
        self._buckets[bucket].append(low)
        self.count += 1

    def freeze(self) -> None:
        """Sort the digests so :meth:`__contains__` can search them."""
        self._buckets = [array("Q", sorted(bucket)) for bucket in self._buckets]
        self._frozen = True

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str) or not self._frozen:
            raise TypeError("KeySet holds str keys and answers once frozen")
        bucket, low = self._digest(key)
        digests = self._buckets[bucket]
        at = bisect_left(digests, low)
        return at < len(digests) and digests[at] == low


def to_item(planned: PlannedEntity, source_hash: str | None = None) -> PlannedItem:
    """A mapping result as the store keeps it (skipped entities keep their reason, not a payload)."""
    return PlannedItem(
        entity_type=planned.entity_type,
        source_key=planned.source_key,
        payload=planned.to_payload(),
        depends_on=planned.depends_on,
        level=planned.level,
        sort_key=planned.sort_key,
        source_hash=source_hash,
        status="skipped" if planned.skipped else "planned",
    )


def _problem_items(planned: PlannedEntity) -> list[ProblemItem]:
    return [ProblemItem(p.severity, p.code, p.message, p.field, p.detail) for p in planned.problems]


#: Source hashes of a batch of plans' keys (test logs: the execution as extracted), or None.
SourceHashes = Callable[[Repository, list[str]], Mapping[str, str]]


def write_plans(
    ctx: PhaseContext,
    repo: Repository,
    entity_type: str,
    batches: Iterable[Sequence[PlannedEntity]],
    *,
    expected: int | None = None,
    source_hashes: SourceHashes | None = None,
) -> int:
    """Store every plan of ``entity_type`` a batch at a time, then drop the plans gone stale.

    Args:
        ctx: the phase (config, reporter, run).
        repo: the session to write with; committed after each batch.
        entity_type: the planned type.
        batches: its plans, in batches of any size (stored in batches of ``performance.batch_size``).
        expected: about how many there are (progress), or None.
        source_hashes: what each plan was made from, when load needs it (test logs).

    Returns:
        How many plans were stored.
    """
    size = ctx.config.performance.batch_size
    ctx.reporter.start(PHASE, entity_type, total=expected)
    planned = KeySet()
    for batch in batches:
        for start in range(0, len(batch), size):
            chunk = batch[start : start + size]
            keys = [p.source_key for p in chunk]
            store_plans(ctx, repo, chunk, source_hashes(repo, keys) if source_hashes is not None else {})
            for key in keys:
                planned.add(key)
            ctx.reporter.advance(PHASE, entity_type, len(chunk), skipped=sum(1 for p in chunk if p.skipped))
            fault_point("transform.batch")
    planned.freeze()
    drop_stale(ctx, repo, entity_type, planned)
    if expected != planned.count:
        ctx.reporter.set_total(PHASE, entity_type, planned.count)
    ctx.reporter.finish(PHASE, entity_type)
    return planned.count


def store_plans(
    ctx: PhaseContext,
    repo: Repository,
    plans: Sequence[PlannedEntity],
    hashes: Mapping[str, str] | None = None,
) -> None:
    """Store some plans with their problems (replacing those of their last transform), and commit."""
    hashes = hashes or {}
    repo.upsert_planned(ctx.project_key, [to_item(p, hashes.get(p.source_key)) for p in plans])
    repo.replace_problems_bulk(
        ctx.project_key,
        PHASE,
        [(p.entity_type, p.source_key, _problem_items(p)) for p in plans],
        run_id=ctx.run_id,
    )
    repo.commit()


def drop_stale(ctx: PhaseContext, repo: Repository, entity_type: str, planned: KeySet) -> None:
    """Delete the stored plans of ``entity_type`` not planned in this run, each with its reason."""
    # Keyset pages: deleting keys already read does not move the next page.
    for page in repo.planned_key_pages(ctx.project_key, entity_type):
        stale = [key for key in page if key not in planned]
        if not stale:
            continue
        repo.delete_planned(ctx.project_key, entity_type, stale)
        repo.replace_problems_bulk(
            ctx.project_key,
            PHASE,
            [
                (
                    entity_type,
                    key,
                    [
                        ProblemItem(
                            "skipped",
                            "deleted_in_source",
                            f"{key} no longer exists in Zephyr; it is not sent to qTest again "
                            "(what was migrated before stays in qTest).",
                        )
                    ],
                )
                for key in stale
            ],
            run_id=ctx.run_id,
        )
        repo.commit()
