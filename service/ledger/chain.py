"""Ledger entries: the body format (version 1) and the SHA-256 hash chain.

Every entry body is canonical JSON. ``entry_hash`` = SHA-256 of the body bytes, and each body holds
``prev_hash``, the entry hash of the site's previous entry (``GENESIS_HASH`` for seq 1). Editing,
removing or reordering any entry therefore changes every later link.

Body fields (all required, no others: a new field means a new format version):

- ``v``: format version, 1
- ``id``: entry UUID (str); ``site``: site slug; ``seq``: per-site sequence, 1, 2, 3, ...
- ``prev_hash``: hex SHA-256 of the previous body; ``recorded_at``: server time,
  ``YYYY-MM-DDTHH:MM:SS.ffffffZ``
- ``subject``: pseudonymous id made by the widget; ``user_ref``: HMAC of a site-supplied user id
  (see ``user_ref``) or null
- ``action``, ``choices`` {category: bool}, ``documents`` {kind: {version, sha256}},
  ``revision`` (banner revision), ``method``, ``gpc`` (bool), ``locale``
- ``page`` (origin + path or null), ``user_agent`` (coarse, or null), ``client_event_id``
- ``kid``: id of the key that signs the entry's receipt

Personal fields (``PERSONAL_FIELDS``) are the ones erasure removes: a redacted row keeps only its
entry hash, which is all the chain and the Merkle tree need.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import UTC, datetime
from json.encoder import encode_basestring as _encode_string
from typing import Any

from service.ledger.canonical import canonical_json
from service.ledger.vocabulary import ACTIONS, METHODS

FORMAT_VERSION = 1
GENESIS_HASH = "0" * 64

ENTRY_FIELDS = (
    "v",
    "id",
    "site",
    "seq",
    "prev_hash",
    "recorded_at",
    "subject",
    "action",
    "choices",
    "documents",
    "revision",
    "method",
    "gpc",
    "locale",
    "page",
    "user_agent",
    "user_ref",
    "client_event_id",
    "kid",
)
# Entries recorded since jurisdictions (round 2) also say where the visitor was (ISO 3166 code,
# null when unknown) and which mode the banner was in; older entries lack them, so they are
# optional in format version 1.
OPTIONAL_FIELDS = ("region", "mode")
MODES = frozenset({"opt-in", "opt-out", "notice"})
_ONE_OF_ACTIONS = f"must be one of {sorted(ACTIONS)}"
_ONE_OF_METHODS = f"must be one of {sorted(METHODS)}"
PERSONAL_FIELDS = ("subject", "user_ref", "page", "user_agent")

_HEX64 = re.compile(r"[0-9a-f]{64}")
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


class EntryError(ValueError):
    """An entry body is missing fields or holds a value of the wrong shape."""


def entry_hash(body: bytes) -> str:
    """Return the hex SHA-256 of an entry body: the entry's identity in the chain and tree."""
    return hashlib.sha256(body).hexdigest()


