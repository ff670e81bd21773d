"""Consent POST throughput (validate + sign + chain + insert) against a bare Flask endpoint that
does one INSERT into the same database, in the same run, on SQLite and on PostgreSQL.

Both run under gunicorn on 127.0.0.1, 2 sync workers (the bar's setting; ``--workers``, and
``--threads`` for gthread workers, change both apps alike), and are driven by wrk with a Lua
script that sends a fresh ``client_event_id`` per request (so every request appends a new ledger
entry), in alternating rounds. Prints median requests/s, latency p50/p99 and the ratio against the
bar (>= 50%), then verifies the ledger the run produced.

    PYTHONPATH=. python bench/consent_throughput.py [--rounds 3] [--seconds 5] [--db both]
        [--workers 2] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import psycopg

from bench.banner_throughput import ROOT, WORKERS, free_port, seed, start_gunicorn
from service.documents.banner import consent_documents

BAR = 0.50
POSTGRES_URL = os.environ.get(
    "CONSENTRY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)

BARE_APP = """
import os, sqlite3, threading
import psycopg
from flask import Flask, jsonify, request

app = Flask(__name__)
URL = os.environ["BARE_DATABASE_URL"]
local = threading.local()


def connection():
    if not hasattr(local, "conn"):
        if URL.startswith("postgresql"):
            local.conn = psycopg.connect(URL)
        else:
            local.conn = sqlite3.connect(URL, isolation_level=None)
            local.conn.execute("PRAGMA busy_timeout=30000")
            local.conn.execute("PRAGMA synchronous=FULL")  # WAL is set once, on the file
    return local.conn


@app.post("/insert")
def insert():
    body = request.get_data(as_text=True)
    conn = connection()
    if URL.startswith("postgresql"):
        with conn.transaction():
            conn.execute("INSERT INTO bench_ping (body) VALUES (%s)", (body,))
    else:
        conn.execute("BEGIN")
        conn.execute("INSERT INTO bench_ping (body) VALUES (?)", (body,))
        conn.execute("COMMIT")
    return jsonify({"ok": True}), 201
"""

LUA = """
-- Every request is a new event: the run's own prefix (args[2], fresh per wrk run), the thread's
-- number and a counter make each client_event_id unique, so no request is an idempotent replay.
-- thread_number is a global: thread:set() writes the thread's globals, which a local would shadow.
local counter = 0
local threads = 0
local template, prefix = nil, nil
function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end
function init(args)
  template, prefix = args[1], args[2]
end
request = function()
  counter = counter + 1
  local id = string.format("%s-%04x-4000-a000-%012x", prefix, thread_number, counter)
  local subject = "s_bench_" .. prefix .. "_" .. thread_number .. "_" .. counter
  local body = template:gsub("CLIENT_EVENT_ID", id):gsub("SUBJECT", subject)
  return wrk.format("POST", nil, nil, body)
