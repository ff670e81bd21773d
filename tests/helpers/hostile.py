"""Hypothesis strategies for hostile input: every marshmallow field gets either a plausible value
(so a request can get past validation into the service code) or a hostile one: JSON nested
thousands deep, lone surrogates, NUL bytes, huge integers, NaN, far dates, the wrong type, an
oversized string. Bodies are encoded here (:func:`encode`), because ``json.dumps`` cannot write
the deep nesting and would refuse what a client can send anyway."""

from __future__ import annotations

import json
import re
from datetime import UTC
from typing import Any

from hypothesis import strategies as st
from marshmallow import Schema, fields, validate


class RawJSON(str):
    """JSON text put into a body as it is (deep nesting that ``json.dumps`` cannot write)."""


def encode(value: Any) -> str:
    """``value`` as the JSON text a client would send: lone surrogates as ``\\ud800`` escapes,
    NaN and Infinity as Python writes them, :class:`RawJSON` verbatim."""
    if isinstance(value, RawJSON):
        return str(value)
    if isinstance(value, dict):
        items = (f"{json.dumps(str(key))}:{encode(item)}" for key, item in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(encode(item) for item in value) + "]"
    return json.dumps(value)


def nested(depth: int, opening: str = "[") -> RawJSON:
    closing = "]" if opening == "[" else "}"
    if opening == "[":
        return RawJSON("[" * depth + "1" + "]" * depth)
    return RawJSON('{"a":' * depth + "1" + closing * depth)


FAR_DATES = [
    "9999-12-31",
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+23:59",
    "0001-01-01",
    "+275760-09-13T00:00:00Z",
    "2026-02-30T00:00:00Z",
    "2026-12-04T25:61:61Z",
    "2026-12-04T00:00:00",  # no offset
]
HUGE_NUMBERS = [2**31, 2**31 - 1, 2**53 + 1, 2**63, -(2**63) - 1, 10**30, -1, 0, 10**400]
ODD_FLOATS = [float("nan"), float("inf"), float("-inf"), 1e308, -0.0, 0.5]
HOSTILE_TEXT = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",
    "a\udfffb",
    "s_\ud83d",
    "\u202e\u0000",
    "\ufeff",
    "\uff48\uff54\uff54\uff50\uff53://\uff45\uff58.\uff43\uff4f\uff4d",  # full-width
    "https://evil.com@a.example.com",
    "https://*.example.com",
    "javascript:alert(1)",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "%00",
    "../../etc/passwd",
    "9" * 400,
    "-" * 64,
    '=HYPERLINK("https://evil")',
    "\n\r\t",
]
WRONG_TYPES = [None, True, False, 0, 1.5, "", [], {}, [None], {"": None}, ["a", 1]]

hostile_text = st.one_of(
    st.sampled_from(HOSTILE_TEXT),
    # Any code point, lone surrogates (category Cs) included.
    st.text(st.characters(codec=None, categories=None), max_size=40),
)
hostile_value = st.one_of(
    hostile_text,
    st.integers(65_537, 300_000).map(lambda n: "x" * n),  # over the 64 KiB body limit
    st.sampled_from(FAR_DATES),
    st.sampled_from(HUGE_NUMBERS),
    st.sampled_from(ODD_FLOATS),
    st.sampled_from(WRONG_TYPES),
    st.integers(100, 20_000).map(nested),
    st.integers(100, 20_000).map(lambda depth: nested(depth, "{")),
)


def _length(field: fields.Field) -> tuple[int, int | None]:
    for validator in field.validators:
        if isinstance(validator, validate.Length):
            return validator.min or 0, validator.max
    return 0, None


def _range(field: fields.Field) -> tuple[int | None, int | None]:
    for validator in field.validators:
        if isinstance(validator, validate.Range):
            return validator.min, validator.max
    return None, None


