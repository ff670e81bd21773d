"""Consent POST throughput (validate + sign + chain + insert) against a bare Flask endpoint that
does one INSERT into the same database, in the same run, on SQLite and on PostgreSQL.

Both run under gunicorn on 127.0.0.1, 2 sync workers (the bar's setting; ``--workers``, and
``--threads`` for gthread workers, change both apps alike), and are driven by wrk with a Lua
script that sends a fresh ``client_event_id`` per request (so every request appends a new ledger
entry), in alternating rounds. Prints median requests/s, latency p50/p99 and the ratio against the
bar (>= 50%), then verifies the ledger the run produced.

    PYTHONPATH=. python bench/consent_throughput.py [--rounds 3] [--seconds 5] [--db both]
        [--workers 2] [--threads 1] [--against PATH] [--db-suffix _NAME]

``--against PATH`` runs another checkout's service too (say ``git worktree add ../old COMMIT``),
on a database of its own, in the same rotating rounds, and prints this checkout's consent rate
against it (the median of per-round ratios). PostgreSQL databases are named
``consentry_bench{suffix}`` and ``consentry_bench{suffix}_against``.
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
from dataclasses import dataclass, field
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


def prepare_database(kind: str, folder: Path, name: str) -> tuple[str | None, str]:
    """(service DATABASE_URL or None for the default SQLite file, bare endpoint's URL)."""
    if kind == "sqlite":
        bare = folder / f"{name}-bare.db"
        import sqlite3

        connection = sqlite3.connect(bare)
        connection.execute("PRAGMA journal_mode=WAL")  # persistent: every worker gets WAL
        connection.execute("CREATE TABLE bench_ping (id INTEGER PRIMARY KEY, body TEXT)")
        connection.commit()
        connection.close()
        return None, str(bare)
    base = POSTGRES_URL.rsplit("/", 1)[0]
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{base}/{name}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE bench_ping (id bigserial PRIMARY KEY, body text)")
    return url, url


def service_env(instance: Path, database_url: str | None, root: Path = ROOT) -> dict[str, str]:
    env = os.environ | {
        "CONSENTRY_INSTANCE_PATH": str(instance),
        "PYTHONPATH": str(root),
        "CONSENTRY_CONSENT_RATE_LIMIT": "100000 per second",
        "CONSENTRY_CONSENT_CLIENT_RATE_LIMIT": "100000 per second",  # wrk is one client
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


def verify_ledger(instance: Path, database_url: str | None, root: Path = ROOT) -> str:
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
        env=service_env(instance, database_url, root),
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    )
    ok, checked = result.stdout.split()
    return f"ledger verify: ok={ok}, {int(checked):,} entries"


@dataclass
class Target:
    """One endpoint driven by wrk: the bare INSERT, this checkout's consent POST, or another
    checkout's (``--against``)."""

    label: str
    url: str
    origin: str = ""  # the site's allowed origin (consent POSTs), sent as Origin
    template: str = ""  # the consent body, with the documents this checkout's site shows
    results: list[dict] = field(default_factory=list)
    verify: tuple[Path, str | None, Path] | None = None  # instance, database URL, checkout


def start_service(
    kind: str, folder: Path, label: str, root: Path, database: str, workers: int, threads: int
) -> tuple[subprocess.Popen, Target, str | None]:
    """Seed a database of its own with the checkout at ``root`` and serve it: (gunicorn, its
    target, the bare endpoint's database URL that came with it)."""
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    instance = folder / f"instance-{database}"
    database_url, bare_url = prepare_database(kind, folder, database)
    seed(instance, origin, database_url, root)
    env = service_env(instance, database_url, root)
    server = start_gunicorn("service:create_app()", port, env, root, workers, threads)
    target = Target(label, f"{origin}/api/v1/sites/news-example/consents", origin)
    target.template = consent_template(origin)
    target.verify = (instance, database_url, root)
    return server, target, bare_url


def run(
    kind: str,
    rounds: int,
    seconds: int,
    workers: int,
    threads: int,
    connections: int,
    against: Path | None = None,
    suffix: str = "",
) -> float:
    checkouts = [("consent POST", ROOT, f"consentry_bench{suffix}")]
    if against:
        label = f"consent POST ({against.name})"
        checkouts.append((label, against.resolve(), f"consentry_bench{suffix}_against"))
    with tempfile.TemporaryDirectory(prefix="consentry-bench-") as folder:
        folder = Path(folder)
        servers, targets, bare_url = [], [], None
        try:
            for label, root, database in checkouts:
                server, target, bare = start_service(
                    kind, folder, label, root, database, workers, threads
                )
                servers.append(server)
                targets.append(target)
                bare_url = bare_url or bare
            bare_port = free_port()
            (folder / "bare_app.py").write_text(BARE_APP)
            env = os.environ | {"PYTHONPATH": ".", "BARE_DATABASE_URL": bare_url}
            servers.append(start_gunicorn("bare_app:app", bare_port, env, folder, workers, threads))
            bare = Target("bare Flask one INSERT", f"http://127.0.0.1:{bare_port}/insert")
            bare.origin, bare.template = targets[0].origin, targets[0].template
            answered = drive([bare, *targets], rounds, seconds, connections)
        finally:
            stop(servers)
        verified = [verify_ledger(*target.verify) for target in targets]
    print(
        f"[{kind}] wrk -t2 -c{connections}, {rounds} rounds x {seconds} s, gunicorn {workers} "
        + ("sync workers" if threads == 1 else f"gthread workers x {threads} threads")
    )
    return report(bare, targets, verified, answered)


def stop(servers: list[subprocess.Popen]) -> None:
    for server in servers:
        server.terminate()
    for server in servers:
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:  # a loaded machine: do not leave it running
            server.kill()
            server.wait(10)


def drive(targets: list[Target], rounds: int, seconds: int, connections: int) -> dict[str, int]:
    """Warm every target up, then run ``rounds`` rounds, rotating which goes first (the
    machine's load drifts during a run). Returns the POSTs each target answered."""
    answered = {}
    for target in targets:
        headers = {"Origin": target.origin, "Content-Type": "application/json"}
        answered[target.label] = wrk_post(target.url, 1, target.template, headers)["requests"]
    for number in range(rounds):
        shift = number % len(targets)
        for target in targets[shift:] + targets[:shift]:
            headers = {"Origin": target.origin, "Content-Type": "application/json"}
            result = wrk_post(target.url, seconds, target.template, headers, connections)
            target.results.append(result)
            answered[target.label] += result["requests"]
    return answered


def per_round(numerator: Target, denominator: Target) -> float:
    """The median of the per-round ratios of two targets' rates (each round's runs saw about
    the same machine load)."""
    pairs = zip(numerator.results, denominator.results, strict=True)
    return statistics.median(n["rps"] / d["rps"] for n, d in pairs)


def report(
    bare: Target, targets: list[Target], verified: list[str], answered: dict[str, int]
) -> float:
    """Print every target's medians and the ratios; returns this checkout's ratio to the bare
    INSERT."""

    def med(target: Target, key: str) -> float:
        return statistics.median(result[key] for result in target.results)

    for target in [bare, *targets]:
        print(
            f"  {target.label:34} {med(target, 'rps'):7.0f} req/s  p50 {med(target, 'p50'):6.2f}"
            f" ms  p99 {med(target, 'p99'):7.2f} ms  (rounds: "
            + ", ".join(f"{r['rps']:.0f}" for r in target.results)
            + ")"
        )
    ratio = per_round(targets[0], bare)
    print(
        f"  ratio to the bare INSERT {ratio:.1%} (bar >= {BAR:.0%}) "
        + ("PASS" if ratio >= BAR else "FAIL")
    )
    for target, line in zip(targets, verified, strict=True):
        print(f"  {target.label}: {line} for {answered[target.label]:,} answered POSTs")
    if len(targets) > 1:
        against = per_round(targets[0], targets[1])
        print(f"  this checkout against {targets[1].label}: {against:.1%} (median per-round ratio)")
    return ratio


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--workers", type=int, default=WORKERS, help="gunicorn workers, both apps")
    parser.add_argument("--threads", type=int, default=1, help="gthread threads per worker")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument(
        "--against", type=Path, default=None, help="another checkout to run beside this one"
    )
    parser.add_argument(
        "--db-suffix", default="", help="appended to the PostgreSQL databases' names"
    )
    options = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is required: apt-get install wrk", file=sys.stderr)
        return 2
    kinds = ["sqlite", "postgresql"] if options.db == "both" else [options.db]
    settings = (options.rounds, options.seconds, options.workers, options.threads)
    ratios = [
        run(kind, *settings, options.connections, options.against, options.db_suffix)
        for kind in kinds
    ]
    return 0 if all(ratio >= BAR for ratio in ratios) else 1


if __name__ == "__main__":
    sys.exit(main())
