"""The content hash: canonical, stable, order-insensitive for objects."""

from __future__ import annotations

import hashlib
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ztoq.store import canonical_json, content_hash

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


def test_known_value() -> None:
    expected = hashlib.sha256('{"a":1,"b":[true,null,"é"]}'.encode()).hexdigest()
    assert content_hash({"b": [True, None, "é"], "a": 1}) == expected
    assert canonical_json({"b": 1, "a": "ü"}) == '{"a":"ü","b":1}'


@given(st.dictionaries(st.text(max_size=8), json_values, max_size=6))
def test_key_order_never_matters(obj: dict[str, Any]) -> None:
    reordered = dict(reversed(list(obj.items())))
    assert content_hash(obj) == content_hash(reordered)
    assert len(content_hash(obj)) == 64


@given(json_values, json_values)
def test_different_values_differ(a: Any, b: Any) -> None:
    if canonical_json(a) != canonical_json(b):
        assert content_hash(a) != content_hash(b)


def test_list_order_matters() -> None:
    assert content_hash([1, 2]) != content_hash([2, 1])
