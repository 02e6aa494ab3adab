"""Step ids and step log ids: taken from the answers that carry them, else read once per object.

qTest answers a test case create with its steps and a test log create with its step logs
(``TestCaseWithCustomFieldResource``, ``TestLogResource``), so test logs and step attachments need
not read back what load has just created. An approval makes a version with new step ids: only
its own answer may say them, otherwise they are read (once, whoever asks first).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ztoq.http import ApiSession, RetryPolicy
from ztoq.mapping.steps import step_ref
from ztoq.pipeline import load_design
from ztoq.pipeline.load_attachments import AttachmentLoader, step_log_owners
from ztoq.pipeline.load_execution import LogLoader
from ztoq.pipeline.load_listings import Listings
from ztoq.pipeline.load_types import IdSet, KnownIds, NoAttachmentPlaces, PackedKeys
from ztoq.plan import PlannedEntity, ref
from ztoq.qtest import QTestClient
from ztoq.qtest.models import Attachment
from ztoq.store import FileCache, PlannedRecord, Repository

P = "/api/v3/projects/7"
Answer = Callable[[httpx.Request], httpx.Response]


def client_for(answer: Answer, seen: list[str]) -> QTestClient:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        return answer(request)

    session = ApiSession(
        httpx.AsyncClient(transport=httpx.MockTransport(handler)),
        api_name="qTest",
        base_url="https://acme.qtestnet.com",
        auth=lambda: "Bearer qtest-token",
        retry=RetryPolicy(retry_count=0, base_delay=0.0),
        owns_client=True,
    )
    return QTestClient(session, 7)


def steps(*ids: int) -> list[dict[str, Any]]:
    # Out of order on purpose: ids are taken by ``order``.
    return sorted(
        ({"id": i, "order": n, "description": "d"} for n, i in enumerate(ids, 1)), key=lambda s: -s["id"]
    )


def case(case_id: int, version: str, step_ids: tuple[int, ...] | None) -> dict[str, Any]:
    body: dict[str, Any] = {"id": case_id, "pid": f"TC-{case_id}", "version": version}
    if step_ids is not None:
        body["test_steps"] = steps(*step_ids)
    return body


def case_entity(approve: bool) -> PlannedEntity:
    return PlannedEntity("test_case", "T-1", {"name": "Login", "parent_id": 3}, approve=approve)


def test_known_ids_read_once_for_concurrent_askers_and_again_after_a_failure() -> None:
    known = KnownIds()
    reads: list[int] = []

    async def read() -> list[int]:
        reads.append(1)
        await asyncio.sleep(0)
        if len(reads) == 1:
            raise RuntimeError("dropped")
        return [5, 6]

    async def scenario() -> None:
        with pytest.raises(RuntimeError):
            await known.get(1, read)
        assert await asyncio.gather(known.get(1, read), known.get(1, read)) == [(5, 6), (5, 6)]
        assert await known.get(1, read) == (5, 6)
        known.remember(2, [9])
        assert await known.get(2, read) == (9,)
        known.remember(2, None)
        assert 2 not in known

    asyncio.run(scenario())
    assert len(reads) == 2


def test_a_created_test_case_that_is_not_approved_keeps_the_steps_of_its_create_answer() -> None:
    seen: list[str] = []
    client = client_for(lambda r: httpx.Response(200, json=case(12, "0.1", (101, 102))), seen)
    known = KnownIds()
    loaded = asyncio.run(
        load_design.TestCaseLoader(None, steps=known).create(client, case_entity(approve=False))
    )
    assert loaded.target_id == 12
    assert seen == [f"POST {P}/test-cases"]
    assert asyncio.run(known.get(12, _never)) == (101, 102)


@pytest.mark.parametrize(("approve_steps", "kept"), [((201, 202), (201, 202)), (None, None)])
def test_an_approved_test_case_keeps_only_the_steps_its_approval_answered(
    approve_steps: tuple[int, ...] | None, kept: tuple[int, ...] | None
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/approve"):
            return httpx.Response(200, json=case(12, "1.0", approve_steps))
        return httpx.Response(200, json=case(12, "0.1", (101, 102)))

    seen: list[str] = []
    known = KnownIds()
    loaded = asyncio.run(
        load_design.TestCaseLoader(None, steps=known).create(client_for(answer, seen), case_entity(True))
    )
    assert (loaded.target_id, loaded.version) == (12, "1.0")
    assert seen == [f"POST {P}/test-cases", f"PUT {P}/test-cases/12/approve"]
    # The create answer's steps belong to version 0.1: approval gave the steps new ids.
    assert (12 in known) == (kept is not None)
    if kept is not None:
        assert asyncio.run(known.get(12, _never)) == kept


async def _never() -> list[int]:
    raise AssertionError("read from qTest although the answer said it")


def log_answer(log_id: int, step_log_ids: tuple[int, ...]) -> dict[str, Any]:
    return {
        "id": log_id,
        "exe_start_date": "2024-01-01T00:00:00Z",
        "exe_end_date": "2024-01-01T00:01:00Z",
        "test_step_logs": [
            {"test_step_log_id": s, "order": n, "test_step_id": 100 + n}
            for n, s in enumerate(step_log_ids, 1)
        ],
    }


def test_a_test_log_reads_each_test_case_once_and_keeps_the_step_logs_attachments_need() -> None:
    sent: list[dict[str, Any]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json=case(12, "1.0", (201, 202)))
        sent.append(json.loads(request.content))
        return httpx.Response(201, json=log_answer(500 + len(sent), (901, 902)))

    seen: list[str] = []
    client = client_for(answer, seen)
    case_steps, step_logs = KnownIds(), KnownIds()
    loader = LogLoader({"T-1": 12}, case_steps, step_logs, frozenset({"E-2"}))
    body = {"status": {"id": 601}, "test_step_logs": [{"test_step_id": step_ref("T-1", 2)}]}

    async def scenario() -> None:
        for key in ("E-1", "E-2"):
            await loader.create(client, PlannedEntity("test_log", key, body, parent=40))

    asyncio.run(scenario())
    assert seen == [
        f"GET {P}/test-cases/12",
        f"POST {P}/test-runs/40/test-logs",
        f"POST {P}/test-runs/40/test-logs",
    ]
    assert [s["test_step_logs"][0]["test_step_id"] for s in sent] == [202, 202]
    # Only the log whose step logs receive an attachment is kept, from its create answer.
    assert 501 not in step_logs
    assert asyncio.run(step_logs.get(502, _never)) == (901, 902)


def test_step_attachments_go_where_the_answers_said_without_reading_back() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"id": 77, "name": "f.png"})

    case_steps, step_logs = KnownIds(), KnownIds()
    case_steps.remember(12, [201, 202])
    step_logs.remember(502, [901, 902])
    loader = AttachmentLoader(None, NoAttachmentPlaces(), case_steps, step_logs)
    client = client_for(answer, seen)
    on_step = PlannedEntity(
        "attachment", "a1", {"name": "f.png", "step": step_ref("T-1", 2)}, parent=12, parent_type="test-steps"
    )
    on_step_log = PlannedEntity(
        "attachment", "a2", {"name": "f.png", "step": 1, "run": 40}, parent=502, parent_type="test-step-logs"
    )
    assert asyncio.run(loader._object(client, on_step)) == ("test-steps", 202)
    assert asyncio.run(loader._object(client, on_step_log)) == ("test-step-logs", 901)
    assert seen == []


def planned_attachment(key: str, parent: Any, parent_type: str) -> PlannedRecord:
    payload = {"body": {"name": key}, "extra": {"parent_id": parent, "parent_type": parent_type}}
    now = datetime.now(UTC)
    return PlannedRecord("P", "attachment", key, payload, [], 0, "", "h", None, now, "planned")


def test_step_log_owners_are_the_test_logs_whose_step_logs_receive_attachments() -> None:
    planned = [
        planned_attachment("a1", ref("test_log", "E-1"), "test-step-logs"),
        planned_attachment("a2", ref("test_log", "E-2"), "test-logs"),
        planned_attachment("a3", ref("test_case", "T-1"), "test-steps"),
        planned_attachment("a4", ref("test_log", "E-1"), "test-step-logs"),
    ]

    class Repo:
        def iter_planned(self, project_key: str, entity_type: str) -> list[PlannedRecord]:
            assert (project_key, entity_type) == ("P", "attachment")
            return planned

        def attachment_owner_keys(self, project_key: str, owner_type: str) -> frozenset[str]:
            # Executions extract found files on the steps of, before transform plans the files.
            return frozenset({"E-3"}) if owner_type == "execution_step" else frozenset({"T-1"})

    owners = step_log_owners(cast(Repository, Repo()), "P")
    assert [key in owners for key in ("E-1", "E-2", "E-3", "T-1", "a1")] == [True, False, True, False, False]
    assert len(owners) == 2


def test_known_ids_are_kept_packed_and_given_back_as_remembered() -> None:
    known = KnownIds()
    known.remember(12, [2**40 + 1, 5, 2**40 + 3])
    known.remember(13, [])
    known.remember(14, [1])
    known.remember(14, None)  # an answer that did not say them: read when asked for

    async def unread() -> list[int]:
        raise AssertionError("kept ids are not read again")

    async def read() -> list[int]:
        return [9, 8]

    async def asked() -> tuple[tuple[int, ...], ...]:
        return (await known.get(12, unread), await known.get(13, unread), await known.get(14, read))

    assert asyncio.run(asked()) == ((2**40 + 1, 5, 2**40 + 3), (), (9, 8))
    assert (14 in known, len(known)) == (True, 3)


def test_id_set_answers_per_kind_and_counts_each_id_once() -> None:
    fresh = IdSet()
    for ident in (5, 5 + 256, 5, 3 * 2**40, 7):
        fresh.add(("test-run", ident))
    fresh.add(("module", 6))
    assert len(fresh) == 5
    assert [("test-run", i) in fresh for i in (5, 5 + 256, 3 * 2**40, 7, 6, 517)] == [
        True,
        True,
        True,
        True,
        False,
        False,
    ]
    assert [("module", 6) in fresh, ("module", 5) in fresh, ("release", 5) in fresh] == [True, False, False]


class _Listed:
    """Listings whose only answer is the attachments of one object."""

    def __init__(self, client: QTestClient, attachments: list[Attachment]) -> None:
        self.client = client
        self._attachments = attachments

    async def attachments(self, object_type: str, object_id: int) -> list[Attachment]:
        return self._attachments


class _Places:
    def __init__(self, known: dict[int, str]) -> None:
        self.known = known
        self.asked: list[list[int]] = []

    def places_of(self, target_ids: Collection[int]) -> dict[int, str]:
        self.asked.append(sorted(target_ids))
        return {i: self.known[i] for i in target_ids if i in self.known}


def test_an_attachment_standing_for_another_is_never_adopted_and_places_are_asked_not_held() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(200, json={"id": 71, "name": "f.png"})
        return httpx.Response(200, content=b"12345", headers={"Content-Length": "5"})

    client = client_for(answer, seen)
    places = _Places({70: "test-cases/12"})  # 70 stands for another Zephyr attachment (a past run)
    loader = AttachmentLoader(None, places)
    # 71 is uploaded by this run (its result not recorded yet): never adopted either.
    loader._loaded(Attachment(id=71, name="f.png"), "test-cases", 12, 5)
    entity = PlannedEntity(
        "attachment", "a9", {"name": "f.png", "size": 5}, parent=12, parent_type="test-cases"
    )
    listed = [
        Attachment(id=i, name=name)
        for i, name in ((70, "f.png"), (71, "f.png"), (72, "g.png"), (73, "f.png"))
    ]
    found = asyncio.run(loader.candidates(entity, cast(Listings, _Listed(client, listed))))
    assert [f.target_id for f in found] == [73]
    assert places.asked == [[70, 73]]
    assert seen == [f"GET {P}/test-cases/12/attachments/73"]
    # Deleting an attachment asks where it is (it was recorded by an earlier run).
    asyncio.run(loader.delete(client, 70))
    assert seen[-1] == f"DELETE {P}/test-cases/12/blob-handles/70"
    assert places.asked[-1] == [70]


@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=5000),
            st.none() | st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), max_size=6),
        ),
        max_size=200,
    )
)
def test_known_ids_keep_what_a_dict_would(steps: list[tuple[int, list[int] | None]]) -> None:
    known, model = KnownIds(), {}
    for key, ids in steps:  # keys that share a bucket, out of order, replaced and dropped
        known.remember(key, ids)
        if ids is None:
            model.pop(key, None)
        else:
            model[key] = tuple(ids)

    async def unread() -> list[int]:
        raise AssertionError("kept ids are not read again")

    assert len(known) == len(model)
    assert all(key in known for key in model)
    assert all(asyncio.run(known.get(key, unread)) == ids for key, ids in model.items())
    assert not any(key in known for key in range(5001) if key not in model)


@pytest.mark.parametrize("memory_limit", [1 << 20, 16])
def test_packed_keys_are_taken_in_order_a_batch_at_a_time(memory_limit: int) -> None:
    queue = PackedKeys(memory_limit)
    queue.extend(f"test_execution/DEMO-E{n}/80{n}" for n in range(10))
    queue.append("DÉMO-É1")
    assert len(queue) == 11
    assert queue.take(4) == [f"test_execution/DEMO-E{n}/80{n}" for n in range(4)]
    queue.append("late")
    assert queue.take(100) == [*(f"test_execution/DEMO-E{n}/80{n}" for n in range(4, 10)), "DÉMO-É1", "late"]
    assert (len(queue), queue.take(3)) == (0, [])
    with pytest.raises(ValueError, match="line break"):
        queue.append("two\nlines")
    queue.close()


def test_packed_keys_spill_to_a_file_and_keep_arrival_order(tmp_path: Path) -> None:
    """A long queue leaves memory for a temporary file beside the attachment cache (a download
    starting meanwhile sweeps the cache's temporary files: the queue's is kept); keys come out as
    they went in."""
    cache = FileCache(tmp_path)
    queue = PackedKeys(memory_limit=4096, spill_to=cache)
    expected: list[str] = []
    taken: list[str] = []
    for n in range(20_000):
        key = f"test_execution/DEMO-E{n}/{800_000 + n}"
        queue.append(key)
        expected.append(key)
        if n % 7 == 0:
            taken += queue.take(3)
        if n == 10_000:
            cache.sweep_partial()
    assert queue._file._rolled  # type: ignore[attr-defined]  # spilled to disk
    while queue:
        taken += queue.take(1000)
    assert taken == expected
    queue.extend(["again"])  # emptied, it is used from the start
    assert queue.take(5) == ["again"]
    queue.close()
