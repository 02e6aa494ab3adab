"""Attachment rounds: planned while extract caches files, each round sent once, the rest left for the end."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from ztoq.pipeline import attachment_rounds
from ztoq.pipeline.attachment_rounds import AttachmentRounds
from ztoq.pipeline.context import PhaseContext
from ztoq.pipeline.load import Loader
from ztoq.pipeline.progress import ProgressReporter
from ztoq.store import FileCache


def _ctx(work: dict[str, str] | None = None) -> PhaseContext:
    """A context with rounds of 2 files; its store answers load work for the keys in ``work``."""

    found = work or {}

    class Repo:
        def load_work_for(self, project_key: str, entity_type: str, keys: list[str]) -> list[str]:
            return [found[key] for key in keys if key in found]

    @contextlib.contextmanager
    def session() -> Iterator[Repo]:
        yield Repo()

    config = SimpleNamespace(
        performance=SimpleNamespace(batch_size=2), migration=SimpleNamespace(verify_attachment_content=True)
    )
    ctx = SimpleNamespace(
        config=config,
        project_key="P",
        reporter=ProgressReporter(),
        session=session,
        check_cancelled=lambda: None,
        # Where long queues spill (never here: rounds of 2 keys stay in memory).
        attachment_cache=lambda: FileCache(Path(tempfile.gettempdir()) / "ztoq-test-rounds"),
    )
    return cast(PhaseContext, ctx)


def test_a_round_is_planned_once_enough_files_are_cached_and_none_after_extract(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rounds = AttachmentRounds(_ctx())
    planned: list[list[str]] = []

    def transform(ctx: Any, keys: list[str]) -> list[str]:
        planned.append(list(keys))
        return [key for key in keys if key != "skipped"]

    monkeypatch.setattr(attachment_rounds, "transform_attachments", transform)

    async def extract() -> None:
        rounds.file_cached("a")
        await asyncio.sleep(0.05)
        assert planned == [], "one file is not a round"
        rounds.file_cached("skipped")
        for _ in range(200):
            if planned:
                break
            await asyncio.sleep(0.01)
        rounds.file_cached("c")  # extract ends: left for the transform of every attachment

    async def run() -> None:
        extracting = asyncio.create_task(extract())
        await rounds.plan(extracting)
        await extracting

    asyncio.run(run())
    assert planned == [["a", "skipped"]]
    assert rounds.planned.take(9) == ["a"], "only what is sent goes to load"
    assert rounds.cached.take(9) == ["c"]


def test_load_sends_each_planned_round_until_planning_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = _ctx({"a": "work a", "b": "work b", "c": "work c"})
    rounds = AttachmentRounds(ctx)
    monkeypatch.setattr(attachment_rounds, "transform_attachments", lambda _ctx, keys: list(keys))
    batches: list[list[str]] = []

    class FakeLoader:
        def __init__(self) -> None:
            self.loaders = {"attachment": "the attachment loader"}
            self.sent: dict[str, int] = {}

        async def load_batch(self, loader: str, batch: list[str]) -> None:
            assert loader == "the attachment loader"
            batches.append(batch)

    fake = FakeLoader()

    async def extract() -> None:
        for key in ("a", "b", "c", "loaded"):  # "loaded": qTest holds it as planned, no work
            rounds.file_cached(key)
            for _ in range(200):
                if len(rounds.cached) < 2:  # taken by a round
                    break
                await asyncio.sleep(0.01)

    async def run() -> None:
        extracting = asyncio.create_task(extract())
        transforming = asyncio.create_task(rounds.plan(extracting))
        await rounds.load(cast(Loader, fake), transforming)
        assert transforming.done(), "load ends once no more rounds are planned"
        await extracting

    asyncio.run(run())
    assert [key for batch in batches for key in batch] == ["work a", "work b", "work c"]
    assert fake.sent == {"attachment": 3}
    counts = rounds.counted()
    assert counts is not None
    assert (counts.total, counts.done) == (3, 0)


def test_what_rounds_counted_is_added_back_after_the_load_of_every_attachment() -> None:
    ctx = _ctx()
    rounds = AttachmentRounds(ctx)
    ctx.reporter.add_to_total("load", "attachment", 5)
    ctx.reporter.advance("load", "attachment", 4, failed=1)
    counted = rounds.counted()
    ctx.reporter.start("load", "attachment", total=2)  # the final load starts the count over
    ctx.reporter.advance("load", "attachment", 2)
    rounds.count_again(counted)
    task = ctx.reporter.tasks[("load", "attachment")]
    assert (task.total, task.done, task.failed) == (7, 6, 1)


def test_each_batch_sent_is_read_back_when_validate_follows(monkeypatch: pytest.MonkeyPatch) -> None:
    works = {key: SimpleNamespace(planned=SimpleNamespace(source_key=key)) for key in ("a", "b", "c")}
    ctx = _ctx(cast(dict[str, str], works))
    events: list[tuple[str, list[str]]] = []

    class FakeLoader:
        def __init__(self) -> None:
            self.loaders = {"attachment": "the attachment loader"}
            self.sent: dict[str, int] = {}

        async def load_batch(self, loader: str, batch: list[Any]) -> None:
            events.append(("sent", [work.planned.source_key for work in batch]))

    async def read_uploads(read_ctx: Any, keys: list[str], *, deep: bool) -> int:
        assert read_ctx is ctx
        assert deep, "as deep as the validation of the run"
        events.append(("read", keys))
        return len(keys)

    monkeypatch.setattr(attachment_rounds, "read_uploads", read_uploads)
    keys = ["a", "b", "loaded", "held", "c"]  # qTest holds "loaded" and "held" as planned: not sent
    for read_back, expected in (
        (False, [("sent", ["a", "b"]), ("sent", ["c"])]),
        (True, [("sent", ["a", "b"]), ("read", ["a", "b"]), ("sent", ["c"]), ("read", ["c"])]),
    ):
        events.clear()
        rounds = AttachmentRounds(ctx, read_back=read_back)
        asyncio.run(rounds._send(cast(Loader, FakeLoader()), keys))
        assert events == expected
