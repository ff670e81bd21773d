"""Strict JSON parsing without Flask: what no endpoint may accept even when Python's json does.

Nesting too deep for the parser, lone surrogates (which no UTF-8 text, canonical JSON or database
can hold) and NUL characters (which PostgreSQL text cannot hold) are a ValueError, so every
caller answers them as malformed JSON (400), never as a 500.
"""

from __future__ import annotations

import json
import re
from typing import Any

# Escapes that can produce a NUL or a surrogate: only bodies holding one are walked.
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:[dD][89a-fA-F]|0000)")


class HostileJSON(ValueError):
    """JSON that parses in Python but that nothing downstream can hold or answer."""


def parse_json(data: str | bytes) -> Any:
    """``json.loads`` that raises ValueError (never RecursionError, never a lone surrogate or
    NUL in a string) for what the service must refuse."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise HostileJSON("The JSON is nested too deeply.") from None
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if _SUSPECT_ESCAPE.search(raw):
        check_strings(value)
    return value


def check_strings(value: Any) -> None:
    """Raise :class:`HostileJSON` when a string anywhere in ``value`` (keys included) holds a
    NUL or a lone surrogate; iterative, so depth is no problem."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise HostileJSON("Strings must not contain NUL characters.")
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise HostileJSON("Strings must not contain lone surrogates.") from None
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
