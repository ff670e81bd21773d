"""Admin writes per second with 1, 4 and 8 clients, beside the consent POST figure of the same run.

For each database (SQLite and PostgreSQL) the service runs under gunicorn (4 sync workers) on a
fresh database. For each number of clients, the clients first make admin writes for ``--seconds``
(each a draft of one of a shared site's documents, its publication, or a rename of the site: every
one contends for the same document rows and the same site), then consent POSTs for as long (each
client on a site of its own). Printed per row: writes per second, median and p99 latency, and the
answers that were not a success; so the cost of queueing writes is read beside the consent
throughput of the same service on the same machine.

``--publish-run`` reproduces the runs of issue 15 instead: 8 clients on ``--sites`` sites (a
client per site with the default 8), creating and publishing ``--rounds`` privacy-policy versions
each, all at once, on the first of ``--backends``; it prints the answers by status (the issue saw
44 of 66 answered 503 on SQLite with 8 sites, and 7 of 91 answered 409 on PostgreSQL with 2).

    PYTHONPATH=. python bench/admin_writes.py [--seconds 10] [--clients 1 4 8] [--backends ...]
    PYTHONPATH=. python bench/admin_writes.py --publish-run [--backends sqlite] [--sites 8]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.concurrency.workload import (
    KINDS,
    HttpClient,
    consent_event,
    origin,
    site_body,
    texts,
)
from tests.faults.live import database, live_service

WORKERS = 4


@dataclass
class Tally:
    """Answers and latencies of one phase, shared by its client threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    seconds: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)

    def keep(self, status: int, seconds: float) -> None:
        with self.lock:
            self.statuses[status] += 1
            if status < 300:
                self.seconds.append(seconds)

    def row(self, elapsed: float) -> dict[str, float | str]:
        latencies = sorted(self.seconds) or [0.0]
        return {
            "per_s": len(self.seconds) / elapsed,
            "p50_ms": statistics.median(latencies) * 1000,
            "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
            "other": ", ".join(f"{n}x{s}" for s, n in sorted(self.statuses.items()) if s >= 300),
        }


def timed(http: HttpClient, tally: Tally, method: str, path: str, body=None, headers=None):
    start = time.perf_counter()
    status, answer = http.call(method, path, body, headers)
    tally.keep(status, time.perf_counter() - start)
    return status, answer


def admin_loop(http: HttpClient, tally: Tally, site: str, index: int, deadline: float) -> None:
    """Draft, publish, rename: the writes of editors working on the same site."""
    turn = 0
    while time.monotonic() < deadline:
        kind = KINDS[(index + turn) % len(KINDS)]
        base = f"/api/v1/sites/{site}/documents/{kind}/versions"
        marker = f"{index}-{uuid.uuid4().hex[:8]}"
        status, answer = timed(http, tally, "POST", base, {"texts": texts(kind, marker)})
        if status == 201:
            timed(http, tally, "POST", f"{base}/{answer['version']}/publish", {})
        if turn % 4 == 3:
            timed(http, tally, "PATCH", f"/api/v1/sites/{site}", {"name": marker})
        turn += 1


def consent_loop(http: HttpClient, tally: Tally, site: str, _index: int, deadline: float) -> None:
    headers = {"Origin": origin(site)}
    while time.monotonic() < deadline:
        event = consent_event(f"s_{uuid.uuid4().hex[:16]}", {})
        timed(http, tally, "POST", f"/api/v1/sites/{site}/consents", event, headers)


