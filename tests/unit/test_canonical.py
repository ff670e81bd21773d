from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.ledger.canonical import (
    MAX_SAFE_INT,
    CanonicalJSONError,
    canonical_json,
    parse_canonical,
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-MAX_SAFE_INT, max_value=MAX_SAFE_INT)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=20,
)


def test_keys_are_sorted_and_there_is_no_whitespace():
    assert canonical_json({"b": 1, "a": [True, None, "x"]}) == b'{"a":[true,null,"x"],"b":1}'


def test_non_ascii_text_is_written_as_utf8_not_escaped():
    assert canonical_json({"t": "é ✓"}) == '{"t":"é ✓"}'.encode()


def test_nested_objects_are_sorted_at_every_depth():
    assert canonical_json({"z": {"b": 2, "a": 1}}) == b'{"z":{"a":1,"b":2}}'


@pytest.mark.parametrize(
    "value",
    [1.5, 0.0, math.nan, math.inf, {"a": [1.0]}, (1, 2), {1, 2}, b"bytes", object()],
    ids=["float", "zero-float", "nan", "inf", "nested-float", "tuple", "set", "bytes", "object"],
)
def test_unsupported_values_are_refused(value):
    with pytest.raises(CanonicalJSONError):
        canonical_json(value)


def test_non_string_keys_are_refused():
    with pytest.raises(CanonicalJSONError, match="keys must be str"):
        canonical_json({1: "a"})


def test_integers_beyond_javascript_safe_range_are_refused():
    canonical_json(MAX_SAFE_INT)
    with pytest.raises(CanonicalJSONError, match="outside"):
        canonical_json(MAX_SAFE_INT + 1)


def test_lone_surrogate_is_refused():
    with pytest.raises(CanonicalJSONError, match="Unicode"):
        canonical_json("\ud800")


def test_error_names_the_path_of_the_bad_value():
    with pytest.raises(CanonicalJSONError, match=r"\$\.choices\.ads"):
        canonical_json({"choices": {"ads": 0.5}})


@given(json_values)
def test_round_trip_is_exact(value):
    data = canonical_json(value)
    assert parse_canonical(data) == value
    assert canonical_json(parse_canonical(data)) == data


@pytest.mark.parametrize(
    "data",
    [
        b'{"b":1,"a":2}',
        b'{"a": 1}',
        b'{"a":1,"a":1}',
        b'{"a":"\\u00e9"}',
        b'{"a":1.0}',
        b'{"a":1e3}',
        b'{"a":NaN}',
        b'{"a":-0}',
        b"\xef\xbb\xbf{}",
        b"\xff",
        b"{",
    ],
    ids=[
        "unsorted",
        "whitespace",
        "duplicate-key",
        "escaped-non-ascii",
        "float",
        "exponent",
        "nan",
        "negative-zero",
        "bom",
        "bad-utf8",
        "truncated",
    ],
)
def test_parse_refuses_non_canonical_bytes(data):
    with pytest.raises(CanonicalJSONError):
        parse_canonical(data)
