"""The qTest simulator's tables: records by ID, with indexes kept up to date as records come and go.

A request must cost what its answer costs, not what the project holds: listing the runs of a
test cycle, the attachments of a test log or the test cases of a module reads an index bucket
instead of scanning every record of the site. A :class:`Table` is a plain ``dict`` (ID ->
record) to its callers, so route modules, the loader and tests keep storing and deleting records
with ``table[id] = record`` and ``del table[id]``; every such write updates the indexes.

Index keys are computed from a record when it is stored. A route that changes an indexed
attribute of a stored record in place (moving a test run to another container, adding a version
to a test case) calls :meth:`Table.reindex` afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")

#: Record -> the keys it is listed under in one index (a record may be under several, or none).
KeyFunction = Callable[[Any], Iterable[Hashable]]

#: The index every table has: records by ``project_id``.
PROJECT = "project"


def _project_keys(record: Any) -> tuple[Hashable, ...]:
    project_id = getattr(record, "project_id", None)
    return () if project_id is None else (project_id,)


class Table(dict[int, T], Generic[T]):
    """Records by ID, plus named indexes: index key -> the records under it, by ID.

    Args:
        **indexes: Index name -> the keys of a record in that index. Every table also has the
            ``project`` index (records by ``project_id``).
    """

    def __init__(self, **indexes: KeyFunction) -> None:
        super().__init__()
        self._key_functions: dict[str, KeyFunction] = {PROJECT: _project_keys, **indexes}
        self._buckets: dict[tuple[str, Hashable], dict[int, T]] = {}
        #: Record ID -> the buckets it is in (a tuple: a table holds tens of thousands of records).
        self._entries: dict[int, tuple[tuple[str, Hashable], ...]] = {}
        #: Buckets whose insertion order is no longer ascending IDs (sorted when next read).
        self._unsorted: set[tuple[str, Hashable]] = set()

    # -- dict writes, each keeping the indexes ------------------------------------------------------

    def __setitem__(self, key: int, value: T) -> None:
        super().__setitem__(key, value)
        self._index(key, value)

    def __delitem__(self, key: int) -> None:
        super().__delitem__(key)
        self._unindex(key)

    def pop(self, key: int, *default: Any) -> Any:
        """Remove and return a record (or ``default`` when absent), as ``dict.pop``."""
        found = key in self
        value = super().pop(key, *default)
        if found:
            self._unindex(key)
        return value

    def popitem(self) -> tuple[int, T]:
        """Remove and return the last stored record, as ``dict.popitem``."""
        key, value = super().popitem()
        self._unindex(key)
        return key, value

    def setdefault(self, key: int, default: Any = None) -> Any:
        """The record with this ID, storing ``default`` first when absent, as ``dict.setdefault``."""
        if key not in self:
            self[key] = default
        return self[key]

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Store several records, as ``dict.update``."""
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def __ior__(self, other: Any) -> Table[T]:  # type: ignore[override,misc]
        self.update(other)
        return self

    def clear(self) -> None:
        """Remove every record."""
        super().clear()
        self._buckets.clear()
        self._entries.clear()
        self._unsorted.clear()

    def reindex(self, key: int) -> None:
        """Recompute a stored record's index keys after one of its indexed attributes changed.

        Args:
            key: The record's ID.
        """
        self._index(key, self[key])

    # -- reads ----------------------------------------------------------------------------------------

    def by(self, index: str, key: Hashable) -> list[T]:
        """The records under ``key`` in ``index``, by ID.

        Args:
            index: Index name (``project`` or one given to the constructor).
            key: The index key.

        Returns:
            The records (a new list).
        """
        return list(self._sorted_bucket((index, key)).values())

    def iter_by(self, index: str, key: Hashable) -> Iterator[T]:
        """The records under ``key`` in ``index``, by ID, without copying them into a list.

        The table must not change while the iterator is used.
        """
        return iter(self._sorted_bucket((index, key)).values())

    def count(self, index: str, key: Hashable) -> int:
        """How many records are under ``key`` in ``index``."""
        return len(self._buckets.get((index, key), ()))

    # -- internals ------------------------------------------------------------------------------------

    def _sorted_bucket(self, slot: tuple[str, Hashable]) -> dict[int, T]:
        bucket = self._buckets.get(slot)
        if bucket is None:
            return {}
        if slot in self._unsorted:
            self._unsorted.discard(slot)
            ordered = sorted(bucket.items())
            bucket.clear()
            bucket.update(ordered)
        return bucket

    def _index(self, key: int, value: T) -> None:
        slots = tuple(
            dict.fromkeys((name, k) for name, keys_of in self._key_functions.items() for k in keys_of(value))
        )
        old = self._entries.get(key, ())
        if old:
            kept = set(slots)
            for slot in old:
                if slot not in kept:
                    self._drop_from(slot, key)
        for slot in slots:
            bucket = self._buckets.setdefault(slot, {})
            if key not in bucket and bucket and key < next(reversed(bucket)):
                self._unsorted.add(slot)
            # A record already in the bucket keeps its place; the new object replaces the old.
            bucket[key] = value
        self._entries[key] = slots

    def _unindex(self, key: int) -> None:
        for slot in self._entries.pop(key, ()):
            self._drop_from(slot, key)

    def _drop_from(self, slot: tuple[str, Hashable], key: int) -> None:
        bucket = self._buckets.get(slot)
        if bucket is None:
            return
        bucket.pop(key, None)
        if not bucket:
            del self._buckets[slot]
            self._unsorted.discard(slot)
