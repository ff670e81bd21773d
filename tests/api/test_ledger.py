"""Ledger endpoints and guarantees on a real database: receipts, JWKS and key rotation,
checkpoints and proofs, append-only triggers, tamper detection, concurrent writers, rate limits."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from service.consents.models import ConsentRecord
from service.crypto.keys import b64url_encode, generate_signing_key
from service.extensions import db
from service.ledger.merkle import verify_inclusion
from tests.helpers.consents import ORIGIN, event, verify
from tests.helpers.storage import ledger_migration


@pytest.fixture
def record(client, make_site):
    make_site()

    def send(**overrides) -> dict:
        response = client.post(
            "/api/v1/sites/news-example/consents",
            json=event(**overrides),
            headers={"Origin": ORIGIN},
        )
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return send


# Receipts ---------------------------------------------------------------------------------------


def test_receipt_verify_answers_the_consent(client, record):
    answer = record()
    result = client.post("/api/v1/receipts/verify", json={"receipt": answer["receipt"]})
    body = result.get_json()
    assert body["valid"] is True
    assert body["consent"]["id"] == answer["id"]
    assert body["kid"] == client.get("/.well-known/jwks.json").get_json()["keys"][0]["kid"]


def _forge(header: dict, payload: bytes, signature: bytes) -> str:
    head = b64url_encode(json.dumps(header).encode())
    return f"{head}.{b64url_encode(payload)}.{b64url_encode(signature)}"


def test_tampered_forged_and_confused_receipts_are_invalid(client, record):
    receipt = record()["receipt"]
    header_b64, payload_b64, signature_b64 = receipt.split(".")
    payload = base64.urlsafe_b64decode(payload_b64 + "==")
    header = json.loads(base64.urlsafe_b64decode(header_b64 + "=="))
    public_x = client.get("/.well-known/jwks.json").get_json()["keys"][0]["x"]
    stranger = generate_signing_key()

    tampered_payload = payload.replace(b'"custom"', b'"accept_all"')
    hmac_signature = hmac.new(
        public_x.encode(), f"{header_b64}.{payload_b64}".encode(), hashlib.sha256
    ).digest()
    candidates = {
        "tampered payload": f"{header_b64}.{b64url_encode(tampered_payload)}.{signature_b64}",
        "tampered signature": f"{header_b64}.{payload_b64}.{signature_b64[::-1]}",
        "alg none": _forge({**header, "alg": "none"}, payload, b""),
        "hmac with public key": _forge({**header, "alg": "HS256"}, payload, hmac_signature),
        "wrong key": _forge(header, payload, stranger.sign(f"{header_b64}.{payload_b64}".encode())),
        "unknown kid": _forge({**header, "kid": stranger.kid}, payload, b"x" * 64),
        "garbage": "not.a.receipt",
        "two parts": "abc.def",
    }
    for name, token in candidates.items():
        result = client.post("/api/v1/receipts/verify", json={"receipt": token})
        assert result.status_code == 200, name
        assert result.get_json()["valid"] is False, name
        assert result.get_json()["consent"] is None, name


@pytest.mark.parametrize("body", [{}, {"receipt": 42}, {"receipt": ""}, {"receipt": "x" * 70000}])
def test_receipt_verify_rejects_bad_input(client, body):
    assert client.post("/api/v1/receipts/verify", json=body).status_code in (413, 422)


def test_rotation_keeps_old_receipts_verifiable(app, client, record, runner):
    old = record()
    old_kid = client.get("/.well-known/jwks.json").get_json()["keys"][0]["kid"]
    result = runner.invoke(args=["keys", "rotate-signing"])
    assert result.exit_code == 0, result.output
    kids = [key["kid"] for key in client.get("/.well-known/jwks.json").get_json()["keys"]]
    assert len(kids) == 2 and kids[1] == old_kid
    new = record(subject="s_visitor_0002")
    assert (
        json.loads(base64.urlsafe_b64decode(new["receipt"].split(".")[0] + "=="))["kid"]
        == (kids[0])
    )
    for answer in (old, new):
        checked = client.post("/api/v1/receipts/verify", json={"receipt": answer["receipt"]})
        assert checked.get_json()["valid"] is True


# Checkpoints and proofs -------------------------------------------------------------------------


def test_checkpoints_are_cut_every_n_entries(app, client, record):
    app.config["CHECKPOINT_EVERY"] = 3
    for n in range(7):
        record(subject=f"s_visitor_{n:04d}")
    latest = client.get("/api/v1/sites/news-example/checkpoints/latest").get_json()
    # the first entry cuts one (no checkpoint yet), then every 3: sizes 1, 4, 7
    assert latest["tree_size"] == 7
    assert latest["site"] == "news-example"


def test_latest_checkpoint_404_before_any_entry(client, make_site):
    make_site()
    response = client.get("/api/v1/sites/news-example/checkpoints/latest")
    assert response.status_code == 404
    assert client.get("/api/v1/sites/nope/checkpoints/latest").status_code == 404


def test_inclusion_proof_verifies_against_the_signed_checkpoint(app, client, record, admin):
    app.config["CHECKPOINT_EVERY"] = 1000
    answers = [record(subject=f"s_visitor_{n:04d}") for n in range(11)]
    target = answers[6]
    proof = client.get(
        f"/api/v1/sites/news-example/consents/{target['id']}/proof", headers=admin
    ).get_json()
    checkpoint = proof["checkpoint"]
    assert checkpoint["tree_size"] == 11  # cut on demand: the record was newer than the last one
    assert verify_inclusion(
        bytes.fromhex(proof["entry_hash"]),
        proof["leaf_index"],
        checkpoint["tree_size"],
        [bytes.fromhex(node) for node in proof["inclusion_proof"]],
        bytes.fromhex(checkpoint["root_hash"]),
    )
    from service.crypto.keys import public_keys_from_jwks
    from service.ledger.checkpoint import Checkpoint, verify_checkpoint

    keys = public_keys_from_jwks(client.get("/.well-known/jwks.json").get_json())
    assert verify_checkpoint(Checkpoint(**checkpoint), keys.get)


def test_proof_of_unknown_record_is_404(client, record, admin):
    record()
    response = client.get(
        f"/api/v1/sites/news-example/consents/{uuid.uuid4()}/proof", headers=admin
    )
    assert response.status_code == 404


def test_cli_checkpoint_and_verify(runner, record):
    record()
    result = runner.invoke(args=["ledger", "checkpoint", "news-example"])
    assert result.exit_code == 0 and "tree_size 1" in result.output
    result = runner.invoke(args=["ledger", "verify", "news-example", "--signatures"])
    assert result.exit_code == 0 and "OK" in result.output


# Append-only and tamper evidence ------------------------------------------------------------------


def test_database_refuses_update_and_delete_of_entries(app, record):
    record()
    for statement in (
        "UPDATE consent_records SET action = 'accept_all'",
        "UPDATE consent_records SET seq = 5",
        "DELETE FROM consent_records",
    ):
        with pytest.raises(DatabaseError, match="append-only"):
            db.session.execute(text(statement))
        db.session.rollback()
    assert db.session.execute(text("SELECT count(*) FROM consent_records")).scalar_one() == 1


@pytest.fixture
def drop_append_only_triggers(app):
    """What an attacker with full database rights can do; verification must still notice.
    The PostgreSQL test database outlives the test, so its triggers are put back afterwards."""

    def drop() -> None:
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("DROP TRIGGER consent_records_append_only ON consent_records"))
            db.session.execute(text("DROP FUNCTION consent_records_append_only()"))
        else:
            db.session.execute(text("DROP TRIGGER consent_records_append_only_update"))
            db.session.execute(text("DROP TRIGGER consent_records_append_only_delete"))
        db.session.commit()

    yield drop
    db.session.rollback()
    if db.engine.dialect.name == "postgresql":
        exists = db.session.execute(
            text("SELECT count(*) FROM pg_trigger WHERE tgname = 'consent_records_append_only'")
        ).scalar_one()
        if not exists:
            for statement in ledger_migration().POSTGRES_TRIGGERS:
                db.session.execute(text(statement))
            db.session.commit()


def edit_body_byte(seq: int) -> None:
    row = db.session.execute(db.select(ConsentRecord).where(ConsentRecord.seq == seq)).scalar_one()
    body = bytearray(row.body)
    body[body.index(b'"custom"') + 1] = ord("C")
    db.session.execute(
        text("UPDATE consent_records SET body = :body WHERE seq = :seq"),
        {"body": bytes(body), "seq": seq},
    )


TAMPERS = {
    "edited body byte": (edit_body_byte, 3),
    "edited column": (
        lambda seq: db.session.execute(
            text("UPDATE consent_records SET action = 'accept_all' WHERE seq = :seq"), {"seq": seq}
        ),
        4,
    ),
    "deleted row": (
        lambda seq: db.session.execute(
            text("DELETE FROM consent_records WHERE seq = :seq"), {"seq": seq}
        ),
        2,
    ),
    "truncated tail": (
        lambda seq: db.session.execute(
            text("DELETE FROM consent_records WHERE seq >= :seq"), {"seq": seq}
        ),
        5,
    ),
}


@pytest.mark.parametrize("tamper", list(TAMPERS))
def test_verification_names_the_first_bad_seq(
    app, client, record, admin, tamper, drop_append_only_triggers
):
    for n in range(6):
        record(subject=f"s_visitor_{n:04d}")
    from service.consents.service import cut_checkpoint

    cut_checkpoint("news-example")
    assert verify(client, admin)["ok"] is True
    drop_append_only_triggers()
    change, seq = TAMPERS[tamper]
    change(seq)
    db.session.commit()
    report = verify(client, admin)
    assert report["ok"] is False
    assert report["first_bad_seq"] == seq
    assert report["problems"]


def test_swapped_rows_are_detected(app, client, record, admin, drop_append_only_triggers):
    for n in range(4):
        record(subject=f"s_visitor_{n:04d}")
    drop_append_only_triggers()
    db.session.execute(text("UPDATE consent_records SET seq = seq + 100 WHERE seq IN (2, 3)"))
    db.session.execute(text("UPDATE consent_records SET seq = 3 WHERE seq = 102"))
    db.session.execute(text("UPDATE consent_records SET seq = 2 WHERE seq = 103"))
    db.session.commit()
    report = verify(client, admin)
    assert report["ok"] is False and report["first_bad_seq"] == 2


# Concurrency --------------------------------------------------------------------------------------


def test_concurrent_writers_in_threads_keep_one_linear_chain(app, client, make_site, admin):
    import threading

    make_site()
    errors: list[object] = []
    duplicate = event()

    def writer(index: int) -> None:
        local = app.test_client()
        for n in range(8):
            body = duplicate if n == 0 else event(subject=f"s_thread{index:02d}_{n:04d}")
            try:
                response = local.post(
                    "/api/v1/sites/news-example/consents", json=body, headers={"Origin": ORIGIN}
                )
            except Exception as error:  # a thread's exception would otherwise vanish
                errors.append(repr(error))
                continue
            if response.status_code != 201:
                errors.append(response.get_json())

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    db.session.rollback()  # end this test's own read snapshot, taken before the threads wrote
    seqs = db.session.execute(text("SELECT seq FROM consent_records ORDER BY seq")).scalars().all()
    assert seqs == list(range(1, 6 * 7 + 2))  # 6 threads x 7 own events + 1 shared duplicate
    report = verify(client, admin)
    assert report["ok"] is True and report["checked"] == 43


def test_sqlite_appenders_queue_on_a_lock_file_beside_the_database(app, backend, make_site):
    """Waiting on the lock file (woken at once), not in SQLite's sleeping busy handler."""
    import fcntl
    import os
    import threading

    if backend.name != "sqlite":
        pytest.skip("SQLite only: PostgreSQL's row lock queues the appenders")
    make_site()
    holder = os.open(db.engine.url.database + "-append.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(holder, fcntl.LOCK_EX)  # as another process in the middle of an append
    answers = []

    def append() -> None:
        answer = app.test_client().post(
            "/api/v1/sites/news-example/consents", json=event(), headers={"Origin": ORIGIN}
        )
        answers.append(answer.status_code)

    writer = threading.Thread(target=append)
    writer.start()
    writer.join(0.5)
    waited = writer.is_alive()
    fcntl.flock(holder, fcntl.LOCK_UN)
    os.close(holder)
    writer.join(10)
    assert waited and answers == [201]


def test_concurrent_writer_processes_keep_one_linear_chain(app, client, make_site, admin):
    import subprocess
    import sys

    make_site()
    db.session.rollback()
    shared = json.dumps(event(subject="s_shared_duplicate"))
    writers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.helpers.ledger_writer",
                app.config["SQLALCHEMY_DATABASE_URI"],
                app.instance_path,
                str(n),
                "15",
                shared,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    for writer in writers:
        out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err[-2000:]
        assert out.strip() == "16"
    seqs = db.session.execute(text("SELECT seq FROM consent_records ORDER BY seq")).scalars().all()
    assert seqs == list(range(1, 4 * 15 + 2))  # 4 x 15 own events + the shared one, once
    report = verify(client, admin)
    assert report["ok"] is True and report["checked"] == 61


# Rate limits --------------------------------------------------------------------------------------


@pytest.mark.parametrize("storage", ["memory", "redis"])
def test_per_site_rate_limit_answers_429(backend, tmp_path, storage):

    from tests.helpers.apps import rate_limited_app
    from tests.helpers.sites import site_payload

    if storage == "redis":
        from tests.helpers.storage import redis_url

        storage_uri = redis_url()
    else:
        storage_uri = "memory://"
    with rate_limited_app(backend, tmp_path, storage_uri) as (_app, client, headers):
        assert client.post("/api/v1/sites", json=site_payload(), headers=headers).status_code == 201
        assert (
            client.post(
                "/api/v1/sites", json=site_payload("other-site"), headers=headers
            ).status_code
            == 201
        )
        answers = [
            client.post(
                "/api/v1/sites/news-example/consents", json=event(), headers={"Origin": ORIGIN}
            )
            for _ in range(4)
        ]
        assert [answer.status_code for answer in answers] == [201, 201, 201, 429]
        assert [answer.headers["X-RateLimit-Remaining"] for answer in answers] == [
            "2", "1", "0", "0",
        ]  # fmt: skip
        assert {answer.headers["X-RateLimit-Limit"] for answer in answers} == {"3"}
        # One window: Redis reports its reset as now + the key's TTL, which may round either side
        # of a second when the requests straddle one.
        resets = {int(answer.headers["X-RateLimit-Reset"]) for answer in answers}
        assert max(resets) - min(resets) <= 1 and 0 < max(resets) - time.time() <= 62
        limited = client.post(
            "/api/v1/sites/news-example/consents", json=event(), headers={"Origin": ORIGIN}
        )
        assert limited.get_json()["error"]["code"] == "rate_limited"
        assert "Retry-After" in limited.headers
        # another site has its own budget
        other = client.post(
            "/api/v1/sites/other-site/consents", json=event(), headers={"Origin": ORIGIN}
        )
        assert other.status_code == 201
