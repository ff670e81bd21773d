"""Access logs name no subject and no token in clear, on the development server and on gunicorn
(docs/operations.md): a subject id in a path or a query is a keyed hash, a token is left out.
The review's finding: erased subject ids stayed in lines such as ``POST
/api/v1/sites/S/subjects/<id>/erase``."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from service.accesslog import log_key, redact, subject_hash
from service.extensions import db
from tests.faults.live import free_port
from tests.helpers.consents import ORIGIN, event

SUBJECT = "s_alice_private_0001"
TOKEN = "eyJzaXRlIjoibmV3cy1leGFtcGxlIn0.secret-token-value"
ROOT = Path(__file__).resolve().parents[2]


def paths(site: str = "news-example") -> list[tuple[str, str]]:
    base = f"/api/v1/sites/{site}"
    return [
        ("GET", f"{base}/subjects/{SUBJECT}/proof"),
        ("POST", f"{base}/subjects/{SUBJECT}/erase"),
        ("GET", f"{base}/consents?subject={SUBJECT}&limit=5"),
        ("GET", f"/r/{site}/00000000-0000-4000-8000-000000000000?token={TOKEN}"),
    ]


def request(base: str, method: str, path: str, headers: dict[str, str]) -> int:
    call = urllib.request.Request(base + path, method=method, headers=headers)
    try:
        with urllib.request.urlopen(call, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def assert_redacted(lines: list[str], key: bytes) -> None:
    text = "\n".join(lines)
    assert SUBJECT not in text and "secret-token-value" not in text, text
    hashed = subject_hash(key, SUBJECT)
    assert text.count(hashed) == 3, text  # proof, erase, ?subject=
    assert "token=[redacted]" in text, text


def test_redaction_of_targets():
    key = b"k" * 32
    hashed = subject_hash(key, SUBJECT)
    assert redact(f"/api/v1/sites/a/subjects/{SUBJECT}/erase", key) == (
        f"/api/v1/sites/a/subjects/{hashed}/erase"
    )
    assert redact("/api/v1/sites/a/subjects/me/consents", key).endswith("/subjects/me/consents")
    assert redact(f"/x?limit=1&Subject={SUBJECT}&token={TOKEN}#f", key) == (
        f"/x?limit=1&Subject={hashed}&token=[redacted]#f"
    )
    unkeyed = redact(f"/api/v1/sites/a/subjects/{SUBJECT}", None)
    assert unkeyed == "/api/v1/sites/a/subjects/[subject]"
    assert subject_hash(b"another key" * 3, SUBJECT) != hashed  # keyed: no pepper, no lookup


def record_subject(client, make_site) -> None:
    """A site whose ledger holds a consent of ``SUBJECT``, committed for the server's threads."""
    make_site()
    answer = client.post(
        "/api/v1/sites/news-example/consents",
        json=event(subject=SUBJECT),
        headers={"Origin": ORIGIN},
    )
    assert answer.status_code == 201, answer.get_json()
    db.session.commit()


def test_the_development_server_logs_no_subject_in_clear(app, client, admin, make_site, caplog):
    record_subject(client, make_site)  # the server's threads write (the erasure)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        with caplog.at_level(logging.INFO, logger="werkzeug"):
            statuses = [request(base, method, path, admin) for method, path in paths()]
    finally:
        server.shutdown()
    assert statuses[:3] == [200, 200, 200], statuses
    lines = [record.getMessage() for record in caplog.records if record.name == "werkzeug"]
    assert len(lines) >= 4
    assert_redacted(lines, log_key(app.config["PEPPER"]))


def test_gunicorn_logs_no_subject_in_clear(app, client, admin, make_site, backend, tmp_path):
    record_subject(client, make_site)
    port, log = free_port(), tmp_path / "access.log"
    env = os.environ | {
        "CONSENTRY_INSTANCE_PATH": app.instance_path,  # the same pepper
        "CONSENTRY_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "PYTHONPATH": str(ROOT),
    }
    command = [
        sys.executable, "-m", "gunicorn", "-c", "python:service.gunicorn_config",
        "--access-logfile", str(log), "--workers", "1", "--bind", f"127.0.0.1:{port}",
        "service:create_app()",
    ]  # fmt: skip
    server = subprocess.Popen(command, env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("gunicorn did not start")
                time.sleep(0.1)
        base = f"http://127.0.0.1:{port}"
        statuses = [request(base, method, path, admin) for method, path in paths()]
    finally:
        server.terminate()
        server.wait(30)
    assert statuses[:3] == [200, 200, 200], statuses
    lines = log.read_text().splitlines()
    assert len(lines) == 4, lines
    assert_redacted(lines, log_key(app.config["PEPPER"]))
