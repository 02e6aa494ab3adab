"""Load in batches over a real store: intents first, creates concurrently, results together.

For each batch of ``performance.batch_size`` entities, every intent is committed before the first
create of the batch is sent, and every result is committed (then ``load.after_record`` reached)
after its last answer. A process killed in between leaves at most one batch of intents, which
the next run adopts from qTest instead of creating them again. The loaders are fakes that keep
"qTest" in a dict: what is tested is the Loader's protocol, not the qTest calls.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ztoq.config import build_config
from ztoq.pipeline import load, load_results
from ztoq.pipeline.context import PhaseContext
from ztoq.pipeline.load import Loader
from ztoq.pipeline.load_listings import Listings
from ztoq.pipeline.load_types import EntityLoader, Loaded
from ztoq.pipeline.progress import QuietProgress
from ztoq.plan import PlannedEntity, ref
from ztoq.qtest import QTestClient
from ztoq.rehearsal import simulator_config
from ztoq.store import PlannedItem, ProblemItem, Store, open_store

P = "DEMO"


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs (the test also stops the results' commit)."""


class FakeQTest:
    """qTest as a dict: Zephyr key -> id, and every create sent, in order."""

    def __init__(self) -> None:
        self.held: dict[str, int] = {}
        self.sent: list[PlannedEntity] = []


class FakeLoader:
    """Creates into a :class:`FakeQTest`, finds by key; ``before`` runs as each create is sent."""

    def __init__(self, qtest: FakeQTest, before: Callable[[PlannedEntity], None] | None = None) -> None:
        self.qtest = qtest
        self.before = before

    async def create(self, client: QTestClient, entity: PlannedEntity) -> Loaded:
        if self.before is not None:
            self.before(entity)
        self.qtest.sent.append(entity)
        await asyncio.sleep(random.uniform(0, 0.003))  # answers arrive in any order
        self.qtest.held[entity.source_key] = 1000 + len(self.qtest.held)
        return Loaded(self.qtest.held[entity.source_key])

    async def update(self, client: QTestClient, target_id: int, entity: PlannedEntity) -> Loaded:
        return Loaded(target_id)

    async def candidates(self, entity: PlannedEntity, listings: Listings) -> list[Loaded]:
        found = self.qtest.held.get(entity.source_key)
        return [] if found is None else [Loaded(found)]

    async def adopted(self, client: QTestClient, found: Loaded, entity: PlannedEntity) -> Loaded:
        return found

    async def delete(self, client: QTestClient, target_id: int, placement: str | None = None) -> None:
        raise NotImplementedError


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(build_config(config_data(tmp_path)).database)
    yield opened
    opened.close()


def config_data(tmp_path: Path) -> dict[str, Any]:
    return simulator_config("http://zephyr.sim", "http://qtest.sim", 1, tmp_path, max_workers=3, batch_size=3)


def make_loader(tmp_path: Path, store: Store, entity_type: str, loader: EntityLoader) -> Loader:
    """The load phase over ``store``, with ``loader`` for ``entity_type`` (attachments not migrated)."""
    config = build_config({**config_data(tmp_path), "migration": {"include_attachments": False}})
    with store.session() as repo:
        run_id = repo.start_run(P, "test", ["load"])
    ctx = PhaseContext(config, store, run_id, QuietProgress())
    return Loader(ctx, {t: FakeLoader(FakeQTest()) for t in load.LOAD_ORDER} | {entity_type: loader})


def run(loader: Loader) -> Loader:
    async def go() -> None:
        try:
            await loader.run()
        finally:
            await loader.ctx.aclose()

    asyncio.run(go())
    return loader


def run_load(tmp_path: Path, store: Store, loader: EntityLoader, entity_type: str) -> Loader:
    return run(make_loader(tmp_path, store, entity_type, loader))


def releases(store: Store, count: int) -> list[str]:
    keys = [f"TP-{n}" for n in range(count)]
    with store.session() as repo:
        repo.upsert_planned(
            P, [PlannedItem("release", key, {"body": {"name": key}, "extra": {}}) for key in keys]
        )
    return keys