def format_timestamp(moment: datetime) -> str:
    """Format an aware datetime as the ledger's UTC timestamp, always with microseconds and Z."""
    if moment.tzinfo is None:
        raise EntryError("timestamps must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_timestamp(text: str) -> datetime:
    """Parse a ledger timestamp back into an aware UTC datetime."""
    if not _TIMESTAMP.fullmatch(text):
        raise EntryError(f"not a ledger timestamp: {text!r}")
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def user_ref(pepper: bytes, user_id: str) -> str:
    """Pseudonymise a site-supplied user id: hex HMAC-SHA256 under the site's secret pepper."""
    return hmac.new(pepper, user_id.encode("utf-8"), hashlib.sha256).hexdigest()


def _expect(ok: bool, field: str, what: str) -> None:
    if not ok:
        raise EntryError(f"{field}: {what}")


def _is_str(value: Any) -> bool:
    return type(value) is str


def _is_optional_str(value: Any) -> bool:
    return value is None or type(value) is str


def validate_entry_fields(fields: dict[str, Any]) -> None:
    """Raise EntryError unless ``fields`` is a complete, well-formed version 1 entry body."""
    missing = [name for name in ENTRY_FIELDS if name not in fields]
    unknown = sorted(set(fields) - set(ENTRY_FIELDS) - set(OPTIONAL_FIELDS))
    if missing or unknown:
        raise EntryError(f"missing fields {missing}, unknown fields {unknown}")
    _validate_own_fields(fields)
    _validate_place(fields)


def _validate_own_fields(fields: dict[str, Any]) -> None:
    _expect(fields["v"] == FORMAT_VERSION and type(fields["v"]) is int, "v", "must be 1")
    for name in ("site", "subject", "revision", "locale", "client_event_id"):
        _expect(_is_str(fields[name]) and fields[name] != "", name, "must be a non-empty string")
    for name in ("page", "user_agent", "user_ref"):
        _expect(_is_optional_str(fields[name]), name, "must be a string or null")
    _expect(fields["action"] in ACTIONS, "action", _ONE_OF_ACTIONS)
    _expect(fields["method"] in METHODS, "method", _ONE_OF_METHODS)
    _expect(type(fields["gpc"]) is bool, "gpc", "must be a boolean")
    choices = fields["choices"]
    _expect(
        type(choices) is dict and all(type(v) is bool for v in choices.values()),
        "choices",
        "must map category ids to booleans",
    )
    _expect(type(fields["documents"]) is dict, "documents", "must be an object")
    if "region" in fields:
        _expect(_is_optional_str(fields["region"]), "region", "must be a string or null")
    if "mode" in fields:
        _expect(fields["mode"] in MODES, "mode", f"must be one of {sorted(MODES)}")


def _validate_place(fields: dict[str, Any]) -> None:
    """The fields that give an entry its place in the chain (``PLACE_FIELDS``)."""
    for name in ("id", "kid"):
        _expect(_is_str(fields[name]) and fields[name] != "", name, "must be a non-empty string")
    seq = fields["seq"]
    _expect(type(seq) is int and seq >= 1, "seq", "must be an integer >= 1")
    prev = fields["prev_hash"]
    _expect(_is_str(prev) and _HEX64.fullmatch(prev) is not None, "prev_hash", "must be hex64")
    _expect(seq != 1 or prev == GENESIS_HASH, "prev_hash", "seq 1 must link to GENESIS_HASH")
    recorded = fields["recorded_at"]
    _expect(
        _is_str(recorded) and _TIMESTAMP.fullmatch(recorded) is not None,
        "recorded_at",
        "must look like 2026-11-28T18:00:00.123456Z",
    )


def build_entry_body(**fields: Any) -> bytes:
    """Validate the fields of an entry and return its canonical body bytes.

    ``v`` defaults to the current format version; every other field of ``ENTRY_FIELDS`` is required.
    """
    fields.setdefault("v", FORMAT_VERSION)
    validate_entry_fields(fields)
    return canonical_json(fields)


PLACE_FIELDS = ("id", "seq", "prev_hash", "recorded_at", "kid")
_SOME_PLACE = {
    "id": "-", "seq": 1, "prev_hash": GENESIS_HASH, "recorded_at": "2000-01-01T00:00:00.000000Z",
    "kid": "-",
}  # fmt: skip


class EntryTemplate:
    """An entry's own fields, validated and encoded ahead; :meth:`body` adds its place in the
    chain (``PLACE_FIELDS``) and gives exactly what :func:`build_entry_body` gives for the same
    fields. A live append builds its body under the site's append lock, where every microsecond
    holds up every other append to the site: this leaves five small encodings there."""

    def __init__(self, fields: dict[str, Any]) -> None:
        fields = {"v": FORMAT_VERSION, **fields}
        placed = set(PLACE_FIELDS) & set(fields)
        if placed:
            raise EntryError(f"a template has no place in the chain yet: {sorted(placed)}")
        validate_entry_fields(fields | _SOME_PLACE)
        # In canonical (sorted) order: each run of own fields encoded at once (its members, as
        # they appear inside the object), and the name of each place field, filled by body().
        self._parts: list[bytes | str] = []
        run: dict[str, Any] = {}
        for name in sorted({*ENTRY_FIELDS, *fields}):
            if name in PLACE_FIELDS:
                if run:
                    self._parts.append(canonical_json(run)[1:-1])
                    run = {}
                self._parts.append(name)
            else:
                run[name] = fields[name]
        if run:
            self._parts.append(canonical_json(run)[1:-1])

    def body(self, **place: Any) -> bytes:
        _validate_place(place)
        members = []
        for part in self._parts:
            if type(part) is bytes:
                members.append(part)
            else:
                value = place[part]  # validated: a str or an int
                text = str(value) if type(value) is int else _encode_string(value)
                members.append(f'"{part}":{text}'.encode())
        return b"{" + b",".join(members) + b"}"
