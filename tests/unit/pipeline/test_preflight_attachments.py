"""The dry run's attachments: files and bytes a load would upload, files it would not send and why."""

from __future__ import annotations

import json
from pathlib import Path

from preflight_builders import target

from ztoq.pipeline.preflight import PreflightReport, attachment_preview, scan_plan
from ztoq.pipeline.preflight_checks import Names
from ztoq.plan import PlannedEntity, ref
from ztoq.report.attachments import unavailable_sentence
from ztoq.store import ListedAttachment, PlannedItem, ProblemItem, SourceItem, Store, init_store

P = "PROJ"
MB = 1024 * 1024


def planned_attachment(key: str, size: int) -> PlannedItem:
    """An attachment transform planned onto test case PROJ-T1."""
    entity = PlannedEntity(
        "attachment",
        key,
        {"name": f"{key}.png", "content_type": "image/png", "size": size, "sha256": "a" * 64},
        parent=ref("test_case", "PROJ-T1"),
        parent_type="test-cases",
    )
    return PlannedItem("attachment", key, entity.to_payload(), sort_key=key)


def fill(store: Store) -> None:
    """Three files listed: two planned (one already in qTest), one too large; one not downloaded."""
    with store.session() as repo:
        status = {"available": True, "reason": None, "owners": 1}
        repo.upsert_source(P, [SourceItem("attachment_api", "status", status)])
        repo.upsert_attachments(
            P,
            [
                ListedAttachment(
                    f"test_case/PROJ-T1/{n}",
                    "test_case",
                    "PROJ-T1",
                    None,
                    str(n),
                    f"{n}.png",
                    size,
                    None,
                    "u",
                )
                for n, size in ((1, 1000), (2, 3000), (3, 70 * MB), (4, 5000))
            ],
            run_id=None,
        )
        for n, size in ((1, 1000), (2, 3000), (3, 70 * MB)):
            repo.record_attachment_cached(
                P, f"test_case/PROJ-T1/{n}", sha256=str(n) * 64, size=size, content_type=None
            )
        repo.upsert_planned(
            P,
            [
                planned_attachment("test_case/PROJ-T1/1", 1000),
                planned_attachment("test_case/PROJ-T1/2", 3000),
            ],
        )
        too_large = ProblemItem(
            "degraded", "attachment_too_large", "too large", detail={"size": 70 * MB, "cache_path": "/c/3"}
        )
        repo.upsert_planned(
            P,
            [PlannedItem("attachment", "test_case/PROJ-T1/3", {"body": None, "extra": {}}, status="skipped")],
        )
        repo.replace_problems(P, "transform", "attachment", "test_case/PROJ-T1/3", [too_large])


def test_dry_run_counts_attachments_to_send_and_not(tmp_path: Path) -> None:
    store = init_store(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        fill(store)
        with store.session() as repo:
            counts, _findings, send_bytes = scan_plan(repo, P, target(), Names())
            row = next(c for c in counts if c.entity_type == "attachment")
            preview = attachment_preview(repo, P, row.send, send_bytes)
    finally:
        store.close()
    assert (row.send, send_bytes) == (2, 4000)
    assert preview is not None
    assert (preview.to_download, preview.to_download_bytes) == (1, 5000)
    report = PreflightReport(P, 9, "Target", counts, [], attachments=preview)
    data = json.loads(json.dumps(report.to_json()))["attachments"]
    assert (data["send"], data["send_bytes"], data["to_download"], data["to_download_bytes"]) == (
        2,
        4000,
        1,
        5000,
    )
    (group,) = data["not_sent"]
    assert (group["code"], group["count"], group["bytes"]) == ("attachment_too_large", 1, 70 * MB)
    assert group["examples"][0]["cache_path"] == "/c/3"
    assert data["total"]["files"] == 4
    assert data["unavailable_sentence"] is None


def test_dry_run_of_a_tenant_without_attachment_operations(tmp_path: Path) -> None:
    store = init_store(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        with store.session() as repo:
            status = {"available": False, "reason": "HTTP 503", "owners": 4}
            repo.upsert_source(P, [SourceItem("attachment_api", "status", status)])
            preview = attachment_preview(repo, P, 0, 0)
            never = attachment_preview(repo, "OTHER", 0, 0)
    finally:
        store.close()
    assert never is None
    assert preview is not None
    data = PreflightReport(P, 9, "Target", [], [], attachments=preview).to_json()["attachments"]
    assert data["unavailable_sentence"] == unavailable_sentence("HTTP 503")
    assert data["send"] == 0
    assert PreflightReport(P, 9, "Target", [], []).to_json()["attachments"] is None