def states(store: Store, entity_type: str) -> dict[str, tuple[str, int | None]]:
    with store.session() as repo:
        return {m.source_key: (m.state, m.target_id) for m in repo.iter_mappings(P, entity_type)}


def test_each_batch_records_its_intents_before_its_creates_and_its_results_after(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = releases(store, 7)
    batches = [keys[i : i + 3] for i in range(0, 7, 3)]
    qtest = FakeQTest()
    points: list[str] = []

    def before(entity: PlannedEntity) -> None:
        batch = next(b for b in batches if entity.source_key in b)
        now = states(store, "release")
        assert all(now[key] == ("intent", None) for key in batch if key not in qtest.held)
        assert all(now[key][0] == "created" for b in batches[: batches.index(batch)] for key in b)
        assert not any(key in now for b in batches[batches.index(batch) + 1 :] for key in b)

    def point(name: str) -> None:
        points.append(name.removeprefix("load."))
        if name == "load.after_record":
            recorded = [key for key, (state, _) in states(store, "release").items() if state == "created"]
            assert len(recorded) >= points.count("after_record")

    monkeypatch.setattr(load, "fault_point", point)
    monkeypatch.setattr(load_results, "fault_point", point)
    loader = run_load(tmp_path, store, FakeLoader(qtest, before), "release")

    assert sorted(e.source_key for e in qtest.sent) == keys
    assert states(store, "release") == {key: ("created", qtest.held[key]) for key in keys}
    batch = ["after_intent", "after_create"]
    for size in (3, 3, 1):
        head, points = points[: 3 * size], points[3 * size :]
        assert sorted(head[: 2 * size]) == sorted(batch * size)
        assert head[2 * size :] == ["after_record"] * size
    assert points == []
    counted = {t["type"]: (t["total"], t["done"]) for t in loader.ctx.reporter.snapshot()}
    assert counted["release"] == (7, 7), "the total comes from one COUNT, before any batch is read"


def test_a_kill_between_answers_and_their_record_leaves_intents_the_rerun_adopts(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = releases(store, 7)
    qtest = FakeQTest()
    answered: list[str] = []

    def point(name: str) -> None:
        if name == "load.after_create":
            answered.append(name)
            if len(answered) == 5:
                raise Killed

    monkeypatch.setattr(load, "fault_point", point)
    monkeypatch.setattr(
        load_results.LoadResults, "record", killed_record(load_results.LoadResults.record, answered)
    )
    with pytest.raises(Killed):
        run_load(tmp_path, store, FakeLoader(qtest), "release")
    left = states(store, "release")
    assert [key for key in keys if left.get(key, ("", None))[0] == "created"] == keys[:3]
    assert all(left[key] == ("intent", None) for key in keys[3:6]), "the second batch's intents stay"
    assert keys[6] not in left

    monkeypatch.undo()
    held_before = dict(qtest.held)
    assert len(held_before) >= 5, "the killed run's creates reached qTest"
    run_load(tmp_path, store, FakeLoader(qtest), "release")
    assert len(qtest.sent) == len({e.source_key for e in qtest.sent}) == 7, "nothing was created twice"
    final = states(store, "release")
    assert {key: target for key, (_, target) in final.items()} == qtest.held
    assert all(final[key] == ("adopted", held_before[key]) for key in keys[3:6] if key in held_before)
    assert all(final[key][0] == "created" for key in keys if key not in held_before)


def killed_record(record: Callable[[Any, Any], None], answered: list[str]) -> Callable[[Any, Any], None]:
    """``LoadResults.record``, which records nothing once the process is "killed"."""

    def guarded(self: Any, kept: Any) -> None:
        if len(answered) < 5:
            record(self, kept)

    return guarded


def test_a_runs_logs_go_oldest_first_across_batches_and_each_batch_reads_only_its_refs(
    tmp_path: Path, store: Store
) -> None:
    runs = {"R1": 41, "R2": 42, "R3": 43}
    logs = [(f"E-{n}", f"R{1 + n % 2}", f"2024-01-{10 + n:02d}") for n in range(8)]
    with store.session() as repo:
        for key, target in runs.items():
            repo.record_created(P, "test_run", key, target, "h")
        items = []
        for key, run_key, when in logs:
            entity = PlannedEntity(
                "test_log", key, {"note": key}, parent=ref("test_run", run_key), sort_key=when
            )
            items.append(PlannedItem("test_log", key, entity.to_payload(), entity.depends_on, 0, when))
        repo.upsert_planned(P, items)
    qtest = FakeQTest()
    refs_seen: list[dict[str, int]] = []

    def before(entity: PlannedEntity) -> None:
        refs_seen.append(dict(loader.ids["test_run"]))

    loader = make_loader(tmp_path, store, "test_log", FakeLoader(qtest, before))
    run(loader)
    by_run: dict[int, list[str]] = {}
    for entity in qtest.sent:
        by_run.setdefault(int(entity.parent), []).append(entity.source_key)
    assert by_run == {
        41: [key for key, run_key, _ in logs if run_key == "R1"],
        42: [key for key, run_key, _ in logs if run_key == "R2"],
    }
    # A batch reads the ids it refers to, not every mapping: never the run no log refers to.
    assert refs_seen
    assert all(set(seen) <= {"R1", "R2"} for seen in refs_seen)


def test_a_log_kept_as_it_was_is_recorded_even_after_a_failed_update(tmp_path: Path, store: Store) -> None:
    entity = PlannedEntity("test_log", "E-1", {"note": "moved"}, parent=ref("test_run", "R1"), sort_key="a")
    with store.session() as repo:
        repo.record_created(P, "test_run", "R1", 41, "h")
        repo.upsert_planned(
            P,
            [
                PlannedItem(
                    "test_log", "E-1", entity.to_payload(), entity.depends_on, 0, "a", source_hash="s1"
                )
            ],
        )
        repo.record_created(P, "test_log", "E-1", 501, "an older plan", source_hash="s1")
        repo.record_failed(P, "test_log", "E-1", "the update was refused")
    qtest = FakeQTest()
    run_load(tmp_path, store, FakeLoader(qtest), "test_log")
    assert qtest.sent == []
    assert states(store, "test_log") == {"E-1": ("updated", 501)}


class LinkingLoader(FakeLoader):
    """A :class:`FakeLoader` whose entities cover a Jira issue qTest has no requirement for, until
    ``found`` says it has one."""

    def __init__(self, qtest: FakeQTest) -> None:
        super().__init__(qtest)
        self.found = False

    def _linked(self, loaded: Loaded, entity: PlannedEntity) -> Loaded:
        if self.found:
            return loaded
        message = f"{entity.source_key} covers DEMO-1, which qTest has no requirement for."
        problem = ProblemItem("degraded", "requirement_not_found", message, detail={"issue": "DEMO-1"})
        return Loaded(loaded.target_id, problems=(problem,))

    async def create(self, client: QTestClient, entity: PlannedEntity) -> Loaded:
        return self._linked(await super().create(client, entity), entity)

    async def update(self, client: QTestClient, target_id: int, entity: PlannedEntity) -> Loaded:
        return self._linked(await super().update(client, target_id, entity), entity)


def load_problems(store: Store) -> list[tuple[str, str]]:
    with store.session() as repo:
        return sorted((p.source_key, p.code) for p in repo.list_problems(P, phase="load"))


def test_problems_found_while_loading_are_recorded_once_and_replaced_when_sent_again(
    tmp_path: Path, store: Store
) -> None:
    keys = releases(store, 4)
    loader = LinkingLoader(FakeQTest())
    run_load(tmp_path, store, loader, "release")
    recorded = [(key, "requirement_not_found") for key in keys]
    assert load_problems(store) == recorded, "recorded with their batches (of 3, then 1)"

    run_load(tmp_path, store, loader, "release")
    assert load_problems(store) == recorded, "a rerun that sends nothing keeps them, once each"

    with store.session() as repo:  # TP-0 changed in Zephyr: sent again, and its issue now found
        repo.upsert_planned(P, [PlannedItem("release", "TP-0", {"body": {"name": "new"}, "extra": {}})])
    loader.found = True
    run_load(tmp_path, store, loader, "release")
    assert load_problems(store) == recorded[1:]