def phase(loop: Callable, http: HttpClient, sites: list[str], seconds: float) -> dict:
    tally = Tally()
    start = time.monotonic()
    deadline = start + seconds
    threads = [
        threading.Thread(target=loop, args=(http, tally, site, index, deadline))
        for index, site in enumerate(sites)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tally.row(time.monotonic() - start)


def admin_key(service) -> str:
    from service.auth.service import SCOPES, create_api_key
    from service.extensions import db

    app = service.app()
    with app.app_context():
        _key, plaintext = create_api_key(SCOPES, None, "admin writes bench")
        db.session.remove()
        db.engine.dispose()
    return plaintext


def measure(kind: str, clients: list[int], seconds: float) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        instance = Path(folder)
        with (
            database(kind, instance, "bench_admin_i15") as url,
            live_service(url, instance, workers=WORKERS) as service,
        ):
            http = HttpClient(service.base_url, admin_key(service))
            for site in ["admin", *(f"consent{i}" for i in range(max(clients)))]:
                status, body = http.call("POST", "/api/v1/sites", site_body(site))
                assert status == 201, body
            for count in clients:
                admin = phase(admin_loop, http, ["admin"] * count, seconds)
                consents = [f"consent{i}" for i in range(count)]
                consent = phase(consent_loop, http, consents, seconds)
                rows.append({"backend": kind, "clients": count, "admin": admin, "consent": consent})
                print_row(rows[-1])
    return rows


def print_row(row: dict) -> None:
    admin, consent = row["admin"], row["consent"]
    print(
        f"{row['backend']:<10} {row['clients']:>7} "
        f"{admin['per_s']:>9.1f} {admin['p50_ms']:>8.1f} {admin['p99_ms']:>8.1f} "
        f"{consent['per_s']:>10.1f} {consent['p99_ms']:>8.1f}   "
        f"{admin['other'] or '-'} / {consent['other'] or '-'}",
        flush=True,
    )


def publish_run(kind: str, sites: int, rounds: int) -> Counter:
    """Issue 15's run: 8 clients on ``sites`` sites, each creating and publishing privacy
    versions (``rounds`` drafts and their publications) at once."""
    statuses: Counter = Counter()
    lock = threading.Lock()
    with tempfile.TemporaryDirectory() as folder:
        instance = Path(folder)
        with (
            database(kind, instance, "bench_admin_i15") as url,
            live_service(url, instance, workers=WORKERS) as service,
        ):
            http = HttpClient(service.base_url, admin_key(service))
            for index in range(sites):
                status, body = http.call("POST", "/api/v1/sites", site_body(f"editor{index}"))
                assert status == 201, body
            barrier = threading.Barrier(8)

            def editor(index: int) -> None:
                site = f"editor{index % sites}"
                answers = []
                barrier.wait()
                base = f"/api/v1/sites/{site}/documents/privacy/versions"
                for turn in range(rounds):
                    body = {"texts": texts("privacy", f"{index}-{turn}")}
                    status, answer = http.call("POST", base, body)
                    answers.append(("draft", status))
                    if status == 201:
                        path = f"{base}/{answer['version']}/publish"
                        answers.append(("publish", http.call("POST", path, {})[0]))
                with lock:
                    statuses.update(answers)

            threads = [threading.Thread(target=editor, args=(i,)) for i in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    return statuses


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--publish-run", action="store_true")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--sites", type=int, default=8, help="publish run: sites of the 8 clients")
    args = parser.parse_args()
    if args.publish_run:
        statuses = publish_run(args.backends[0], args.sites, args.rounds)
        total = sum(statuses.values())
        by_status = ", ".join(f"{op} {status}: {n}" for (op, status), n in sorted(statuses.items()))
        where = f"{args.backends[0]}, {args.sites} sites"
        print(f"publish run ({where}): {total} requests; {by_status}")
        print(f"5xx: {sum(n for (_op, s), n in statuses.items() if s >= 500)} of {total}")
        return 0
    print(f"gunicorn {WORKERS} sync workers; {args.seconds:g} s per phase")
    print(
        f"{'backend':<10} {'clients':>7} {'writes/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'consents/s':>10} {'p99 ms':>8}   not 2xx (admin / consent)"
    )
    for kind in args.backends:
        measure(kind, args.clients, args.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
