"""Search by document version: each version's seq span, widened when a checkpoint is cut, finds
every record naming the version (imports at any time included) without walking the ledger."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from flask_migrate import downgrade, upgrade

from service.consents.bulk import bulk_append
from service.consents.models import LedgerHead, VersionSpan
from service.consents.service import accumulator, add_checkpoint, cut_checkpoint
from service.consents.writer import ledger_writer
from service.extensions import db
from service.timeutil import utcnow
from tests.helpers.audit import BASE, SITE

CHOICES = {"necessary": True, "analytics": True, "marketing": True}


def imported(n: int, versions: dict[str, int], recorded_at) -> dict:
    return {
        "subject": f"s_span_{n:05}",
        "action": "accept_all",
        "choices": CHOICES,
        "documents": {kind: {"version": v, "sha256": "d" * 64} for kind, v in versions.items()},
        "revision": "r" * 64,
        "method": "banner",
        "recorded_at": recorded_at,
    }


def mixed_ledger(count: int) -> list[dict[str, int]]:
    """The versions each of ``count`` entries names (entry n has seq n + 1): privacy 1, then 2,
    with 1 still named here and there later (say an import of an old site's history); terms 1
    on some entries only; privacy 3 on a few at the very end (after the last checkpoint)."""
    rng = random.Random(5)
    named = []
    for n in range(count):
        privacy = 1 if n < count // 3 or rng.random() < 0.05 else 2
        if n >= count - 5:
            privacy = 3
        versions = {"privacy": privacy}
        if rng.random() < 0.3:
            versions["terms"] = 1
        named.append(versions)
    return named


def import_ledger(make_site, named: list[dict[str, int]]) -> None:
    make_site(SITE)
    start = utcnow() - timedelta(days=30)
    # Out of time order on purpose: the spans follow seq, whatever the times say.
    times = [start + timedelta(minutes=(n * 7919) % len(named)) for n in range(len(named))]
    bulk_append(SITE, [imported(n, v, times[n]) for n, v in enumerate(named)], batch_size=97)


def expected_seqs(named: list[dict[str, int]], kind: str, version: int) -> list[int]:
    return [n + 1 for n, versions in enumerate(named) if versions.get(kind) == version]


def spans_in_table() -> dict[tuple[str, int], tuple[int, int]]:
    rows = db.session.execute(db.select(VersionSpan).where(VersionSpan.site_id == SITE)).scalars()
    return {(row.kind, row.version): (row.first_seq, row.last_seq) for row in rows}


def expected_spans(named: list[dict[str, int]], through: int) -> dict:
    spans: dict[tuple[str, int], tuple[int, int]] = {}
    for n, versions in enumerate(named[:through]):
        for kind, version in versions.items():
            first, _last = spans.get((kind, version), (n + 1, n + 1))
            spans[kind, version] = (first, n + 1)
    return spans


def covered() -> int:
    return db.session.get(LedgerHead, SITE).last_checkpoint_size


def test_spans_cover_exactly_what_the_checkpoints_cover(make_site):
    named = mixed_ledger(600)
    import_ledger(make_site, named)
    assert covered() == 512  # a checkpoint every 256 entries; 88 after the last one
    assert spans_in_table() == expected_spans(named, 512)
    assert ("privacy", 3) not in spans_in_table()  # only after the last checkpoint so far
    cut_checkpoint(SITE)
    db.session.expire_all()
    assert covered() == 600
    assert spans_in_table() == expected_spans(named, 600)


def search(client, admin, order: str, limit: int, **params) -> list[int]:
    """Every page of a search, following the cursor."""
    seqs, cursor = [], None
    while True:
        query = {"order": order, "limit": limit, **params}
        if cursor:
            query["cursor"] = cursor
        response = client.get(f"{BASE}/consents", query_string=query, headers=admin)
        assert response.status_code == 200, response.get_json()
        page = response.get_json()
        seqs += [item["seq"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return seqs


def test_a_search_by_version_finds_every_record_naming_it(client, admin, make_site):
    named = mixed_ledger(600)
    import_ledger(make_site, named)
    for kind, version in [("privacy", 1), ("privacy", 2), ("privacy", 3), ("terms", 1)]:
        expected = expected_seqs(named, kind, version)
        assert expected, (kind, version)
        for order, seqs in (("asc", expected), ("desc", expected[::-1])):
            found = search(client, admin, order, 100, document=f"{kind}:{version}")
            assert found == seqs, (kind, version, order)
    for never in ("privacy:4", "terms:2", "cookies:1"):
        assert search(client, admin, "desc", 100, document=never) == []


def test_a_search_by_version_on_an_empty_ledger_and_with_other_filters(client, admin, make_site):
    make_site(SITE)
    assert search(client, admin, "asc", 10, document="privacy:1") == []
    named = mixed_ledger(300)
    now = utcnow()
    bulk_append(SITE, [imported(n, v, now + timedelta(seconds=n)) for n, v in enumerate(named)])
    subject = search(client, admin, "asc", 7, document="privacy:2", subject="s_span_00150")
    assert subject == ([151] if named[150]["privacy"] == 2 else [])
    # With a period: the version's records in it, from both spans' bounds.
    since, until = now + timedelta(seconds=200), now + timedelta(seconds=250)
    period = {"from": since.isoformat(), "to": until.isoformat()}
    found = search(client, admin, "desc", 7, document="privacy:2", **period)
    expected = [seq for seq in expected_seqs(named, "privacy", 2) if 201 <= seq <= 250]
    assert expected and found == expected[::-1]


def test_the_migration_fills_the_spans_of_an_existing_ledger(app, make_site):
    named = mixed_ledger(600)
    import_ledger(make_site, named)
    before = spans_in_table()
    db.session.commit()
    db.session.close()
    downgrade(revision="0015")
    upgrade()
    assert spans_in_table() == before == expected_spans(named, covered())


def test_a_checkpoint_written_without_the_heads_lock_is_refused(make_site):
    """The spans merge from the checkpoint the lock read: no lock, no merge (and no write)."""
    make_site(SITE)
    bulk_append(SITE, [imported(0, {"privacy": 1}, utcnow())])
    with ledger_writer().transaction() as ledger:
        head = ledger.lock(SITE).head
    with ledger_writer().transaction() as ledger:
        checkpoint = add_checkpoint(head, accumulator(head), utcnow())
        with pytest.raises(RuntimeError, match="lock first"):
            ledger.write(head, [], [checkpoint])
    assert covered() == 0 and spans_in_table() == {}
