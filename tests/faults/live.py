"""A live service for the fault and crash suites: gunicorn on 127.0.0.1 over a fresh database
(SQLite in a temporary instance folder, or a PostgreSQL database of its own), migrated and seeded
with the demo site, plus an ``audit:read`` key."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from tests.helpers.apps import POSTGRES_URL

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
SITE = "news-example"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_reachable() -> bool:
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def require_postgres() -> None:
    """Skip without PostgreSQL, except under ``CI=true`` where that is a failure."""
    if not postgres_reachable():
        message = f"PostgreSQL is not reachable at {POSTGRES_URL}"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (required under CI=true)")
        pytest.skip(message)


@contextlib.contextmanager
def database(kind: str, instance: Path, prefix: str) -> Iterator[str]:
    """A fresh database URL of ``kind`` (``sqlite`` or ``postgresql``), dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{instance / 'consentry.db'}"
        return
    require_postgres()
    name = f"consentry_{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        wait_for_postgres(60)
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def wait_for_postgres(seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not postgres_reachable():
        if time.monotonic() > deadline:
            raise RuntimeError("PostgreSQL did not come back")
        time.sleep(0.5)


def prepare(database_url: str, instance: Path, base_url: str) -> str:
    """Migrate, seed the demo site for ``base_url`` and return an ``audit:read`` API key."""
    from flask_migrate import upgrade

    from service import create_app
    from service.auth.service import create_api_key
    from service.demo.seed import seed_demo
    from service.extensions import db

    app = create_app({"DATABASE_URL": database_url, "INSTANCE_PATH": str(instance)})
    with app.app_context():
        upgrade()
        seed_demo(base_url)
        _key, plaintext = create_api_key(["audit:read"], None, "fault suite")
        db.session.remove()
        db.engine.dispose()
    return plaintext


@dataclass
class LiveService:
    base_url: str
    database_url: str
    instance: Path
    audit_key: str
    process: subprocess.Popen

    def worker_pids(self) -> list[int]:
        """The gunicorn workers: the master's children."""
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in path.read_text().split()]
        except FileNotFoundError:
            return []

    def get(self, path: str, timeout: float = 30) -> tuple[int, dict]:
        request = urllib.request.Request(
            self.base_url + path, headers={"Authorization": f"Bearer {self.audit_key}"}
        )
        return _json_call(request, timeout)

    def post(self, path: str, body: dict, timeout: float = 30) -> tuple[int, dict]:
        request = urllib.request.Request(
            self.base_url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        return _json_call(request, timeout)

    def healthy(self) -> bool:
        try:
            return self.get("/healthz", timeout=5)[0] == 200
        except OSError:
            return False

    def wait_healthy(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while not self.healthy():
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError("the service did not become healthy")
            time.sleep(0.2)

    def app(self):
        """An app on the same database and instance folder, for direct queries."""
        from service import create_app

        return create_app({"DATABASE_URL": self.database_url, "INSTANCE_PATH": str(self.instance)})

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _json_call(request: urllib.request.Request, timeout: float) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


@contextlib.contextmanager
def live_service(database_url: str, instance: Path, workers: int) -> Iterator[LiveService]:
    """gunicorn with ``workers`` sync workers on a free port, stopped afterwards."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    audit_key = prepare(database_url, instance, base_url)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CONSENTRY_DATABASE_URL": database_url,
        "CONSENTRY_INSTANCE_PATH": str(instance),
        # Rate limiting is not under test here: fault injection multiplies the requests.
        "CONSENTRY_RATELIMIT_ENABLED": "false",
    }
    log = (instance / "gunicorn.log").open("ab")
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--bind",
        f"127.0.0.1:{port}",
        "--graceful-timeout",
        "5",
        "--no-control-socket",  # the default path is shared by every gunicorn of this user
        "service:create_app()",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
    service = LiveService(base_url, database_url, instance, audit_key, process)
    try:
        service.wait_healthy()
        yield service
    finally:
        service.stop()
        log.close()


def record_figures(name: str, figures: dict) -> None:
    """Print a run's figures and keep them, per backend, in ``test-artifacts/<name>.json``."""
    print(json.dumps(figures, indent=2))
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.json"
    try:
        recorded = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        recorded = {}
    recorded[figures["backend"]] = figures
    path.write_text(json.dumps(recorded, indent=2) + "\n")
