"""The tamper suite: every kind of tampering is found and the first bad seq is named."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.ledger.chain import build_entry_body
from service.ledger.merkle import merkle_root
from service.ledger.verify import verify_ledger
from tests.helpers.ledger import (
    SITE,
    append,
    erase,
    make_ledger,
    rechain_from,
    redacted,
    stored_entry,
)


@pytest.fixture
def ledger():
    # 50 signed entries, a checkpoint every 10.
    return make_ledger(50, sign=True, checkpoint_every=10)


def verify(ledger, **kwargs):
    kwargs.setdefault("public_keys", ledger.ring.public_key)
    kwargs.setdefault("erasures", ledger.erasures)
    return verify_ledger(ledger.entries, ledger.checkpoints, **kwargs)


def codes(report):
    return {p.code for p in report.problems}


def test_clean_chain_of_1000_entries_verifies():
    ledger = make_ledger(1000, sign=False, checkpoint_every=100)
    report = verify(ledger)
    assert report.ok, report.problems
    assert report.checked == 1000
    assert report.first_bad_seq is None
    assert report.checkpoints_checked == 10
    assert report.tree_size == 1000
    assert report.root_hash == ledger.checkpoints[-1].root_hash


def test_clean_signed_chain_verifies_with_signature_checks(ledger):
    report = verify(ledger, check_signatures=True)
    assert report.ok, report.problems


def test_empty_ledger_verifies():
    report = verify_ledger([])
    assert report.ok
    assert report.checked == 0
    assert report.root_hash == merkle_root([]).hex()


def test_edited_byte_in_a_body_is_found(ledger):
    entry = ledger.entries[16]
    entry.body = entry.body.replace(b"banner", b"bannes")
    report = verify(ledger)
    assert not report.ok
    assert report.first_bad_seq == 17
    assert "entry_hash_mismatch" in codes(report)
    # Only that row: its successor still links to the stored hash.
    assert {p.seq for p in report.problems} == {17}


def test_edited_entry_hash_is_found(ledger):
    ledger.entries[20].entry_hash = "f" * 64
    report = verify(ledger)
    assert report.first_bad_seq == 21
    assert codes(report) == {"entry_hash_mismatch"}


def test_edited_prev_hash_column_is_found(ledger):
    ledger.entries[33].prev_hash = "e" * 64
    report = verify(ledger)
    assert report.first_bad_seq == 34
    assert codes(report) == {"column_mismatch"}


@pytest.mark.parametrize(
    ("column", "value"),
    [("action", "reject_all"), ("subject", "s_someone_else"), ("method", "api")],
)
def test_edited_denormalised_column_is_found(ledger, column, value):
    entry = ledger.entries[12]
    entry.columns = {**entry.columns, column: value if entry.columns[column] != value else "x"}
    report = verify(ledger)
    assert report.first_bad_seq == 13
    assert codes(report) == {"column_mismatch"}
    assert column in report.problems[0].message


def test_column_values_as_database_types_are_compared_in_body_form(ledger):
    entry = ledger.entries[0]
    text = entry.columns["recorded_at"]
    moment = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
    entry.columns = {**entry.columns, "recorded_at": moment}  # naive, as SQLite returns it
    assert verify(ledger).ok
    entry.columns = {**entry.columns, "recorded_at": moment.replace(tzinfo=UTC, microsecond=999)}
    assert verify(ledger).first_bad_seq == 1


def test_deleted_row_is_found(ledger):
    del ledger.entries[24]
    report = verify(ledger)
    assert report.first_bad_seq == 25
    assert "missing_seq" in codes(report)


def test_deleted_first_row_is_found(ledger):
    del ledger.entries[0]
    assert verify(ledger).first_bad_seq == 1


def test_swapped_row_order_is_found(ledger):
    e = ledger.entries
    e[29], e[30] = e[30], e[29]
    report = verify(ledger)
    assert report.first_bad_seq == 30


def test_swapped_row_contents_are_found(ledger):
    # The seq column stays in place but the rows' contents trade places.
    a, b = ledger.entries[29], ledger.entries[30]
    ledger.entries[29] = dataclasses.replace(b, seq=30)
    ledger.entries[30] = dataclasses.replace(a, seq=31)
    report = verify(ledger)
    assert report.first_bad_seq == 30
    assert {"column_mismatch", "broken_link"} <= codes(report)


def test_duplicate_seq_is_found(ledger):
    ledger.entries.insert(41, ledger.entries[40])
    report = verify(ledger)
    assert report.first_bad_seq == 41
    assert "duplicate_seq" in codes(report)


def test_truncated_tail_is_found(ledger):
    del ledger.entries[45:]
    report = verify(ledger)
    assert report.first_bad_seq == 46
    assert codes(report) == {"truncated"}


def test_truncated_tail_is_invisible_without_a_checkpoint_past_it():
    # Why checkpoints exist: the chain alone cannot tell a cut tail from a short ledger.
    ledger = make_ledger(35, sign=False, checkpoint_every=10)
    del ledger.entries[32:]
    assert verify(ledger).ok


def test_rewritten_history_is_found_against_the_checkpoint(ledger):
    def edit(doc):
        doc["action"] = "accept_all" if doc["action"] != "accept_all" else "reject_all"

    rechain_from(ledger, 24, edit)  # seq 25 rewritten, every later hash recomputed
    report = verify(ledger)
    assert not report.ok
    assert "checkpoint_mismatch" in codes(report)
    # Checkpoints at 10 and 20 still verify: the first entry no valid checkpoint vouches for.
    assert report.first_bad_seq == 21


def test_rewritten_history_names_the_exact_entry_with_signature_checks(ledger):
    rechain_from(ledger, 24, lambda doc: doc.update(gpc=True))
    report = verify(ledger, check_signatures=True)
    assert report.first_bad_seq == 25
    assert "bad_signature" in codes(report)


def test_rewritten_history_with_recomputed_checkpoints_fails_their_signatures(ledger):
    rechain_from(ledger, 24, lambda doc: doc.update(gpc=True))
    roots = {}
    for size in (30, 40, 50):
        leaves = [bytes.fromhex(e.entry_hash) for e in ledger.entries[:size]]
        roots[size] = merkle_root(leaves).hex()
    ledger.checkpoints = [
        dataclasses.replace(cp, root_hash=roots.get(cp.tree_size, cp.root_hash))
        for cp in ledger.checkpoints
    ]
    report = verify(ledger)
    assert "checkpoint_bad_signature" in codes(report)
    assert report.first_bad_seq == 21


def test_checkpoint_signed_by_an_unknown_key_is_a_problem(ledger):
    from service.crypto.keys import generate_signing_key
    from service.ledger.checkpoint import sign_checkpoint

    cp = ledger.checkpoints[0]
    forged = sign_checkpoint(SITE, cp.tree_size, cp.root_hash, cp.timestamp, generate_signing_key())
    ledger.checkpoints[0] = forged
    report = verify(ledger)
    assert codes(report) == {"checkpoint_bad_signature"}
    assert report.first_bad_seq == 1


def test_checkpoint_of_another_site_is_a_problem(ledger):
    from service.ledger.checkpoint import sign_checkpoint

    cp = ledger.checkpoints[2]
    ledger.checkpoints[2] = sign_checkpoint("other", 30, cp.root_hash, cp.timestamp, ledger.key)
    report = verify(ledger)
    assert codes(report) == {"checkpoint_wrong_site"}
    assert report.first_bad_seq == 21


def test_forged_body_with_correct_hashes_fails_its_signature(ledger):
    # Last entry: rewriting it leaves no later link or checkpoint to break, only the signature.
    rechain_from(ledger, 49, lambda doc: doc.update(choices={"necessary": True}))
    ledger.checkpoints.pop()  # the checkpoint at 50 would catch it too
    assert verify(ledger).ok
    report = verify(ledger, check_signatures=True)
    assert report.first_bad_seq == 50


def test_missing_signature_is_reported_when_signatures_are_checked(ledger):
    ledger.entries[3].signature = None
    report = verify(ledger, check_signatures=True)
    assert report.first_bad_seq == 4
    assert codes(report) == {"signature_missing"}


def test_signatures_by_a_retired_key_still_verify(tmp_path):
    from service.crypto.keys import load_keyring_from_dir, rotate_signing_key

    ledger = make_ledger(0)
    ledger.ring = load_keyring_from_dir(tmp_path)
    append(ledger, 5, checkpoint_every=5)
    ledger.ring = rotate_signing_key(tmp_path)
    append(ledger, 5, checkpoint_every=5)
    report = verify(ledger, check_signatures=True)
    assert report.ok, report.problems


def test_unparseable_body_is_reported(ledger):
    entry = ledger.entries[7]
    entry.body = b"{not json"
    report = verify(ledger)
    assert report.first_bad_seq == 8
    assert {"entry_hash_mismatch", "body_unreadable"} <= codes(report)


def test_entry_of_another_site_is_reported(ledger):
    doc = json.loads(ledger.entries[-1].body)
    doc["site"] = "other"
    ledger.entries[-1] = stored_entry(build_entry_body(**doc), ledger.key, sign=True)
    ledger.checkpoints.pop()
    report = verify(ledger)
    assert codes(report) == {"wrong_site"}
    assert report.first_bad_seq == 50


def test_redacted_rows_still_verify_and_are_reported(ledger):
    erase(ledger, [1, 10, 11])
    erase(ledger, [32, 50], reason="retention")
    report = verify(ledger, check_signatures=True)
    assert report.ok, report.problems
    assert report.redacted_seqs == [1, 10, 11, 32, 50]
    assert report.erasures_checked == 2


def test_redacted_row_with_a_forged_hash_is_found(ledger):
    erase(ledger, [15])
    ledger.entries[14] = dataclasses.replace(ledger.entries[14], entry_hash="a" * 64)
    report = verify(ledger)
    assert report.first_bad_seq == 15  # the erasure signed another hash; 16 no longer links
    assert {"checkpoint_mismatch", "erasure_mismatch", "broken_link"} <= codes(report)


def test_row_without_body_that_is_not_redacted_is_a_problem(ledger):
    erase(ledger, [6])
    ledger.entries[5] = dataclasses.replace(ledger.entries[5], redacted=False)
    assert verify(ledger).first_bad_seq == 6


def test_a_redaction_no_erasure_names_is_found(ledger):
    erase(ledger, [3])
    ledger.entries[7] = redacted(ledger.entries[7])
    report = verify(ledger)
    assert report.first_bad_seq == 8
    assert codes(report) == {"redaction_unlogged"}


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("action", "withdraw"),
        ("choices", {"necessary": True, "analytics": True, "marketing": True}),
        ("recorded_at", "2020-01-01T00:00:00.000000Z"),
        ("documents", {}),
        ("region", "US-CA"),
    ],
)
def test_a_redacted_row_that_shows_other_than_the_erasure_signed_is_found(ledger, column, value):
    erase(ledger, [20, 21, 22])
    entry = ledger.entries[20]
    entry.columns = {**entry.columns, column: value}
    report = verify(ledger)
    assert codes(report) == {"erasure_mismatch"}
    assert report.first_bad_seq == 20  # the erasure's first seq: a digest cannot say which


def test_an_erasure_entry_forged_or_changed_is_found(ledger):
    statement = erase(ledger, [5, 6])
    other = make_ledger(1).key  # a key the site never published
    forged = dataclasses.replace(statement, seqs=[[5, 7]], records=3)
    ledger.erasures[0] = forged
    ledger.entries[6] = redacted(ledger.entries[6])
    assert "erasure_bad_signature" in codes(verify(ledger))
    from service.ledger.erasure import sign_erasure

    foreign = sign_erasure(SITE, datetime.now(UTC), "request", None, [7], "0" * 64, other)
    ledger.erasures[:] = [statement, foreign]
    report = verify(ledger)
    assert codes(report) == {"erasure_bad_signature"}


def test_unsigned_erasure_entries_are_reported_not_trusted(ledger):
    statement = erase(ledger, [4, 5])
    ledger.erasures[0] = dataclasses.replace(statement, kid=None, signature=None)
    report = verify(ledger)
    assert codes(report) == {"redaction_unsigned"} and report.first_bad_seq == 4


def test_an_erasure_naming_a_row_that_kept_its_body_is_found(ledger):
    original = ledger.entries[8]
    erase(ledger, [9])
    ledger.entries[8] = original
    assert codes(verify(ledger)) == {"erasure_not_redacted", "erasure_mismatch"}


def test_one_erasure_entry_covers_thousands_of_rows():
    ledger = make_ledger(3000, sign=False, checkpoint_every=1000)
    statement = erase(ledger, list(range(1, 2501)), reason="retention")
    assert statement.seqs == [[1, 2500]] and statement.records == 2500
    report = verify(ledger)
    assert report.ok, report.problems
    assert len(report.redacted_seqs) == 2500


def test_problems_are_capped_but_counted():
    ledger = make_ledger(40, sign=False)
    for entry in ledger.entries:
        entry.entry_hash = "0" * 64
    report = verify_ledger(ledger.entries, max_problems=5)
    assert len(report.problems) == 5
    assert report.problem_count == 40
    assert report.first_bad_seq == 1


def test_public_keys_are_required_for_checkpoints_and_signatures(ledger):
    with pytest.raises(ValueError, match="public_keys"):
        verify_ledger(ledger.entries, ledger.checkpoints)
    with pytest.raises(ValueError, match="public_keys"):
        verify_ledger(ledger.entries, check_signatures=True)


def test_public_keys_may_be_a_mapping(ledger):
    keys = {ledger.key.kid: ledger.key.public_key}
    assert verify_ledger(ledger.entries, ledger.checkpoints, public_keys=keys).ok


def test_entries_are_consumed_as_a_stream(ledger):
    report = verify_ledger(iter(ledger.entries), ledger.checkpoints, ledger.ring.public_key)
    assert report.ok
    assert report.to_dict()["checked"] == 50


# Property: whatever single byte of whatever stored body changes, verification names that entry.
_PROPERTY_LEDGER = make_ledger(12, sign=False, checkpoint_every=4)


@given(data=st.data())
@settings(max_examples=300, deadline=None)
def test_any_single_byte_edit_of_any_body_is_detected_at_its_seq(data):
    entries = [dataclasses.replace(entry) for entry in _PROPERTY_LEDGER.entries]
    index = data.draw(st.integers(0, len(entries) - 1), label="entry")
    body = bytearray(entries[index].body)
    position = data.draw(st.integers(0, len(body) - 1), label="byte")
    body[position] = data.draw(
        st.integers(0, 255).filter(lambda value: value != body[position]), label="new value"
    )
    entries[index].body = bytes(body)
    report = verify_ledger(
        entries, _PROPERTY_LEDGER.checkpoints, public_keys=_PROPERTY_LEDGER.ring.public_key
    )
    assert not report.ok
    assert report.first_bad_seq == index + 1


# Receipts presented ------------------------------------------------------------------------------


def receipt_of(ledger, seq: int) -> str:
    from service.crypto.jws import attach_signature

    entry = ledger.entries[seq - 1]
    return attach_signature(entry.body, entry.kid, entry.signature)


def statuses(report):
    return [(finding.index, finding.seq, finding.status) for finding in report.receipts]


def test_receipts_of_entries_in_the_table_match(ledger):
    receipts = [receipt_of(ledger, 50), receipt_of(ledger, 3)]
    report = verify(ledger, receipts=receipts, site=SITE)
    assert report.ok, report.problems
    assert statuses(report) == [(0, 50, "matches"), (1, 3, "matches")]


def test_a_receipt_of_a_deleted_tail_entry_is_reported(ledger):
    receipts = [receipt_of(ledger, seq) for seq in (44, 48, 49)]
    del ledger.entries[45:]  # seq 46..50 gone, with the checkpoint at 50
    ledger.checkpoints.pop()
    report = verify(ledger, receipts=receipts)
    assert statuses(report) == [(0, 44, "matches"), (1, 48, "missing"), (2, 49, "missing")]
    assert codes(report) == {"receipt_entry_missing"} and report.first_bad_seq == 48


def test_a_receipt_of_a_row_deleted_inside_the_chain_is_reported(ledger):
    receipt = receipt_of(ledger, 12)
    del ledger.entries[11]
    report = verify(ledger, receipts=[receipt])
    assert statuses(report) == [(0, 12, "missing")]
    assert "receipt_entry_missing" in codes(report)


def test_a_receipt_whose_entry_was_replaced_is_reported(ledger):
    from tests.helpers.ledger import entry_fields

    receipt = receipt_of(ledger, 50)
    ledger.entries.pop()
    ledger.checkpoints.pop()
    # Another entry 50, chained and signed as a valid one (the operator holds the key).
    fields = entry_fields(50, ledger.entries[-1].entry_hash, ledger.key, action="reject_all")
    ledger.entries.append(stored_entry(build_entry_body(**fields), ledger.key, sign=True))
    report = verify(ledger, receipts=[receipt])
    assert statuses(report) == [(0, 50, "differs")]
    assert codes(report) == {"receipt_differs"}


def test_a_receipt_of_a_redacted_entry_still_matches(ledger):
    receipt = receipt_of(ledger, 7)
    erase(ledger, [7])
    report = verify(ledger, receipts=[receipt])
    assert report.ok and statuses(report) == [(0, 7, "matches")]


def test_receipts_not_signed_by_the_site_or_for_another_site_are_no_evidence(ledger):
    stranger = make_ledger(60)  # same site name, its own key: not published by this one
    other_site = receipt_of(ledger, 2).split(".")
    report = verify(
        ledger,
        receipts=[receipt_of(stranger, 55), "not a receipt", ".".join(other_site[:2]) + ".AA"],
        site="another-site",
    )
    assert [finding.status for finding in report.receipts] == ["invalid"] * 3
    assert report.ok  # a receipt no published key signed proves nothing
    report = verify(ledger, receipts=[receipt_of(ledger, 2)], site="another-site")
    assert statuses(report) == [(0, 2, "other_site")] and report.ok


def test_receipts_need_the_public_keys(ledger):
    with pytest.raises(ValueError, match="public_keys"):
        verify_ledger(ledger.entries, receipts=[receipt_of(ledger, 1)])
