"""Benchmark: the console's overview and ledger search on large ledgers (issue 16).

Seeds one site per size of ``--sizes`` through the bulk path (``bench/ledger_events.py``, the
audit bench's builder: real entries, chain and signatures, through the ledger writer), spread over
the last 30 days so the overview's default period holds them all, with a new privacy version
half-way and visitors from several regions. Then it measures over HTTP, signed in as an auditor
(session cookie, the full page rendered):

- overview p95: ``/console/sites/SITE/`` (counts per day, shares, opt-in rates, by version and
  by region, SVG).
  The first request after seeding is reported apart ("cold": it fills the per-day cache);
- ledger search p95: ``/console/sites/SITE/ledger`` with a mix of searches (no filter, a subject,
  an action, a method, a document version, a day, the next page through the cursor).

Bars: p95 <= 150 ms at 1,000,000 records, and <= 2x the value at 10,000.

    PYTHONPATH=. python bench/console.py --sizes 10000 1000000
    PYTHONPATH=. python bench/console.py --sizes 10000 1000000 --postgres postgresql://.../db
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

from bench.audit import percentile
from bench.ledger_events import RECORDS_PER_SUBJECT, consent_events

P95_BAR_MS = 150.0
GROWTH_BAR = 2.0
DAYS = 30
ACTIONS = ("accept_all", "accept_all", "reject_all", "custom", "withdraw")
METHODS = ("banner", "banner", "preferences", "gpc")
REGIONS = ("DE", "DE", "FR", "GB", "ES", None)


def publish_privacy(site: str, first_at: datetime, second_at: datetime) -> list[dict]:
    """Privacy versions 1 and 2 of ``site``, taking effect at ``first_at`` and ``second_at``:
    a search by version looks in the period its version was in force."""
    from service.documents.service import publish_text

    refs = []
    for number, moment in ((1, first_at), (2, second_at)):
        texts = {"en": {"title": "Privacy", "body": f"Version {number} of the privacy policy."}}
        state, _created = publish_text(site, "privacy", texts, material=True, now=moment)
        refs.append({"version": state.document.version, "sha256": state.document.content_sha256})
    return refs


def timed(client, url: str) -> float:
    started = time.perf_counter()
    response = client.get(url)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, (url, response.status_code, response.data[:300])
    return elapsed


def ledger_searches(site: str, subjects: int, rng: random.Random, today) -> dict[str, str]:
    base = f"/console/sites/{site}/ledger"
    day = today - timedelta(days=rng.randrange(DAYS))
    return {
        "no filter": base,
        "subject": f"{base}?subject=s_bench_{rng.randrange(subjects):010d}",
        "action": f"{base}?action={rng.choice(('accept_all', 'reject_all', 'custom', 'withdraw'))}",
        "method": f"{base}?method={rng.choice(('banner', 'preferences', 'gpc'))}",
        "current document version": f"{base}?document=privacy:2",
        "older document version": f"{base}?document=privacy:1",
        "one day": f"{base}?from={day}&to={day}",
    }


def measure(client, site: str, size: int, samples: int) -> dict:
    today = datetime.now(UTC).date()
    cold = timed(client, f"/console/sites/{site}/")
    overview = [timed(client, f"/console/sites/{site}/") for _ in range(samples)]
    rng = random.Random(size)
    subjects = max(size // RECORDS_PER_SUBJECT, 1)
    by_kind: dict[str, list[float]] = {}
    for kind, url in ledger_searches(site, subjects, rng, today).items():
        # A fast search that finds nothing would measure nothing.
        page = client.get(url).get_data(as_text=True)
        assert f"/console/sites/{site}/ledger/records/" in page, f"{kind}: no records ({url})"
    for _ in range(max(samples // 6, 1)):
        for kind, url in ledger_searches(site, subjects, rng, today).items():
            by_kind.setdefault(kind, []).append(timed(client, url))
    page = client.get(f"/console/sites/{site}/ledger").get_data(as_text=True)
    cursor = page.split("cursor=", 1)[1].split('"', 1)[0].replace("&amp;", "&")
    by_kind["next page"] = [
        timed(client, f"/console/sites/{site}/ledger?cursor={cursor}") for _ in range(10)
    ]
    everything = [ms for values in by_kind.values() for ms in values]
    return {
        "size": size,
        "cold_ms": cold,
        "overview_p95_ms": percentile(overview, 0.95),
        "ledger_p95_ms": percentile(everything, 0.95),
        "ledger_by_kind": {kind: percentile(v, 0.95) for kind, v in by_kind.items()},
    }


def signed_in_client(app, site: str):
    from service.console.users import create_user

    user = create_user(f"auditor@{site}.example", "auditor", "bench password 123", site)
    client = app.test_client()
    with client.session_transaction() as session:
        session.update(uid=user.id, epoch=user.session_epoch, seen=int(time.time() + 86_400))
        session.permanent = True
    return client


def seed(site: str, size: int) -> float:
    from service.consents.bulk import bulk_append
    from service.extensions import db
    from service.sites.service import create_site

    create_site({"id": site, "name": site, "allowed_origins": ["https://news.example.com"]})
    now = datetime.now(UTC)
    start = now - timedelta(days=DAYS - 1, hours=now.hour, minutes=now.minute)
    step = (now - timedelta(minutes=1) - start) / size
    half = size // 2  # a new privacy version half-way
    first, second = publish_privacy(site, start - timedelta(minutes=1), start + step * half)
    events = consent_events(
        0,
        size,
        subjects=max(size // RECORDS_PER_SUBJECT, 1),
        start=start,
        step=step,
        actions=ACTIONS,
        methods=METHODS,
        regions=REGIONS,
        documents=lambda index: {"privacy": first if index < half else second},
    )
    started = time.perf_counter()
    bulk_append(site, events)
    seconds = time.perf_counter() - started
    db.session.commit()
    # As a database that has been running for a while: statistics, WAL folded in, and on
    # PostgreSQL the visibility map autovacuum keeps (index-only scans fetch no heap rows; this
    # machine's server runs with autovacuum off, so the bench vacuums as autovacuum would).
    # Outside any transaction: neither VACUUM nor a WAL checkpoint runs inside one.
    raw = db.engine.raw_connection()
    try:
        if db.engine.dialect.name == "postgresql":
            raw.driver_connection.autocommit = True
            raw.driver_connection.execute("VACUUM ANALYZE")
            raw.driver_connection.autocommit = False
        else:
            raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            raw.driver_connection.execute("ANALYZE")
    finally:
        raw.close()
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--postgres", default=None, help="PostgreSQL URL of an empty database")
    parser.add_argument("--samples", type=int, default=120, help="requests per measure")
    args = parser.parse_args(argv)

    from flask_migrate import upgrade

    from service import create_app
    from service.extensions import db

    folder = tempfile.mkdtemp(prefix="consentry-bench-console-")
    url = args.postgres or f"sqlite:///{folder}/bench.db"
    app = create_app({"INSTANCE_PATH": folder, "DATABASE_URL": url, "RATELIMIT_ENABLED": False})
    results = []
    with app.app_context():
        upgrade()
        print(f"database: {db.engine.dialect.name}")
        for size in sorted(args.sizes):
            site = f"bench-{size}"
            seconds = seed(site, size)
            print(
                f"seeded {size:,} records over {DAYS} days in {seconds:.1f} s "
                f"({size / seconds:,.0f}/s, bulk path with signatures)"
            )
            client = signed_in_client(app, site)
            result = measure(client, site, size, args.samples)
            db.session.remove()
            results.append(result)
            print(
                f"  n={size:,}: overview p95 {result['overview_p95_ms']:.1f} ms "
                f"(first request {result['cold_ms']:.0f} ms: fills the per-day cache); "
                f"ledger search p95 {result['ledger_p95_ms']:.1f} ms"
            )
            for kind, p95 in result["ledger_by_kind"].items():
                print(f"    ledger search by {kind}: p95 {p95:.1f} ms")
    base, top = results[0], results[-1]
    print("\nbars:")
    for name, key in (("overview", "overview_p95_ms"), ("ledger search", "ledger_p95_ms")):
        print(
            f"  {name} p95 at {top['size']:,}: {top[key]:.1f} ms (bar <= {P95_BAR_MS:.0f} ms); "
            f"growth {base['size']:,} -> {top['size']:,}: x{top[key] / base[key]:.2f} "
            f"(bar <= x{GROWTH_BAR:.0f})"
        )
    for kind, p95 in top["ledger_by_kind"].items():
        growth = p95 / base["ledger_by_kind"][kind]
        print(f"    by {kind}: {p95:.1f} ms at {top['size']:,}, x{growth:.2f} of {base['size']:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
