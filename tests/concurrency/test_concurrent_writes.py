"""Concurrent writes against a live service (gunicorn, 4 workers) on both databases: 8 client
threads and the CLI write at once for a bounded time. Nothing may answer 5xx, nothing may answer a
409 that the rules would not give a lone client, and everything acknowledged must be there, once.

Marked ``slow``: it runs in CI's serial run (``pytest -m slow``) with the fault and crash suites,
so its workers get the machine's cores; it uses its own databases and a free port, so it also
passes beside other tests.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from tests.concurrency.checks import (
    answer_problems,
    cli_problems,
    database_state,
    document_problems,
    erasure_digests,
    ledger_problems,
    verification_problems,
)
from tests.concurrency.workload import CliClient, HttpClient, run_clients, summarise
from tests.faults.live import ROOT, database, live_service, record_figures

pytestmark = pytest.mark.slow

WORKERS = 4
THREADS = 8
SECONDS = float(os.environ.get("CONSENTRY_CONCURRENCY_SECONDS", "12"))
MINIMUM_ANSWERS = 150  # the run goes on past SECONDS (up to 4x) until this many were answered
SEED = int(os.environ.get("CONSENTRY_CONCURRENCY_SEED", "3"))


def admin_key(service) -> str:
    from service.auth.service import SCOPES, create_api_key
    from service.extensions import db

    app = service.app()
    with app.app_context():
        _key, plaintext = create_api_key(SCOPES, None, "concurrency suite")
        db.session.remove()
        db.engine.dispose()
    return plaintext


def cli_client(service, ledger_folder: Path) -> CliClient:
    from tests.concurrency.workload import Ledger

    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CONSENTRY_DATABASE_URL": service.database_url,
        "CONSENTRY_INSTANCE_PATH": str(service.instance),
    }
    command = [sys.executable, "-m", "flask", "--app", "service"]
    ledger_folder.mkdir()
    return CliClient(command, env, Ledger(), ledger_folder)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_concurrent_writes_are_queued_not_refused(kind, tmp_path):
    with (
        database(kind, tmp_path, "concurrency") as url,
        live_service(url, tmp_path, workers=WORKERS) as service,
    ):
        key = admin_key(service)
        cli = cli_client(service, tmp_path / "policies")
        started = time.monotonic()
        ledger, clients = run_clients(
            service.base_url, key, THREADS, SECONDS, cli, MINIMUM_ANSWERS, SEED
        )
        elapsed = time.monotonic() - started
        app = service.app()
        state = database_state(app)
        problems, conflicts = answer_problems(ledger.answers, state["versions"])
        problems += document_problems(ledger, state["versions"])
        problems += ledger_problems(ledger, state, erasure_digests(app, ledger.erased))
        problems += cli_problems(ledger)
        sites = {record[1] for record in state["records"]} | {client.site for client in clients}
        problems += verification_problems(HttpClient(service.base_url, key), sites)
    record_figures(
        "concurrency",
        {
            "backend": kind,
            "seconds": round(elapsed, 1),
            "requests": len(ledger.answers),
            "answers": summarise(ledger.answers),
            "409": {f"{op} {verdict}": n for (op, verdict), n in conflicts.items()},
            "cli_runs": len(ledger.cli),
            "problems": len(problems),
        },
    )
    assert len(ledger.answers) >= MINIMUM_ANSWERS / 2, "too few requests to prove anything"
    assert not problems, "\n".join(problems[:40]) + f"\n({len(problems)} problems)"
