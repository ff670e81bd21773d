from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from service.crypto.keys import KeyRing, generate_signing_key
from service.ledger.checkpoint import (
    Checkpoint,
    checkpoint_payload,
    sign_checkpoint,
    verify_checkpoint,
)
from service.ledger.merkle import merkle_root

ROOT = merkle_root([b"a", b"b", b"c"])
WHEN = "2026-11-28T18:00:00.000000Z"


@pytest.fixture
def ring():
    return KeyRing(generate_signing_key())


def test_signed_checkpoint_verifies(ring):
    cp = sign_checkpoint("news-example", 3, ROOT, WHEN, ring.current)
    assert cp.root_hash == ROOT.hex()
    assert cp.kid == ring.current.kid
    assert verify_checkpoint(cp, ring.public_key)


def test_payload_is_canonical_json_of_the_unsigned_fields():
    payload = checkpoint_payload("s", 3, "ab" * 32, WHEN, "kid1")
    assert payload == (
        b'{"kid":"kid1","root_hash":"' + b"ab" * 32 + b'","site":"s",'
        b'"timestamp":"2026-11-28T18:00:00.000000Z","tree_size":3,'
        b'"typ":"consentry-checkpoint/v1"}'
    )


def test_datetime_timestamp_is_formatted_in_ledger_form(ring):
    cp = sign_checkpoint("s", 0, merkle_root([]), datetime(2026, 1, 2, tzinfo=UTC), ring.current)
    assert cp.timestamp == "2026-01-02T00:00:00.000000Z"
    assert verify_checkpoint(cp, ring.public_key)


@pytest.mark.parametrize(
    "change",
    [
        {"site": "other"},
        {"tree_size": 4},
        {"root_hash": "00" * 32},
        {"timestamp": "2026-11-28T18:00:01.000000Z"},
        {"signature": "AAAA"},
        {"signature": "not base64!"},
    ],
    ids=lambda change: next(iter(change)),
)
def test_any_edited_field_breaks_the_signature(ring, change):
    cp = sign_checkpoint("news-example", 3, ROOT, WHEN, ring.current)
    assert not verify_checkpoint(dataclasses.replace(cp, **change), ring.public_key)


def test_unknown_or_swapped_kid_fails(ring):
    other = generate_signing_key()
    cp = sign_checkpoint("news-example", 3, ROOT, WHEN, other)
    assert not verify_checkpoint(cp, ring.public_key)
    both = KeyRing(ring.current, {other.kid: other.public_key})
    assert verify_checkpoint(cp, both.public_key)
    assert not verify_checkpoint(dataclasses.replace(cp, kid=ring.current.kid), both.public_key)


def test_bad_root_hash_is_refused_at_signing(ring):
    with pytest.raises(ValueError, match="root_hash"):
        sign_checkpoint("s", 1, "XYZ", WHEN, ring.current)
    with pytest.raises(ValueError, match="tree_size"):
        sign_checkpoint("s", -1, ROOT, WHEN, ring.current)


def test_checkpoint_exports_as_plain_dict(ring):
    cp = sign_checkpoint("s", 3, ROOT, WHEN, ring.current)
    assert Checkpoint(**cp.to_dict()) == cp
