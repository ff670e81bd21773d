"""Benchmark: audit queries and export on a large ledger (DESIGN.md section 6).

Seeds the ledger through the bulk path (``service.consents.bulk.bulk_append``: real canonical
bodies, chain, Ed25519 signatures, checkpoints), growing it through each size of ``--sizes``, and
at each size measures:

- subject query p95 (a page of one subject's records), through the service function and through
  the WSGI app (HTTP test client, API key check included). Bar: <= 10 ms at 1,000,000 records and
  <= 2x the value at the smallest size;
- export rate: NDJSON through the WSGI app, the stream consumed. Bar: >= 50,000 records/s;
- export memory: tracemalloc peak of Python allocations while the stream is consumed (a separate
  run: tracing slows it). Bar: flat as records grow (ratio to the smallest size ~1).

    PYTHONPATH=. python bench/audit.py --sizes 10000 100000
    PYTHONPATH=. python bench/audit.py --sizes 10000 100000 1000000 --postgres postgresql://...
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta

from bench.ledger_events import RECORDS_PER_SUBJECT, consent_events

SITE = "bench-site"
P95_BAR_MS = 10.0
EXPORT_BAR = 50_000


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def measure_queries(client, headers, subjects: int, samples: int) -> tuple[float, float]:
    from service.audit.query import query_records

    rng = random.Random(7)
    picks = [f"s_bench_{rng.randrange(subjects):010d}" for _ in range(samples)]
    for subject in picks[:50]:  # warm up caches and prepared statements
        query_records(SITE, subject=subject)
    service_ms, http_ms = [], []
    for subject in picks:
        started = time.perf_counter()
        page = query_records(SITE, subject=subject)
        service_ms.append((time.perf_counter() - started) * 1000)
        assert page["items"], subject
    for subject in picks:
        started = time.perf_counter()
        response = client.get(f"/api/v1/sites/{SITE}/consents?subject={subject}", headers=headers)
        http_ms.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return percentile(service_ms, 0.95), percentile(http_ms, 0.95)


def consume_export(client, headers) -> tuple[int, int]:
    response = client.get(f"/api/v1/sites/{SITE}/export?format=ndjson", headers=headers)
    lines = size = 0
    for chunk in response.response:
        size += len(chunk)
        lines += chunk.count(b"\n") if isinstance(chunk, bytes) else chunk.count("\n")
    response.close()
    return lines - 2, size  # minus header and end lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--postgres", default=None, help="PostgreSQL URL (default: SQLite file)")
    parser.add_argument("--samples", type=int, default=500, help="subject queries per size")
    args = parser.parse_args(argv)

    from flask_migrate import upgrade

    from service import create_app
    from service.auth.service import create_api_key
    from service.consents.bulk import bulk_append
    from service.extensions import db
    from service.sites.service import create_site

    folder = tempfile.mkdtemp(prefix="consentry-bench-")
    url = args.postgres or f"sqlite:///{folder}/bench.db"
    app = create_app({"INSTANCE_PATH": folder, "DATABASE_URL": url, "RATELIMIT_ENABLED": False})
    sizes = sorted(args.sizes)
    results = []
    with app.app_context():
        upgrade()
        if args.postgres:
            from sqlalchemy import text

            # The proving tables refuse TRUNCATE; the replica role skips triggers (superuser).
            db.session.execute(text("SET LOCAL session_replication_role = replica"))
            db.session.execute(
                text("TRUNCATE consent_records, checkpoints, ledger_heads, erasures CASCADE")
            )
            db.session.execute(text(f"DELETE FROM api_keys; DELETE FROM sites WHERE id = '{SITE}'"))
            db.session.commit()
        create_site({"id": SITE, "name": "Bench", "allowed_origins": ["https://news.example.com"]})
        _key, plaintext = create_api_key(["audit:read"], SITE)
        headers = {"Authorization": f"Bearer {plaintext}"}
        client = app.test_client()
        subjects = max(sizes[-1] // RECORDS_PER_SUBJECT, 1)
        start = datetime(2026, 9, 1, tzinfo=UTC)
        step = timedelta(days=90) / sizes[-1]
        seeded = 0
        print(f"database: {db.engine.dialect.name}; {subjects:,} subjects over the largest size")
        for size in sizes:
            started = time.perf_counter()
            bulk_append(
                SITE, consent_events(seeded, size, subjects=subjects, start=start, step=step)
            )
            seconds = time.perf_counter() - started
            print(
                f"seeded {size - seeded:,} records to {size:,} in {seconds:.1f} s "
                f"({(size - seeded) / seconds:,.0f}/s, bulk path with signatures)"
            )
            seeded = size
            # As a database that has been running for a while: statistics, WAL folded in.
            if db.engine.dialect.name == "postgresql":
                db.session.execute(db.text("ANALYZE consent_records"))
            else:
                db.session.execute(db.text("PRAGMA wal_checkpoint(TRUNCATE)"))
                db.session.execute(db.text("ANALYZE"))
            db.session.commit()
            live = min(subjects, size)  # subjects that already have records
            service_p95, http_p95 = measure_queries(client, headers, live, args.samples)
            started = time.perf_counter()
            exported, size_bytes = consume_export(client, headers)
            export_seconds = time.perf_counter() - started
            assert exported == size, (exported, size)
            tracemalloc.start()
            consume_export(client, headers)
            _current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            db.session.remove()
            result = {
                "size": size,
                "service_p95_ms": service_p95,
                "http_p95_ms": http_p95,
                "export_rate": exported / export_seconds,
                "export_mb": size_bytes / 1e6,
                "export_peak_mb": peak / 1e6,
            }
            results.append(result)
            print(
                f"  n={size:,}: subject query p95 {service_p95:.2f} ms (service), "
                f"{http_p95:.2f} ms (HTTP); export {result['export_rate']:,.0f} records/s "
                f"({result['export_mb']:.0f} MB); export peak {result['export_peak_mb']:.2f} MB"
            )
    base, top = results[0], results[-1]
    print("\nbars:")
    print(
        f"  subject query p95 at {top['size']:,}: {top['http_p95_ms']:.2f} ms HTTP / "
        f"{top['service_p95_ms']:.2f} ms service (bar <= {P95_BAR_MS:.0f} ms at 1,000,000): "
        f"{top['http_p95_ms'] / P95_BAR_MS:.0%} of the bar"
    )
    print(
        f"  p95 growth {base['size']:,} -> {top['size']:,}: "
        f"x{top['http_p95_ms'] / base['http_p95_ms']:.2f} HTTP, "
        f"x{top['service_p95_ms'] / base['service_p95_ms']:.2f} service (bar <= x2)"
    )
    print(
        f"  export rate at {top['size']:,}: {top['export_rate']:,.0f} records/s "
        f"(bar >= {EXPORT_BAR:,}): x{top['export_rate'] / EXPORT_BAR:.2f} of the bar"
    )
    print(
        f"  export peak memory {base['size']:,} -> {top['size']:,}: "
        f"{base['export_peak_mb']:.2f} MB -> {top['export_peak_mb']:.2f} MB "
        f"(x{top['export_peak_mb'] / base['export_peak_mb']:.2f}; bar: flat)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
