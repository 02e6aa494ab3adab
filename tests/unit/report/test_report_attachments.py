"""Attachments in the report: the overview read from a store, and its section in every format."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ztoq.config import build_config
from ztoq.pipeline.reporting import report_input
from ztoq.report import (
    CountRow,
    PhaseRecord,
    ProblemRecord,
    ReportInput,
    RunRecord,
    build_report,
    render_html,
    render_json,
    render_markdown,
)
from ztoq.report.attachments import (
    AttachmentOverview,
    OwnerFiles,
    attachment_overview,
    fmt_bytes,
    unavailable_sentence,
)
from ztoq.store import ListedAttachment, ProblemItem, SourceItem, Store, init_store

P = "PROJ"
MB = 1024 * 1024
HOSTILE_NAME = "<img src=x onerror=alert(1)>.png"
T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


def listed(
    owner_type: str, owner_key: str, n: int, size: int | None, name: str | None = None
) -> ListedAttachment:
    """One attachment as extract lists it."""
    return ListedAttachment(
        f"{owner_type}/{owner_key}/{n}",
        owner_type,
        owner_key,
        0 if owner_type in ("test_step", "execution_step") else None,
        str(n),
        name or f"file-{n}.png",
        size,
        "image/png",
        f"https://zephyr.example/attachments/{n}",
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = init_store(f"sqlite:///{tmp_path / 'store.db'}")
    yield opened
    opened.close()


def api_status(store: Store, available: bool, reason: str | None = None) -> None:
    """Store what extract learnt of the tenant's attachment operations."""
    with store.session() as repo:
        payload = {"available": available, "reason": reason, "owners": 3}
        repo.upsert_source(P, [SourceItem("attachment_api", "status", payload)])


def fill(store: Store) -> None:
    """Files on four owner kinds: sent, too large, without place, not downloaded, renamed, deleted."""
    api_status(store, True)
    with store.session() as repo:
        repo.upsert_attachments(
            P,
            [
                listed("test_case", "PROJ-T1", 1, 1000),
                listed("test_case", "PROJ-T1", 2, 3000, HOSTILE_NAME),
                listed("test_step", "PROJ-T1", 3, 500),
                listed("test_execution", "PROJ-E1", 4, 60 * MB),
                listed("test_cycle", "PROJ-R1", 5, 10),
                listed("test_execution", "PROJ-E2", 6, 2000),
                listed("test_case", "PROJ-T9", 7, 700),
            ],
            run_id=None,
        )
        for key, size in (
            ("test_case/PROJ-T1/1", 1000),
            ("test_case/PROJ-T1/2", 3000),
            ("test_step/PROJ-T1/3", 500),
            ("test_execution/PROJ-E1/4", 60 * MB),
            ("test_cycle/PROJ-R1/5", 10),
            ("test_case/PROJ-T9/7", 700),
        ):
            repo.record_attachment_cached(P, key, sha256=key[-1] * 64, size=size, content_type=None)
        repo.record_attachment_failed(P, "test_execution/PROJ-E2/6", "HTTP 500")
        # Sent: two test case files and the step file; the step file's mapping failed afterwards.
        repo.record_created(P, "attachment", "test_case/PROJ-T1/1", 101, "h")
        repo.record_created(P, "attachment", "test_case/PROJ-T1/2", 102, "h", state="adopted")
        repo.record_created(P, "attachment", "test_step/PROJ-T1/3", 103, "h")
        repo.record_failed(P, "attachment", "test_step/PROJ-T1/3", "qTest answered 500")
        # Sent, then deleted in Zephyr: in qTest still, but no longer a file of the source.
        repo.record_created(P, "attachment", "test_case/PROJ-T9/7", 107, "h")
        repo.mark_unseen_attachments_deleted(P, since_run_id=10**6, owner_keys=[("test_case", "PROJ-T9")])
        problems = {
            "test_execution/PROJ-E1/4": ProblemItem(
                "degraded",
                "attachment_too_large",
                "The attachment is larger than qtest.max_attachment_mb.",
                detail={"size": 60 * MB, "cache_path": "/cache/44/4444"},
            ),
            "test_cycle/PROJ-R1/5": ProblemItem(
                "degraded",
                "attachment_without_place",
                "The cycle is not under a release.",
                detail={"cache_path": "/cache/55/5555"},
            ),
            "test_execution/PROJ-E2/6": ProblemItem(
                "skipped", "attachment_not_downloaded", "The attachment was not sent: HTTP 500."
            ),
            "test_case/PROJ-T1/2": ProblemItem(
                "degraded", "attachment_renamed", "The attachment was sent as '_img'.", field="name"
            ),
        }
        for key, problem in problems.items():
            repo.replace_problems(P, "transform", "attachment", key, [problem])
        repo.replace_problems(
            P,
            "validate",
            "attachment",
            "test_case/PROJ-T1/1",
            [ProblemItem("missing", "not_in_qtest", "gone")],
        )


