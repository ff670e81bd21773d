"""Canonical JSON: the exact bytes that are hashed, chained and signed.

Sorted keys, no whitespace, UTF-8 without escaping non-ASCII. Only the JSON types that every
implementation round-trips exactly are allowed: str, int (within the IEEE 754 safe range, so a
JavaScript verifier reads the same number), bool, None, list and dict with str keys. Floats are
refused because their text form differs between languages, and a byte of difference breaks a hash.

Keys sort by Unicode code point (Python's str order). This equals RFC 8785 (JCS) ordering for every
key in the Basic Multilingual Plane, which is all our keys; we do not claim full JCS conformance.
"""

from __future__ import annotations

import json
from typing import Any

# Largest integer a JavaScript (IEEE 754 double) reader keeps exactly; see RFC 7493 (I-JSON).
MAX_SAFE_INT = 2**53 - 1

_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


class CanonicalJSONError(ValueError):
    """A value cannot be encoded as canonical JSON, or bytes are not canonical JSON."""


def _check(value: Any, path: str) -> None:
    # Exact type checks: bool is an int subclass and is allowed; float, tuple, set, Decimal,
    # datetime and other lookalikes are not, so nothing is converted silently.
    kind = type(value)
    if value is None or kind is bool or kind is str:
        return
    if kind is int:
        if not -MAX_SAFE_INT <= value <= MAX_SAFE_INT:
            raise CanonicalJSONError(f"{path}: integer {value} is outside ±(2**53-1)")
        return
    if kind is float:
        raise CanonicalJSONError(f"{path}: floats are not allowed ({value!r})")
    if kind is list:
        for i, item in enumerate(value):
            _check(item, f"{path}[{i}]")
        return
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                raise CanonicalJSONError(f"{path}: object keys must be str, got {key!r}")
            _check(item, f"{path}.{key}")
        return
    raise CanonicalJSONError(f"{path}: unsupported type {kind.__name__}")


def canonical_json(value: Any) -> bytes:
    """Encode ``value`` as canonical JSON bytes; raise CanonicalJSONError for unsupported input."""
    _check(value, "$")
    try:
        return _ENCODER.encode(value).encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate in a str
        raise CanonicalJSONError(f"string is not valid Unicode: {exc.reason}") from exc


def _refuse_float(text: str) -> Any:
    raise CanonicalJSONError(f"floats are not allowed ({text})")


def _refuse_constant(text: str) -> Any:
    raise CanonicalJSONError(f"{text} is not allowed")


def parse_canonical(data: bytes) -> Any:
    """Parse canonical JSON bytes; raise CanonicalJSONError unless re-encoding gives ``data``."""
    try:
        text = data.decode("utf-8")
        value = json.loads(text, parse_float=_refuse_float, parse_constant=_refuse_constant)
    except CanonicalJSONError:
        raise
    except (UnicodeDecodeError, ValueError) as exc:
        raise CanonicalJSONError(f"not valid JSON: {exc}") from exc
    # Re-encoding catches whitespace, key order, duplicate keys, escapes and number spellings.
    if canonical_json(value) != data:
        raise CanonicalJSONError("JSON is valid but not in canonical form")
    return value
