"""The dashboard's data and page carry the attachments: files and bytes per owner, sent, not sent."""

from __future__ import annotations

from pathlib import Path

from ztoq.config import build_config
from ztoq.dashboard.data import StatusSource, empty_status, read_status
from ztoq.dashboard.page import render_page
from ztoq.report.attachments import unavailable_sentence
from ztoq.store import ListedAttachment, ProblemItem, SourceItem, Store, init_store

P = "PROJ"


def fill(store: Store, *, available: bool = True) -> None:
    """One sent file on a test case, one on a cycle outside any release."""
    with store.session() as repo:
        payload = {"available": available, "reason": None if available else "HTTP 503", "owners": 2}
        repo.upsert_source(P, [SourceItem("attachment_api", "status", payload)])
        repo.upsert_attachments(
            P,
            [
                ListedAttachment(
                    "test_case/PROJ-T1/1", "test_case", "PROJ-T1", None, "1", "a.png", 4096, None, "u1"
                ),
                ListedAttachment(
                    "test_cycle/PROJ-R1/2", "test_cycle", "PROJ-R1", None, "2", "c.pdf", 100, None, "u2"
                ),
            ],
            run_id=None,
        )
        repo.record_created(P, "attachment", "test_case/PROJ-T1/1", 5, "h")
        problem = ProblemItem(
            "degraded", "attachment_without_place", "no release", detail={"cache_path": "/c/2"}
        )
        repo.replace_problems(P, "transform", "attachment", "test_cycle/PROJ-R1/2", [problem])


def test_read_status_has_the_attachments(tmp_path: Path) -> None:
    store = init_store(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        fill(store)
        with store.session() as repo:
            status = read_status(repo, P)
            fast = read_status(repo, P, with_slow=False)
    finally:
        store.close()
    attachments = status["attachments"]
    assert attachments["listed"] is True
    assert attachments["unavailable_sentence"] is None
    rows = {row["owner_type"]: row for row in attachments["by_owner_type"]}
    assert (rows["test_case"]["files"], rows["test_case"]["sent"], rows["test_case"]["sent_bytes"]) == (
        1,
        1,
        4096,
    )
    assert rows["test_cycle"]["label"] == "test cycle"
    (group,) = attachments["not_sent"]
    assert (group["code"], group["count"], group["bytes"]) == ("attachment_without_place", 1, 100)
    assert group["examples"][0]["cache_path"] == "/c/2"
    assert "attachments" not in fast  # the costly part is read with the per-type table only


def test_status_source_keeps_the_attachments_between_slow_reads(tmp_path: Path) -> None:
    store = init_store(f"sqlite:///{tmp_path / 'store.db'}")
    fill(store, available=False)
    store.close()
    config = build_config(
        {"zephyr": {"project_key": P}, "database": {"url": f"sqlite:///{tmp_path / 'store.db'}"}}
    )
    source = StatusSource(config)
    try:
        first = source.read()
        second = source.read()  # within SLOW_EVERY: served from what the first read computed
    finally:
        source.close()
    assert first["error"] is None
    assert first["attachments"]["unavailable_sentence"] == unavailable_sentence("HTTP 503")
    assert second["attachments"] == first["attachments"]


def test_empty_status_has_the_attachments_shape() -> None:
    attachments = empty_status(P)["attachments"]
    assert attachments["listed"] is False
    assert attachments["by_owner_type"] == []
    assert attachments["not_sent"] == []


def test_page_has_the_attachments_panel() -> None:
    page = render_page("nonce")
    for element in ('id="attachments"', 'id="attachments-body"', 'id="attachment-groups-body"'):
        assert element in page
    assert "renderAttachments(s)" in page
    assert "innerHTML" not in page