def test_never_listed_means_no_section(store: Store) -> None:
    with store.session() as repo:
        overview = attachment_overview(repo, P)
    assert overview.listed is False
    assert overview.owners == ()
    assert overview.unavailable_text is None
    report = build_report(report_input(store, build_config({"zephyr": {"project_key": P}}), "Status"))
    assert report.attachments is None
    assert "## Attachments" not in render_markdown(report)
    assert 'id="attachments"' not in render_html(report)
    assert json.loads(render_json(report))["attachments"] is None


def test_overview_counts_files_bytes_and_sent_per_owner(store: Store) -> None:
    fill(store)
    with store.session() as repo:
        overview = attachment_overview(repo, P)
    rows = {row.owner_type: row for row in overview.owners}
    assert list(rows) == ["test_case", "test_step", "test_cycle", "test_execution"]
    assert rows["test_case"] == OwnerFiles("test_case", 2, 4000, 2, 4000, 0, 2, 4000)
    assert rows["test_step"] == OwnerFiles("test_step", 1, 500, 1, 500, 0, 0, 0)  # its mapping failed
    assert rows["test_execution"] == OwnerFiles("test_execution", 2, 60 * MB + 2000, 1, 60 * MB, 1, 0, 0)
    assert overview.total.files == 6
    assert overview.total.sent == 2
    assert overview.total.failed == 1
    assert rows["test_execution"].label == "execution"
    not_sent = {g.code: g for g in overview.not_sent}
    assert list(not_sent) == ["attachment_too_large", "attachment_without_place", "attachment_not_downloaded"]
    too_large = not_sent["attachment_too_large"]
    assert (too_large.count, too_large.bytes) == (1, 60 * MB)
    example = too_large.examples[0]
    assert (example.size, example.cache_path, example.name) == (60 * MB, "/cache/44/4444", "file-4.png")
    assert not_sent["attachment_not_downloaded"].bytes == 2000  # from the catalogue: no size in the detail
    assert overview.not_sent_files == 3
    assert overview.not_sent_bytes == 60 * MB + 2010
    assert [g.code for g in overview.changed] == ["attachment_renamed"]


def test_a_sent_mapping_without_catalogue_row_does_not_hide_the_others(store: Store) -> None:
    fill(store)
    with store.session() as repo:
        # Sorts before every other key: the merge waits for it in vain, then looks the rest up by key.
        repo.record_created(P, "attachment", "a/lost", 1, "h")
        overview = attachment_overview(repo, P)
    assert overview.total.sent == 2
    assert overview.total.sent_bytes == 4000


def test_unavailable_tenant_says_one_sentence_everywhere(store: Store) -> None:
    api_status(store, False, "HTTP 503 on every attachment list")
    with store.session() as repo:
        overview = attachment_overview(repo, P)
    sentence = unavailable_sentence("HTTP 503 on every attachment list")
    assert overview.listed
    assert not overview.available
    assert overview.unavailable_text == sentence
    report = build_report(report_input(store, build_config({"zephyr": {"project_key": P}}), "Status"))
    markdown = render_markdown(report)
    assert "## Attachments" in markdown
    assert sentence in markdown
    assert "holds no attachment" not in markdown
    assert ("warning", "attachments_unavailable", sentence) in {
        (n.level, n.code, n.text) for n in report.notices
    }
    assert json.loads(render_json(report))["attachments"]["unavailable_sentence"] == sentence
    assert sentence in render_html(report)


def passing_input(**changes: object) -> ReportInput:
    """A validated migration of one test case: verdict passed."""
    run = RunRecord(1, "migrate run", ["validate"], "succeeded", T0, T0 + timedelta(minutes=1), {}, 0, 0, 0.0)
    phase = PhaseRecord(1, "validate", "succeeded", T0, T0 + timedelta(minutes=1), {})
    data = ReportInput(
        "Report", P, 9, T0, "1.0", "db", [run], [phase], [CountRow("test_case", 1, 1, 1, 1, 0, 0)], [], [], []
    )
    return replace(data, **changes)  # type: ignore[arg-type]