end
"""


def wrk_post(
    url: str, seconds: int, body_template: str, headers: dict[str, str], connections: int = 8
) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA)
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script.name]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    command += [url, "--", body_template, secrets.token_hex(4)]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    os.unlink(script.name)
    failed = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if failed:
        raise RuntimeError(f"{url}: {failed.group(1)} failed responses\n{output}")
    return {
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50": _latency(output, "50%"),
        "p99": _latency(output, "99%"),
    }


def _latency(output: str, label: str) -> float:
    value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", output).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def prepare_database(kind: str, folder: Path) -> tuple[str | None, str]:
    """(service DATABASE_URL or None for the default SQLite file, bare endpoint's URL)."""
    if kind == "sqlite":
        bare = folder / "bare.db"
        import sqlite3

        connection = sqlite3.connect(bare)
        connection.execute("PRAGMA journal_mode=WAL")  # persistent: every worker gets WAL
        connection.execute("CREATE TABLE bench_ping (id INTEGER PRIMARY KEY, body TEXT)")
        connection.commit()
        connection.close()
        return None, str(bare)
    base = POSTGRES_URL.rsplit("/", 1)[0]
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS consentry_bench WITH (FORCE)")
        conn.execute("CREATE DATABASE consentry_bench")
    url = f"{base}/consentry_bench"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE bench_ping (id bigserial PRIMARY KEY, body text)")
    return url, url


def service_env(instance: Path, database_url: str | None) -> dict[str, str]:
    env = os.environ | {
        "CONSENTRY_INSTANCE_PATH": str(instance),
        "PYTHONPATH": str(ROOT),
        "CONSENTRY_CONSENT_RATE_LIMIT": "100000 per second",
    }
    if database_url:
        env["CONSENTRY_DATABASE_URL"] = database_url
    return env


def consent_template(origin: str) -> str:
    with urllib.request.urlopen(f"{origin}/api/v1/sites/news-example/banner?locale=en") as answer:
        config = json.load(answer)
    return json.dumps(
        {
            "subject": "SUBJECT",
            "client_event_id": "CLIENT_EVENT_ID",
            "action": "custom",
            "choices": {"necessary": True, "analytics": True, "marketing": False},
            "documents": consent_documents(config),
            "revision": config["revision"],
            "method": "preferences",
            "gpc": False,
            "locale": "en",
            "page": f"{origin}/demo",
        }
    )


def verify_ledger(instance: Path, database_url: str | None) -> str:
    code = (
        "from service import create_app\n"
        "from service.consents.service import verify_site_ledger\n"
        "app = create_app()\n"
        "with app.app_context():\n"
        "    r = verify_site_ledger('news-example')\n"
        "    print(r.ok, r.checked)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=service_env(instance, database_url),
        check=True,
        capture_output=True,
        text=True,
    )
    ok, checked = result.stdout.split()
    return f"ledger verify: ok={ok}, {int(checked):,} entries"


def run(
    kind: str, rounds: int, seconds: int, workers: int, threads: int, connections: int
) -> float:
    with tempfile.TemporaryDirectory(prefix="consentry-bench-") as folder:
        folder = Path(folder)
        app_port, bare_port = free_port(), free_port()
        origin = f"http://127.0.0.1:{app_port}"
        instance = folder / "instance"
        database_url, bare_url = prepare_database(kind, folder)
        seed(instance, origin, database_url)
        (folder / "bare_app.py").write_text(BARE_APP)
        servers = [
            start_gunicorn(
                "service:create_app()",
                app_port,
                service_env(instance, database_url),
                ROOT,
                workers,
                threads,
            ),
            start_gunicorn(
                "bare_app:app",
                bare_port,
                os.environ | {"PYTHONPATH": ".", "BARE_DATABASE_URL": bare_url},
                folder,
                workers,
                threads,
            ),
        ]
        try:
            template = consent_template(origin)
            headers = {"Origin": origin, "Content-Type": "application/json"}
            consent_url = f"{origin}/api/v1/sites/news-example/consents"
            insert_url = f"http://127.0.0.1:{bare_port}/insert"
            warm_up = wrk_post(consent_url, 1, template, headers)
            wrk_post(insert_url, 1, template, headers)
            consent, bare = [], []
            for _ in range(rounds):
                bare.append(wrk_post(insert_url, seconds, template, headers, connections))
                consent.append(wrk_post(consent_url, seconds, template, headers, connections))
        finally:
            for server in servers:
                server.terminate()
                server.wait(10)
        verified = verify_ledger(instance, database_url)

    def med(results: list[dict], key: str) -> float:
        return statistics.median(result[key] for result in results)

    ratio = med(consent, "rps") / med(bare, "rps")
    answered = warm_up["requests"] + sum(result["requests"] for result in consent)
    kind_of_workers = "sync workers" if threads == 1 else f"gthread workers x {threads} threads"
    print(
        f"[{kind}] wrk -t2 -c{connections}, {rounds} rounds x {seconds} s, "
        f"gunicorn {workers} {kind_of_workers}"
    )
    for name, results in (("bare Flask one INSERT", bare), ("consent POST", consent)):
        print(
            f"  {name:22} {med(results, 'rps'):7.0f} req/s  p50 {med(results, 'p50'):6.2f} ms"
            f"  p99 {med(results, 'p99'):7.2f} ms  (rounds: "
            + ", ".join(f"{r['rps']:.0f}" for r in results)
            + ")"
        )
    print(
        f"  ratio {ratio:.1%} (bar >= {BAR:.0%}) {'PASS' if ratio >= BAR else 'FAIL'}; {verified}"
        f" for {answered:,} answered POSTs (every one a new event)"
    )
    return ratio


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--workers", type=int, default=WORKERS, help="gunicorn workers, both apps")
    parser.add_argument("--threads", type=int, default=1, help="gthread threads per worker")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    options = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is required: apt-get install wrk", file=sys.stderr)
        return 2
    kinds = ["sqlite", "postgresql"] if options.db == "both" else [options.db]
    ratios = [
        run(
            kind,
            options.rounds,
            options.seconds,
            options.workers,
            options.threads,
            options.connections,
        )
        for kind in kinds
    ]
    return 0 if all(ratio >= BAR for ratio in ratios) else 1


if __name__ == "__main__":
    sys.exit(main())
