"""A document's identity: its texts in canonical form and the SHA-256 over them.

Standard library only: the offline verifier checks a bundle's document texts with it.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from typing import Any


def normalise_text(value: str) -> str:
    """NFC, ``\\n`` line ends, no trailing whitespace on any line, no blank lines at either end."""
    value = unicodedata.normalize("NFC", value).replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in value.split("\n")).strip("\n")


def normalise_texts(texts: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every string of every locale normalised (labels included); locale keys as given."""
    return {locale: _normalise_value(entry) for locale, entry in texts.items()}


def _normalise_value(value: Any) -> Any:
    if isinstance(value, str):
        return normalise_text(value)
    if isinstance(value, dict):
        return {key: _normalise_value(item) for key, item in value.items()}
    return value


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8: the same bytes for the same content, on every machine."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def content_sha256(kind: str, texts: dict[str, dict[str, Any]]) -> str:
    """SHA-256 over ``{kind, locales}`` in canonical form: the identity of a document's content."""
    return hashlib.sha256(
        canonical_json({"kind": kind, "locales": normalise_texts(texts)})
    ).hexdigest()