def test_a_tenant_without_attachments_is_not_a_clean_pass() -> None:
    assert build_report(passing_input()).verdict.status == "passed"
    overview = AttachmentOverview(True, False, "HTTP 503", (), OwnerFiles("total"))
    report = build_report(passing_input(attachments=overview))
    assert report.verdict.status == "passed with degradations"
    assert report.verdict.reason.endswith(unavailable_sentence("HTTP 503"))


def test_markdown_section(store: Store) -> None:
    fill(store)
    report = build_report(report_input(store, build_config({"zephyr": {"project_key": P}}), "Status"))
    text = render_markdown(report)
    section = text[text.index("## Attachments") : text.index("## Missing")]
    assert "| test case | 2 | 3.9 KB | 2 | 0 | 2 | 3.9 KB |" in section
    assert "| execution | 2 | 60.0 MB | 1 | 1 | 0 | 0 B |" in section
    assert "| **total** | **6** |" in section
    assert "### Not sent: 3 files (60.0 MB)" in section
    assert "(attachment_too_large)" in section
    assert "cache: /cache/44/4444" in section
    assert "### Sent with a change: 1 file (2.9 KB)" in section
    assert "&lt;img src=x onerror=alert(1)&gt;.png" in section
    assert "<img" not in section
    # Missing files are listed like missing entities.
    assert "### Missing attachment (1)" in text
    assert "| test_case/PROJ-T1/1 | #101 | gone |" in text


def test_html_section(store: Store) -> None:
    fill(store)
    html = render_html(build_report(report_input(store, build_config({"zephyr": {"project_key": P}}), "S")))
    section = html[html.index('<section id="attachments">') : html.index('<section id="issues">')]
    assert '<a href="#attachments">Attachments</a>' in html
    assert "<td>execution</td>" in section
    assert "/cache/55/5555" in section
    assert 'id="attachments-not-sent-attachment-too-large"' in section
    assert "&lt;img src=x onerror=alert(1)&gt;.png" in section
    assert "<img" not in section
    assert "<td>execution PROJ-E1</td>" in section


def test_json_attachments_object(store: Store) -> None:
    fill(store)
    report = build_report(report_input(store, build_config({"zephyr": {"project_key": P}}), "Status"))
    data = json.loads(render_json(report))["attachments"]
    assert data["listed"] is True
    assert data["available"] is True
    assert data["unavailable_sentence"] is None
    assert [r["owner_type"] for r in data["by_owner_type"]] == [
        "test_case",
        "test_step",
        "test_cycle",
        "test_execution",
    ]
    assert data["total"]["sent_bytes"] == 4000
    assert data["not_sent"][0]["examples"][0]["cache_path"] == "/cache/44/4444"
    missing = json.loads(render_json(report))["missing"]
    assert [(m["entity_type"], m["source_key"]) for m in missing] == [("attachment", "test_case/PROJ-T1/1")]


def test_mismatched_files_are_side_by_side() -> None:
    problem = ProblemRecord(
        "validate",
        "mismatch",
        "attachment_size_differs",
        "attachment",
        "test_case/PROJ-T1/1",
        "The attachment 'a.png' has another size in qTest.",
        "size",
        {"expected": "1000", "actual": "999"},
    )
    report = build_report(passing_input(problems=[problem]))
    text = render_markdown(report)
    assert "### Mismatched attachment (1)" in text
    assert "| size | 1000 | 999 |" in text


def test_sizes_for_people() -> None:
    assert [fmt_bytes(n) for n in (None, 0, 1023, 1536, 5 * MB, 3 * 1024 * MB)] == [
        "–",
        "0 B",
        "1,023 B",
        "1.5 KB",
        "5.0 MB",
        "3.00 GB",
    ]


def test_unreachable_inline_images_are_grouped_with_their_url(store: Store) -> None:
    url = "https://cdn.smartbear.example/img/shot.png"
    image = ProblemItem(
        "degraded", "inline_image_unreachable", "The image 'shot.png' is kept as a reference."
    )
    with store.session() as repo:
        repo.replace_problems(P, "transform", "test_case", "PROJ-T5", [replace(image, detail={"url": url})])
        repo.replace_problems(
            P, "transform", "test_log", "PROJ-E5", [replace(image, detail={"url": url + "?2"})]
        )
        overview = attachment_overview(repo, P)
    (group,) = overview.not_sent
    assert (group.code, group.count, group.bytes) == ("inline_image_unreachable", 2, None)
    assert [(e.source_key, e.owner_type, e.url) for e in group.examples] == [
        ("PROJ-T5", "test_case", url),
        ("PROJ-E5", "test_log", url + "?2"),
    ]
    report = build_report(passing_input(attachments=overview))
    assert f"PROJ-T5 ({url})" in render_markdown(report)
    assert url in render_html(report)