def plausible(field: fields.Field, depth: int = 0) -> st.SearchStrategy[Any]:
    """A value the field may well accept (its choices, pattern, length and range)."""
    for validator in field.validators:
        if isinstance(validator, validate.OneOf):
            return st.sampled_from(list(validator.choices))
        if isinstance(validator, validate.Regexp):
            pattern = validator.regex.pattern if hasattr(validator.regex, "pattern") else ""
            return st.from_regex(re.compile(pattern), fullmatch=True).map(lambda s: s[:64])
    low, high = _length(field)
    if isinstance(field, fields.Nested):
        nested_schema = field.schema
        if depth > 3:
            return st.just({})
        strategy = schema_values(nested_schema, depth + 1, hostile=False)
        return st.lists(strategy, max_size=3) if field.many else strategy
    if isinstance(field, fields.List):
        inner = plausible(field.inner, depth + 1)
        return st.lists(inner, min_size=low, max_size=min(high or 3, 3))
    if isinstance(field, fields.Dict):
        keys = plausible(field.key_field, depth + 1) if field.key_field else st.text(max_size=8)
        values = plausible(field.value_field, depth + 1) if field.value_field else st.text()
        return st.dictionaries(keys, values, max_size=3)
    if isinstance(field, fields.Boolean):
        return st.booleans()
    if isinstance(field, fields.Integer | fields.Number):
        low_value, high_value = _range(field)
        return st.integers(low_value, high_value)
    if isinstance(field, fields.DateTime | fields.Date):
        return st.datetimes(timezones=st.just(UTC)).map(lambda moment: moment.isoformat())
    if isinstance(field, fields.Email):
        return st.emails().map(lambda address: address[:254])
    if isinstance(field, fields.Url):
        return st.sampled_from(["https://news.example.com/x", "http://localhost:8000/"])
    if "origin" in type(field).__name__.lower():
        return st.sampled_from(["https://news.example.com", "http://localhost:8000"])
    return st.text(min_size=max(low, 1), max_size=min(high or 20, 20))


def field_value(field: fields.Field, depth: int = 0) -> st.SearchStrategy[Any]:
    """Plausible most of the time, hostile otherwise."""
    return st.one_of(plausible(field, depth), hostile_value)


def schema_values(schema: Schema, depth: int = 0, hostile: bool = True) -> st.SearchStrategy[dict]:
    """An object for ``schema``: required fields present, the others now and then; each value
    plausible or (with ``hostile``) hostile; and, hostile, now and then a field the schema does
    not know."""
    loadable = {
        field.data_key or name: field
        for name, field in schema.fields.items()
        if not field.dump_only
    }
    value = field_value if hostile else plausible
    required = {key: value(f, depth) for key, f in loadable.items() if f.required}
    optional = {key: value(f, depth) for key, f in loadable.items() if not f.required}
    base = st.fixed_dictionaries(required, optional=optional)
    if not hostile:
        return base
    extra = st.dictionaries(
        hostile_text.filter(lambda key: len(key) < 100), hostile_value, max_size=2
    )
    return st.one_of(base, st.tuples(base, extra).map(lambda pair: {**pair[1], **pair[0]}))


def mutations(baseline: dict[str, Any], schema: Schema) -> st.SearchStrategy[dict]:
    """``baseline`` (a body the endpoint accepts) with one field, or one field of a nested
    object, replaced by a hostile value: the rest of the request still reaches the service."""
    paths: list[tuple[str, ...]] = []
    for name, field in schema.fields.items():
        if field.dump_only:
            continue
        key = field.data_key or name
        paths.append((key,))
        if isinstance(baseline.get(key), dict):
            paths.extend((key, inner) for inner in baseline[key])
        if (
            isinstance(baseline.get(key), list)
            and baseline[key]
            and isinstance(baseline[key][0], dict)
        ):
            paths.extend((key, 0, inner) for inner in baseline[key][0])

    def replace(path: tuple, value: Any) -> dict[str, Any]:
        body = json.loads(json.dumps(baseline))
        target = body
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value
        return body

    return st.builds(replace, st.sampled_from(paths), hostile_value)
