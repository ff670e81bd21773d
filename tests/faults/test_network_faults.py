"""Network faults: consent events from the widget's real delivery logic (under node) reach a live
service through a proxy that drops requests, loses answers after the service committed, duplicates
and delays; afterwards nothing is lost, nothing is recorded twice, every acknowledged event has a
valid receipt and the ledger verifies.

Bounded by default; the full run (see docs/performance.md) is ``CONSENTRY_FAULT_EVENTS=10000``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func

from tests.faults.live import SITE, database, live_service, record_figures
from tests.faults.proxy import FaultProxy, FaultRates

pytestmark = pytest.mark.slow

EVENTS = int(os.environ.get("CONSENTRY_FAULT_EVENTS", "1000"))
BROWSERS = int(os.environ.get("CONSENTRY_FAULT_BROWSERS", "50"))
SEED = int(os.environ.get("CONSENTRY_FAULT_SEED", "7"))
DEADLINE_S = int(os.environ.get("CONSENTRY_FAULT_DEADLINE", "900"))
NODE = shutil.which("node")


def run_driver(service_url: str, target_url: str) -> dict:
    command = [
        NODE,
        str(Path(__file__).with_name("deliver.mjs")),
        "--service",
        service_url,
        "--target",
        target_url,
        "--site",
        SITE,
        "--events",
        str(EVENTS),
        "--browsers",
        str(BROWSERS),
        "--seed",
        str(SEED),
        "--deadline",
        str(DEADLINE_S),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=DEADLINE_S + 120)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout)


def ledger_counts(service) -> dict[str, int]:
    """How many ledger entries each client_event_id has."""
    from service.consents.models import ConsentRecord
    from service.extensions import db

    app = service.app()
    with app.app_context():
        rows = db.session.execute(
            db.select(ConsentRecord.client_event_id, func.count())
            .where(ConsentRecord.site_id == SITE)
            .group_by(ConsentRecord.client_event_id)
        ).all()
        db.session.remove()
        db.engine.dispose()
    return dict(rows)


def verify_receipts(service, receipts: dict[str, str]) -> list[str]:
    """Ids whose receipt does not verify or does not name that event."""

    def check(item: tuple[str, str]) -> str | None:
        event_id, receipt = item
        status, answer = service.post("/api/v1/receipts/verify", {"receipt": receipt})
        ok = status == 200 and answer["valid"] and answer["consent"]["client_event_id"] == event_id
        return None if ok else event_id

    with ThreadPoolExecutor(8) as pool:
        return [bad for bad in pool.map(check, receipts.items()) if bad is not None]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_no_consent_is_lost_or_duplicated_through_network_faults(kind, tmp_path):
    if NODE is None:
        pytest.skip("node is not installed")
    with (
        database(kind, tmp_path, "faults") as url,
        live_service(url, tmp_path, workers=2) as service,
    ):
        upstream = ("127.0.0.1", int(service.base_url.rsplit(":", 1)[1]))
        proxy = FaultProxy(upstream, FaultRates(), seed=SEED).start()
        try:
            started = time.monotonic()
            run = run_driver(service.base_url, proxy.url)
            elapsed = time.monotonic() - started
        finally:
            proxy.stop()
        counts = ledger_counts(service)
        bad_receipts = verify_receipts(service, run["receipts"])
        status, verification = service.get(f"/api/v1/sites/{SITE}/ledger/verify")

    enqueued = run["enqueued"]
    lost = [event_id for event_id in enqueued if counts.get(event_id, 0) == 0]
    duplicated = [event_id for event_id, n in counts.items() if n > 1]
    unacknowledged = [event_id for event_id in enqueued if event_id not in run["receipts"]]
    figures = {
        "backend": kind,
        "events": run["events"],
        "browsers": BROWSERS,
        "delivered": run["delivered"],
        "lost": len(lost),
        "duplicated": len(duplicated),
        "unacknowledged": len(unacknowledged),
        "bad_receipts": len(bad_receipts),
        "ledger_entries": sum(counts.values()),
        "ledger_verified": verification.get("ok"),
        "ledger_checked": verification.get("checked"),
        "driver": {k: v for k, v in run.items() if k not in ("enqueued", "receipts")},
        "proxy": proxy.figures(),
        "seconds": round(elapsed, 1),
    }
    record_figures("faults", figures)

    assert run["events"] == EVENTS
    assert run["problem_count"] == 0, run["problems"]
    assert lost == [] and run["pending"] == 0
    assert duplicated == []
    assert unacknowledged == [] and run["delivered"] == EVENTS
    assert bad_receipts == []
    assert sum(counts.values()) == EVENTS  # nothing but these events in the ledger
    assert status == 200 and verification["ok"], verification
    assert verification["checked"] == EVENTS
    for fault in ("dropped", "lost_responses", "duplicated", "delayed"):
        assert proxy.counters[fault] > 0, f"the proxy never injected {fault}"
