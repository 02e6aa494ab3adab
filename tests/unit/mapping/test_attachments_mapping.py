"""Where each Zephyr attachment lands in qTest, and under which name (pure planning)."""

from __future__ import annotations

from ztoq.mapping.attachments import AttachmentOwners, plan_attachment, plan_attachments, qtest_file_name
from ztoq.mapping.base import PlannedEntity, ref
from ztoq.mapping.steps import step_ref
from ztoq.sources.records import Attachment

MB = 1024 * 1024


def _file(owner_type: str, owner_key: str, step: int | None = None, **kw: object) -> Attachment:
    values: dict[str, object] = {
        "key": f"{owner_type}/{owner_key}/{'' if step is None else f'{step}/'}1",
        "owner_type": owner_type,
        "owner_key": owner_key,
        "step_index": step,
        "name": "shot.png",
        "size": 10,
        "content_type": "image/png",
        "sha256": "a" * 64,
        "cache_path": "/cache/aa/" + "a" * 64,
    }
    values.update(kw)
    return Attachment(**values)  # type: ignore[arg-type]


def _owners() -> AttachmentOwners:
    planned = {
        "test_case": [
            PlannedEntity("test_case", "P-T1", {"name": "x", "test_steps": [{}, {}]}),
            PlannedEntity("test_case", "P-T9", None),  # skipped
        ],
        "release": [PlannedEntity("release", "P-P1", {"name": "plan"})],
        "test_cycle": [
            PlannedEntity(
                "test_cycle", "P-R1", {"name": "c"}, parent=ref("release", "P-P1"), parent_type="release"
            ),
            PlannedEntity(
                "test_cycle", "P-R2", {"name": "c"}, parent=ref("cycle_folder", "7"), parent_type="test-cycle"
            ),
        ],
        "test_log": [
            PlannedEntity(
                "test_log", "P-E1", {"test_step_logs": [{}, {}, {}]}, parent=ref("test_run", "P-R1|P-T1")
            ),
            PlannedEntity("test_log", "P-E2", {"note": "steps in note"}, parent=ref("test_run", "P-R1|P-T1")),
        ],
    }
    return AttachmentOwners.from_plans(planned)


def test_each_owner_kind_lands_on_its_qtest_object() -> None:
    owners = _owners()
    case = plan_attachment(_file("test_case", "P-T1"), owners, 50 * MB)
    assert (case.parent, case.parent_type) == (ref("test_case", "P-T1"), "test-cases")
    assert case.body == {"name": "shot.png", "content_type": "image/png", "size": 10, "sha256": "a" * 64}
    step = plan_attachment(_file("test_step", "P-T1", 1), owners, 50 * MB)
    assert (step.parent_type, step.body and step.body["step"]) == ("test-steps", step_ref("P-T1", 2))
    plan = plan_attachment(_file("test_plan", "P-P1"), owners, 50 * MB)
    assert (plan.parent, plan.parent_type) == (ref("release", "P-P1"), "releases")
    log = plan_attachment(_file("test_execution", "P-E1"), owners, 50 * MB)
    assert (log.parent, log.parent_type) == (ref("test_log", "P-E1"), "test-logs")
    assert log.body
    assert log.body["run"] == ref("test_run", "P-R1|P-T1")
    step_log = plan_attachment(_file("execution_step", "P-E1", 2), owners, 50 * MB)
    assert step_log.parent_type == "test-step-logs"
    assert step_log.body
    assert step_log.body["step"] == 3
    assert ("test_run", "P-R1|P-T1") in step_log.depends_on
    assert ("test_log", "P-E1") in step_log.depends_on
    assert not any(p.problems for p in (case, step, plan, log, step_log))


def test_a_cycle_file_goes_to_its_release_with_the_cycle_key_in_its_name() -> None:
    planned = plan_attachment(_file("test_cycle", "P-R1"), _owners(), 50 * MB)
    assert (planned.parent, planned.parent_type) == (ref("release", "P-P1"), "releases")
    assert planned.body
    assert planned.body["name"] == "P-R1 shot.png"
    assert [p.code for p in planned.problems] == ["attachment_moved"]


def test_a_cycle_outside_any_release_keeps_its_file_in_the_cache() -> None:
    planned = plan_attachment(_file("test_cycle", "P-R2"), _owners(), 50 * MB)
    assert planned.skipped
    [problem] = planned.problems
    assert (problem.severity, problem.code) == ("degraded", "attachment_without_place")
    assert "/cache/aa/" in problem.message


def test_steps_the_target_does_not_have_fall_back_to_their_parent() -> None:
    owners = _owners()
    step = plan_attachment(_file("test_step", "P-T1", 5), owners, 50 * MB)
    assert step.parent_type == "test-cases"
    in_note = plan_attachment(_file("execution_step", "P-E2", 0), owners, 50 * MB)
    assert in_note.parent_type == "test-logs"
    assert [p.code for p in step.problems + in_note.problems] == ["attachment_moved", "attachment_moved"]


def test_too_large_undownloaded_and_orphaned_files_are_not_sent_and_say_why() -> None:
    owners = _owners()
    large = plan_attachment(_file("test_case", "P-T1", size=51 * MB), owners, 50 * MB)
    assert large.skipped
    assert large.problems[0].code == "attachment_too_large"
    assert large.problems[0].detail == {"size": 51 * MB, "cache_path": "/cache/aa/" + "a" * 64}
    failed = plan_attachment(_file("test_case", "P-T1", sha256=None, reason="HTTP 500"), owners, 50 * MB)
    assert failed.skipped
    assert "HTTP 500" in failed.problems[0].message
    orphan = plan_attachment(_file("test_case", "P-T9"), owners, 50 * MB)
    assert orphan.skipped
    assert orphan.problems[0].code == "attachment_owner_not_migrated"


def test_names_are_kept_exactly_unless_qtest_would_refuse_them() -> None:
    assert qtest_file_name("résumé 测试 ✓.txt") == ("résumé 测试 ✓.txt", None)
    assert qtest_file_name("a/b\\c.txt")[0] == "a_b_c.txt"
    long_name, why = qtest_file_name("x" * 300 + ".png")
    assert len(long_name) == 255
    assert long_name.endswith(".png")
    assert why
    assert qtest_file_name("")[0] == "attachment"
    renamed = plan_attachment(_file("test_case", "P-T1", name="tab\there.txt"), _owners(), 50 * MB)
    assert renamed.body
    assert renamed.body["name"] == "tab_here.txt"
    assert renamed.problems[0].code == "attachment_renamed"


def test_plans_come_out_in_key_order() -> None:
    files = [_file("test_case", "P-T1", key="b"), _file("test_case", "P-T1", key="a")]
    assert [p.source_key for p in plan_attachments(files, _owners(), MB)] == ["a", "b"]
