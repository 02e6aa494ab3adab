"""Which validation a run does: full, or on a delta sync the logs and files in question."""

from __future__ import annotations

from datetime import UTC, datetime

from ztoq.pipeline.validate_scope import DELTA_TYPES, FULL_SCOPE, decide_scope

T1 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
T2 = datetime(2026, 12, 1, 2, 5, tzinfo=UTC)


def test_a_full_sync_or_a_run_without_extract_validates_everything() -> None:
    validated = {"test_log": T1, "attachment": T2}
    assert decide_scope(mode="full", validated=validated) == FULL_SCOPE
    assert decide_scope(mode=None, validated=validated) == FULL_SCOPE
    assert all(FULL_SCOPE.limits(t) is None for t in ("test_case", "test_log", "attachment"))


def test_a_delta_sync_reads_again_what_changed_since_each_type_was_last_validated() -> None:
    scope = decide_scope(mode="delta", validated={"test_log": T1, "attachment": T2, "test_case": T2})
    assert scope.delta
    assert (scope.limits("test_log"), scope.limits("attachment"), scope.limits("test_case")) == (T1, T2, None)
    assert scope.why == (
        "delta validation: attachments and test logs changed since 2026-12-01 02:00:00 UTC "
        "or found wrong are read again"
    )
    assert {"test_log", "attachment"} == DELTA_TYPES


def test_a_type_never_validated_to_the_end_is_read_in_full() -> None:
    scope = decide_scope(mode="delta", validated={"attachment": T2})
    assert (scope.limits("test_log"), scope.limits("attachment")) == (None, T2)
    nothing = decide_scope(mode="delta", validated={})
    assert not nothing.delta
    assert nothing.why == "full validation (no earlier validation completed)"
