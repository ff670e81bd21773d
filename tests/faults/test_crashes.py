"""Crashes: several writer processes post consents to gunicorn (3 sync workers) while its workers
are killed with SIGKILL again and again and, on PostgreSQL, the database server is restarted once.
Afterwards every acknowledged event is in the ledger exactly once, ``seq`` has no gap, the chain
verifies and the service answers /healthz without any manual step.

Bounded by default; the full run (see docs/performance.md) is ``CONSENTRY_CRASH_SECONDS=300``.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.faults.live import (
    ROOT,
    SITE,
    database,
    live_service,
    record_figures,
    wait_for_postgres,
)

pytestmark = pytest.mark.slow

SECONDS = float(os.environ.get("CONSENTRY_CRASH_SECONDS", "20"))
WRITERS = int(os.environ.get("CONSENTRY_CRASH_WRITERS", "4"))
SEED = int(os.environ.get("CONSENTRY_CRASH_SEED", "11"))
KILL_INTERVAL = (0.3, 1.5)  # seconds between two SIGKILLs


def can_restart_postgres() -> bool:
    """A local cluster this process may restart (Debian's pg_ctlcluster, as root)."""
    return (
        shutil.which("pg_ctlcluster") is not None
        and os.path.isdir("/etc/postgresql")
        and os.geteuid() == 0
    )


def postgres_version() -> str:
    return sorted(os.listdir("/etc/postgresql"), key=lambda v: [int(p) for p in v.split(".")])[-1]


def restart_postgres() -> float:
    """Crash and restart the local PostgreSQL cluster; seconds. Immediate mode: the server stops
    without a checkpoint and drops its shared memory, WAL buffers included, then recovers from
    the WAL on disk, as after a crash. So a consent acknowledged before its commit reached the
    WAL on disk would be missing afterwards (early lock release answers after the flush)."""
    started = time.monotonic()
    command = ["pg_ctlcluster", "--skip-systemctl-redirect", "--mode", "immediate"]
    subprocess.run(
        [*command, postgres_version(), "main", "restart"],
        check=True,
        timeout=120,
        capture_output=True,
    )
    wait_for_postgres(60)
    return time.monotonic() - started


def start_writers(base_url: str, folder: Path) -> list[tuple[subprocess.Popen, Path]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writers = []
    for n in range(WRITERS):
        out = folder / f"writer-{n}.txt"
        command = [
            sys.executable,
            "-m",
            "tests.faults.crash_writer",
            base_url,
            str(SECONDS),
            str(out),
            str(SEED * 100 + n),
        ]
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        writers.append((process, out))
    return writers


def chaos(service, restart_database: bool) -> dict:
    """Kill random workers until the run ends; restart PostgreSQL once, half-way."""
    rng = random.Random(SEED)
    figures = {"worker_kills": 0, "postgres_restarts": 0, "postgres_restart_s": None}
    started = time.monotonic()
    while time.monotonic() - started < SECONDS:
        time.sleep(rng.uniform(*KILL_INTERVAL))
        halfway = time.monotonic() - started > SECONDS / 2
        if restart_database and halfway and not figures["postgres_restarts"]:
            figures["postgres_restart_s"] = round(restart_postgres(), 1)
            figures["postgres_restarts"] += 1
            continue
        pids = service.worker_pids()
        if pids:
            try:
                os.kill(rng.choice(pids), signal.SIGKILL)
                figures["worker_kills"] += 1
            except ProcessLookupError:
                pass
    return figures


def ledger_state(service) -> dict[str, list[int]]:
    """The seqs of the site's entries, per client_event_id."""
    from service.consents.models import ConsentRecord
    from service.extensions import db

    app = service.app()
    with app.app_context():
        rows = db.session.execute(
            db.select(ConsentRecord.client_event_id, ConsentRecord.seq).where(
                ConsentRecord.site_id == SITE
            )
        ).all()
        db.session.remove()
        db.engine.dispose()
    entries: dict[str, list[int]] = {}
    for event_id, seq in rows:
        entries.setdefault(event_id, []).append(seq)
    return entries


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_acknowledged_consents_survive_worker_kills_and_a_database_restart(kind, tmp_path):
    with (
        database(kind, tmp_path, "crash") as url,
        live_service(url, tmp_path, workers=3) as service,
    ):
        started = time.monotonic()
        writers = start_writers(service.base_url, tmp_path)
        try:
            restart = kind == "postgresql" and can_restart_postgres()
            figures = chaos(service, restart_database=restart)
            outputs = [p.communicate(timeout=300)[0] for p, _ in writers]
            assert [p.returncode for p, _ in writers] == [0] * WRITERS, "a writer died"
            summaries = [json.loads(output) for output in outputs]
        finally:
            for process, _ in writers:
                if process.poll() is None:
                    process.kill()
        elapsed = time.monotonic() - started
        # No manual step: the master has replaced every killed worker and the service answers.
        service.wait_healthy(60)
        health = service.get("/healthz")[0]
        workers_after = len(service.worker_pids())
        acknowledged = {}
        for _, out in writers:
            for line in out.read_text().splitlines():
                event_id, seq = line.split()
                acknowledged[event_id] = int(seq)
        entries = ledger_state(service)
        status, verification = service.get(f"/api/v1/sites/{SITE}/ledger/verify")

    seqs = sorted(seq for found in entries.values() for seq in found)
    missing = [e for e in acknowledged if e not in entries]
    duplicated = [e for e, found in entries.items() if len(found) > 1]
    misplaced = [e for e, seq in acknowledged.items() if entries.get(e) != [seq]]
    figures.update(
        backend=kind,
        seconds=round(elapsed, 1),
        writers=WRITERS,
        acknowledged=len(acknowledged),
        ledger_entries=len(seqs),
        unacknowledged_in_ledger=len(set(entries) - set(acknowledged)),
        missing=len(missing),
        duplicated=len(duplicated),
        seq_gapless=seqs == list(range(1, len(seqs) + 1)),
        ledger_verified=verification.get("ok"),
        healthz=health,
        workers_after=workers_after,
        attempts=sum(s["attempts"] for s in summaries),
        connection_errors=sum(s["connection_errors"] for s in summaries),
        server_errors=sum(s["server_errors"] for s in summaries),
        server_error_statuses=dict(
            sum((Counter(s["server_error_statuses"]) for s in summaries), Counter())
        ),
        given_up=sum(s["given_up"] for s in summaries),
        refused=[r for s in summaries for r in s["refused"]][:10],
    )
    record_figures("crashes", figures)

    assert figures["refused"] == [] and figures["given_up"] == 0
    assert acknowledged and missing == [] and duplicated == []
    assert misplaced == []  # each acknowledged event is at the seq its answer named
    assert figures["seq_gapless"]
    assert status == 200 and verification["ok"], verification
    assert health == 200 and workers_after == 3
    assert figures["worker_kills"] >= 3
    if kind == "postgresql" and can_restart_postgres():
        assert figures["postgres_restarts"] == 1
