from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from service.crypto.keys import generate_signing_key
from service.ledger.canonical import parse_canonical
from service.ledger.chain import (
    ENTRY_FIELDS,
    GENESIS_HASH,
    PERSONAL_FIELDS,
    PLACE_FIELDS,
    EntryError,
    EntryTemplate,
    build_entry_body,
    entry_hash,
    format_timestamp,
    parse_timestamp,
    user_ref,
)
from tests.helpers.ledger import entry_fields

KEY = generate_signing_key()


def fields(**overrides):
    base = entry_fields(1, GENESIS_HASH, KEY)
    base.update(overrides)
    return base


def test_body_is_canonical_json_with_every_field_and_version_1():
    body = build_entry_body(**fields())
    doc = parse_canonical(body)
    assert set(doc) == set(ENTRY_FIELDS)
    assert doc["v"] == 1
    assert set(PERSONAL_FIELDS) <= set(doc)


def test_entry_hash_is_sha256_hex_of_the_body():
    body = build_entry_body(**fields())
    assert entry_hash(body) == hashlib.sha256(body).hexdigest()
    assert GENESIS_HASH == "0" * 64


def test_missing_and_unknown_fields_are_named():
    incomplete = fields()
    del incomplete["locale"]
    with pytest.raises(EntryError, match="locale"):
        build_entry_body(**incomplete)
    with pytest.raises(EntryError, match="ip_address"):
        build_entry_body(**fields(ip_address="203.0.113.9"))


@pytest.mark.parametrize(
    "override",
    [
        {"v": 2},
        {"seq": 0},
        {"seq": "1"},
        {"prev_hash": "ab" * 32},
        {"prev_hash": "XYZ"},
        {"recorded_at": "2026-11-28T18:00:00Z"},
        {"recorded_at": "2026-11-28T18:00:00.123456+00:00"},
        {"action": "maybe"},
        {"method": "telepathy"},
        {"gpc": "false"},
        {"choices": {"analytics": "yes"}},
        {"documents": []},
        {"subject": ""},
        {"page": 42},
    ],
    ids=lambda override: next(iter(override)),
)
def test_malformed_fields_are_refused(override):
    with pytest.raises(EntryError):
        build_entry_body(**fields(**override))


def split(all_fields: dict) -> tuple[dict, dict]:
    """An entry's own fields and its place in the chain."""
    own = {name: value for name, value in all_fields.items() if name not in PLACE_FIELDS}
    return own, {name: all_fields[name] for name in PLACE_FIELDS}


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"seq": 7, "prev_hash": "ab" * 32, "user_ref": "cd" * 32, "page": None},
        {"user_agent": "Navigateur \u00e9 \u2603 \U0001f600", "id": 'a"b\\c', "kid": "k\u00e9y"},
        {"choices": {}, "documents": {"terms": {"version": 2, "sha256": "ef" * 32}}},
    ],
)
def test_a_template_gives_the_body_build_entry_body_gives(overrides):
    own, place = split(fields(**overrides))
    assert EntryTemplate(own).body(**place) == build_entry_body(**own, **place)


@pytest.mark.parametrize("override", [{"action": "maybe"}, {"gpc": "false"}, {"page": 42}])
def test_a_template_refuses_malformed_fields_up_front(override):
    own, _place = split(fields(**override))
    with pytest.raises(EntryError):
        EntryTemplate(own)


@pytest.mark.parametrize(
    "override", [{"seq": 0}, {"prev_hash": "XYZ"}, {"recorded_at": "yesterday"}, {"kid": ""}]
)
def test_a_template_refuses_a_malformed_place(override):
    own, place = split(fields())
    with pytest.raises(EntryError):
        EntryTemplate(own).body(**(place | override))


def test_a_template_has_no_place_yet():
    with pytest.raises(EntryError, match="seq"):
        EntryTemplate(fields())


def test_later_entries_link_to_their_predecessor():
    first = build_entry_body(**fields())
    second = build_entry_body(**entry_fields(2, entry_hash(first), KEY))
    assert json.loads(second)["prev_hash"] == entry_hash(first)


def test_timestamps_are_utc_with_microseconds_and_z():
    moment = datetime(2026, 11, 28, 19, 0, 0, 5, tzinfo=timezone(timedelta(hours=1)))
    assert format_timestamp(moment) == "2026-11-28T18:00:00.000005Z"
    assert parse_timestamp("2026-11-28T18:00:00.000005Z") == moment.astimezone(UTC)
    with pytest.raises(EntryError):
        format_timestamp(datetime(2026, 1, 1))
    with pytest.raises(EntryError):
        parse_timestamp("2026-11-28 18:00:00")


def test_user_ref_is_a_keyed_hash_that_depends_on_the_pepper():
    assert user_ref(b"pepper-a", "user-42") == user_ref(b"pepper-a", "user-42")
    assert user_ref(b"pepper-a", "user-42") != user_ref(b"pepper-b", "user-42")
    assert "user-42" not in user_ref(b"pepper-a", "user-42")
