"""Validation of attachments (pure comparison) and where load looks for an attachment's parent."""

from __future__ import annotations

from ztoq.pipeline.load_decision import parent_of
from ztoq.pipeline.validate_compare_attachments import validate_attachments
from ztoq.pipeline.validate_types import AttachmentSnapshot, ExpectedProject, QTestSnapshot, ValidationResult
from ztoq.plan import PlannedEntity


def _planned(key: str, name: str = "a.txt", size: int = 3, sha: str = "s1") -> PlannedEntity:
    return PlannedEntity("attachment", key, {"name": name, "size": size, "sha256": sha})


def _expected(*planned: PlannedEntity) -> ExpectedProject:
    return ExpectedProject(
        planned={"attachment": planned},
        target_ids={"attachment": {"k1": 11, "k2": 12, "k3": 13, "k4": 14}},
        source_counts={"attachment": len(planned)},
        attachment_places={
            "k1": "test-cases/1",
            "k2": "test-cases/1",
            "k3": "test-logs/2",
            "k4": "releases/3",
        },
    )


def test_each_attachment_is_found_on_its_object_with_its_name_size_and_content() -> None:
    expected = _expected(_planned("k1"), _planned("k2", "b.txt"), _planned("k3"), _planned("k4", sha="s4"))
    snapshot = QTestSnapshot(
        attachments={
            "test-cases/1": (AttachmentSnapshot(11, "a.txt", 3), AttachmentSnapshot(12, "B.txt", 3)),
            "test-logs/2": (AttachmentSnapshot(13, "a.txt", 4),),
            "releases/3": (AttachmentSnapshot(99, "a.txt", 3),),
        }
    )
    result = ValidationResult()
    validate_attachments(expected, snapshot, result)
    counts = result.count("attachment")
    assert (counts.planned, counts.target, counts.missing, counts.mismatched) == (4, 3, 1, 2)
    codes = {key: problem.code for _, key, problem in result.problems}
    assert codes == {"k2": "attachment_name_differs", "k3": "attachment_size_differs", "k4": "not_in_qtest"}


def test_a_deep_read_compares_content() -> None:
    expected = _expected(_planned("k1"))
    snapshot = QTestSnapshot(attachments={"test-cases/1": (AttachmentSnapshot(11, "a.txt", 3, "other"),)})
    result = ValidationResult()
    validate_attachments(expected, snapshot, result)
    assert [p.code for _, _, p in result.problems] == ["attachment_content_differs"]


def test_an_attachment_parent_is_named_by_the_kind_of_its_object() -> None:
    for object_type, kind in (
        ("test-cases", "test-case"),
        ("test-steps", "test-case"),
        ("releases", "release"),
        ("test-logs", "test-log"),
        ("test-step-logs", "test-log"),
    ):
        entity = PlannedEntity("attachment", "k", {}, parent=5, parent_type=object_type)
        assert parent_of(entity) == (kind, 5)
