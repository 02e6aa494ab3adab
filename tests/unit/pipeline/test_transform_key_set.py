"""The keys transform planned in a run, kept as digests (ztoq.pipeline.transform_write.KeySet)."""

from __future__ import annotations

import pytest

from ztoq.pipeline.transform_write import KeySet


def test_it_answers_for_every_key_added_and_no_other() -> None:
    keys = KeySet()
    added = [f"DEMO-E{i}" for i in range(20000)] + ["", "adhoc|DEMO-T1", "\ud800 lone surrogate", "日本"]
    for key in added:
        keys.add(key)
    keys.add("DEMO-E1")
    keys.freeze()
    assert keys.count == len(added) + 1
    assert all(key in keys for key in added)
    assert not any(f"DEMO-E{i}" in keys for i in range(20000, 40000))
    assert "DEMO-e1" not in keys


def test_it_is_filled_first_then_asked() -> None:
    keys = KeySet()
    with pytest.raises(TypeError):
        _ = "a" in keys
    keys.freeze()
    assert "a" not in keys
    with pytest.raises(RuntimeError):
        keys.add("a")
