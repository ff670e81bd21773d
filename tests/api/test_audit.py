"""Audit API: query and pagination, one record, export, erasure, retention, stats, self-service."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text

from service.consents.models import ConsentRecord
from service.extensions import db
from service.timeutil import utcnow
from tests.helpers.audit import BASE, SITE, accept, recording_site, reject
from tests.helpers.storage import backdate


@pytest.fixture
def record(client, admin, make_site):
    return recording_site(client, admin, make_site)


# Query --------------------------------------------------------------------------------------------


def test_query_filters_by_subject_action_method_and_document(client, admin, record):
    record(**accept("s_alice_0001"))
    record(**reject("s_bob_00001"))
    record(**accept("s_alice_0001", method="preferences"))
    record.publish(body="Version two of the policy.")
    record(**reject("s_alice_0001"))

    def seqs(**params):
        response = client.get(f"{BASE}/consents", query_string=params, headers=admin)
        assert response.status_code == 200, response.get_json()
        return [item["seq"] for item in response.get_json()["items"]]

    assert seqs() == [1, 2, 3, 4]
    assert seqs(subject="s_alice_0001") == [1, 3, 4]
    assert seqs(action="reject_all") == [2, 4]
    assert seqs(method="preferences") == [3]
    assert seqs(document="privacy:1") == [1, 2, 3]
    assert seqs(document="privacy:2") == [4]
    assert seqs(document="terms:1") == []
    assert seqs(document="privacy:99") == []
    # A period narrows the search by version.
    after_v2 = (utcnow() + timedelta(minutes=10)).isoformat()
    assert seqs(document="privacy:1", **{"from": after_v2}) == []
    assert seqs(document="privacy:2", **{"from": after_v2}) == []
    assert seqs(document="privacy:2", to=after_v2) == [4]
    assert seqs(subject="s_alice_0001", action="accept_all", method="banner") == [1]


def test_a_record_shows_what_was_agreed(client, admin, record):
    answer = record(**accept("s_alice_0001"))
    item = client.get(f"{BASE}/consents", headers=admin).get_json()["items"][0]
    assert item == {
        "id": answer["id"],
        "seq": 1,
        "subject": "s_alice_0001",
        "action": "accept_all",
        "choices": {"necessary": True, "analytics": True, "marketing": True},
        "documents": record.documents,
        "method": "banner",
        "gpc": False,
        # No trusted region header in tests: unknown, so the strictest mode the site uses.
        "region": None,
        "mode": "opt-in",
        "recorded_at": answer["recorded_at"],
        "redacted": False,
        "redacted_at": None,
    }


def test_keyset_pages_stay_correct_while_records_arrive(client, admin, record):
    for n in range(5):
        record(subject=f"s_visitor_{n:04d}")
    first = client.get(f"{BASE}/consents?limit=2", headers=admin).get_json()
    assert [item["seq"] for item in first["items"]] == [1, 2]
    for n in range(5, 8):  # new records arrive between two page requests
        record(subject=f"s_visitor_{n:04d}")
    seen = [item["seq"] for item in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = client.get(
            f"{BASE}/consents", query_string={"limit": 2, "cursor": cursor}, headers=admin
        ).get_json()
        seen += [item["seq"] for item in page["items"]]
        cursor = page["next_cursor"]
    assert seen == list(range(1, 9))  # no repeat, no gap


def test_descending_order_pages_newest_first(client, admin, record):
    for n in range(5):
        record(subject=f"s_visitor_{n:04d}")
    page = client.get(f"{BASE}/consents?order=desc&limit=3", headers=admin).get_json()
    assert [item["seq"] for item in page["items"]] == [5, 4, 3]
    rest = client.get(
        f"{BASE}/consents",
        query_string={"order": "desc", "cursor": page["next_cursor"]},
        headers=admin,
    ).get_json()
    assert [item["seq"] for item in rest["items"]] == [2, 1]
    assert rest["next_cursor"] is None
    mixed = client.get(
        f"{BASE}/consents", query_string={"cursor": page["next_cursor"]}, headers=admin
    )
    assert mixed.status_code == 422
    assert "order=desc" in mixed.get_json()["error"]["message"]


def test_query_by_time_range(client, admin, record):
    record()
    now = utcnow()
    inside = client.get(
        f"{BASE}/consents",
        query_string={"from": (now - timedelta(hours=1)).isoformat(), "to": now.date().isoformat()},
        headers=admin,
    ).get_json()
    assert len(inside["items"]) == 1
    later = client.get(
        f"{BASE}/consents",
        query_string={"from": (now + timedelta(days=1)).date().isoformat()},
        headers=admin,
    ).get_json()
    assert later["items"] == []


@pytest.mark.parametrize(
    "params, field",
    [
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "eyJzIjoiMSJ9"}, "cursor"),  # {"s":"1"}: base64 JSON, but not ours
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"from": "yesterday"}, "from"),
        ({"from": "2026-13-01"}, "from"),
        ({"from": "2026-11-28T10:00:00"}, "from"),  # no time zone
        ({"from": "2026-11-29", "to": "2026-11-28"}, "from"),
        ({"document": "privacy"}, "document"),
        ({"document": "contract:1"}, "document"),
        ({"document": "privacy:0"}, "document"),
        ({"action": "maybe"}, "action"),
        ({"subject": "x"}, "subject"),
        ({"order": "random"}, "order"),
    ],
)
def test_bad_query_parameters_answer_422(client, admin, record, params, field):
    response = client.get(f"{BASE}/consents", query_string=params, headers=admin)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed"
    assert field in error["details"]["fields"]


def test_query_of_unknown_site_is_404(client, admin, record):
    assert client.get("/api/v1/sites/nope/consents", headers=admin).status_code == 404


# One record ---------------------------------------------------------------------------------------


def test_one_record_with_receipt_and_verification(app, client, admin, record):
    app.config["CHECKPOINT_EVERY"] = 1000
    answer = record()
    record(subject="s_visitor_0002")  # not covered by the checkpoint cut on the first entry
    response = client.get(f"{BASE}/consents/{answer['id']}", headers=admin)
    assert response.status_code == 200
    body = response.get_json()
    assert body["receipt"] == answer["receipt"]
    assert body["verification"] == {
        "receipt_valid": True,
        "entry_hash_ok": True,
        "in_checkpoint": True,
        "checkpoint_tree_size": 1,
    }
    second = client.get(f"{BASE}/consents", headers=admin).get_json()["items"][1]
    detail = client.get(f"{BASE}/consents/{second['id']}", headers=admin).get_json()
    assert detail["verification"]["in_checkpoint"] is False


def test_unknown_record_is_404(client, admin, record):
    record()
    response = client.get(f"{BASE}/consents/{uuid.uuid4()}", headers=admin)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


# Export -------------------------------------------------------------------------------------------


def ndjson(response) -> list[dict]:
    return [json.loads(line) for line in response.get_data(as_text=True).splitlines()]


def test_ndjson_export_carries_what_a_verifier_needs(client, admin, record):
    answers = [record(subject=f"s_visitor_{n:04d}") for n in range(3)]
    response = client.get(f"{BASE}/export?format=ndjson", headers=admin)
    assert response.status_code == 200
    assert response.mimetype == "application/x-ndjson"
    assert response.is_streamed
    lines = ndjson(response)
    header, entries, end = lines[0], lines[1:-1], lines[-1]
    assert header["type"] == "header" and header["site"] == SITE
    assert header["jwks"] == client.get("/.well-known/jwks.json").get_json()
    assert header["checkpoints"][-1]["tree_size"] == 3  # cut for the export
    assert [entry["seq"] for entry in entries] == [1, 2, 3]
    assert entries[1]["prev_hash"] == entries[0]["entry_hash"]
    assert [entry["id"] for entry in entries] == [answer["id"] for answer in answers]
    assert json.loads(entries[0]["body"])["subject"] == "s_visitor_0000"
    assert end == {"type": "end", "entries": 3}


def test_csv_export_has_flat_columns(client, admin, record):
    record()
    response = client.get(f"{BASE}/export?format=csv", headers=admin)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 1
    assert rows[0]["seq"] == "1" and rows[0]["subject"] == "s_visitor_0001"
    assert json.loads(rows[0]["choices"]) == {
        "analytics": True,
        "marketing": False,
        "necessary": True,
    }
    assert json.loads(rows[0]["body"])["id"] == rows[0]["id"]


def test_export_of_a_range_is_a_contiguous_segment(client, admin, record, app):
    for n in range(4):
        record(subject=f"s_visitor_{n:04d}")
    # Move seq 1 and 2 a day back (triggers refuse an UPDATE: go around them as a migration would).
    day_before = utcnow() - timedelta(days=1)
    backdate(app, [1, 2], day_before)
    response = client.get(
        f"{BASE}/export", query_string={"from": utcnow().date().isoformat()}, headers=admin
    )
    lines = ndjson(response)
    assert lines[0]["first_seq"] == 3 and lines[0]["last_seq"] == 4
    assert [line["seq"] for line in lines[1:-1]] == [3, 4]


@pytest.mark.parametrize(
    "query", ["format=xml", "format=ndjson&from=nope", "from=2026-11-29&to=2026-11-28"]
)
def test_bad_export_parameters_answer_422(client, admin, record, query):
    response = client.get(f"{BASE}/export?{query}", headers=admin)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "validation_failed"


def test_export_of_an_empty_ledger_has_header_and_end(client, admin, make_site):
    make_site()
    lines = ndjson(client.get(f"{BASE}/export", headers=admin))
    assert lines[0]["last_seq"] == 0 and lines[-1] == {"type": "end", "entries": 0}


def test_cli_export_writes_the_same_lines(client, admin, record, runner, tmp_path):
    for n in range(3):
        record(subject=f"s_visitor_{n:04d}")
    out = tmp_path / "ledger.ndjson"
    result = runner.invoke(args=["export", SITE, "--format", "ndjson", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "3 entries" in result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["seq"] for line in lines[1:-1]] == [1, 2, 3]
    verified = runner.invoke(args=["verify-bundle", str(out)])
    assert verified.exit_code == 0, verified.output
    assert "export: OK" in verified.output


def test_cli_export_of_unknown_site_fails_clearly(runner, tmp_path, make_site):
    result = runner.invoke(args=["export", "nope", "--out", str(tmp_path / "x")])
    assert result.exit_code == 1 and "Site 'nope' not found" in result.output


# Erasure ------------------------------------------------------------------------------------------


def verify(client, admin) -> dict:
    return client.get(f"{BASE}/ledger/verify", headers=admin).get_json()


def test_erasure_redacts_the_subject_and_the_ledger_still_verifies(client, admin, record):
    record(**accept("s_alice_0001"))
    record(**accept("s_bob_00001"))
    record(**reject("s_alice_0001"))
    response = client.post(f"{BASE}/subjects/s_alice_0001/erase", headers=admin)
    assert response.status_code == 200
    answer = response.get_json()
    assert answer["records_redacted"] == 2 and answer["redacted_seqs"] == [1, 3]
    assert answer["already_erased"] is False

    items = client.get(f"{BASE}/consents", headers=admin).get_json()["items"]
    assert [item["redacted"] for item in items] == [True, False, True]
    assert items[0]["subject"] is None
    assert items[0]["action"] == "accept_all" and items[0]["choices"]["marketing"] is True
    assert items[1]["subject"] == "s_bob_00001"  # other subjects untouched
    assert client.get(f"{BASE}/consents?subject=s_alice_0001", headers=admin).get_json() == {
        "items": [],
        "next_cursor": None,
    }
    report = verify(client, admin)
    assert report["ok"] is True and report["redacted_seqs"] == [1, 3]
    rows = db.session.execute(db.select(ConsentRecord).order_by(ConsentRecord.seq)).scalars()
    assert [row.body is None for row in rows] == [True, False, True]


def test_erasure_is_idempotent_and_unknown_subject_is_404(client, admin, record):
    record()
    first = client.post(f"{BASE}/subjects/s_visitor_0001/erase", headers=admin).get_json()
    again = client.post(f"{BASE}/subjects/s_visitor_0001/erase", headers=admin)
    assert again.status_code == 200
    assert again.get_json()["already_erased"] is True
    assert again.get_json()["erased_at"] == first["erased_at"]
    unknown = client.post(f"{BASE}/subjects/s_never_seen_1/erase", headers=admin)
    assert unknown.status_code == 404


def test_erasure_needs_sites_admin(client, keys, record):
    response = client.post(
        f"{BASE}/subjects/s_visitor_0001/erase", headers=keys("audit:read", site=SITE)
    )
    assert response.status_code == 403


def test_erased_record_detail_and_export_still_verify(client, admin, record, tmp_path, runner):
    answer = record()
    record(subject="s_visitor_0002")
    client.post(f"{BASE}/subjects/s_visitor_0001/erase", headers=admin)
    detail = client.get(f"{BASE}/consents/{answer['id']}", headers=admin).get_json()
    assert detail["redacted"] is True and detail["receipt"] is None
    assert detail["verification"]["receipt_valid"] is None
    export = client.get(f"{BASE}/export", headers=admin).get_data(as_text=True)
    assert "s_visitor_0001" not in export
    path = tmp_path / "export.ndjson"
    path.write_text(export)
    result = runner.invoke(args=["verify-bundle", str(path)])
    assert result.exit_code == 0, result.output
    # The visitor's own receipt still verifies by its signature.
    check = client.post("/api/v1/receipts/verify", json={"receipt": answer["receipt"]})
    assert check.get_json()["valid"] is True


def test_redaction_cannot_change_what_was_agreed(app, record):
    from sqlalchemy.exc import DatabaseError

    record()
    with pytest.raises(DatabaseError, match="append-only"):
        db.session.execute(
            text(
                "UPDATE consent_records SET body = NULL, subject = NULL, "
                "redacted_at = CURRENT_TIMESTAMP, choices = NULL"
            )
        )
    db.session.rollback()


# Retention ----------------------------------------------------------------------------------------


def test_retention_redacts_only_records_past_the_site_retention(
    app, client, admin, record, runner, monkeypatch
):
    import service.consents.service as consents

    # Recorded 400 days ago (body and columns alike: the erasure log signs what the body says),
    # before the privacy policy was published.
    long_ago = utcnow() - timedelta(days=400)
    monkeypatch.setattr(consents, "utcnow", lambda: long_ago)
    for n in range(2):
        record(subject=f"s_visitor_{n:04d}", documents={})
    monkeypatch.undo()
    record(subject="s_visitor_0002")
    client.patch(f"{BASE}", json={"retention_days": 365}, headers=admin)
    dry = runner.invoke(args=["retention", "apply", "--dry-run"])
    assert dry.exit_code == 0 and "would redact 2 records" in dry.output
    assert verify(client, admin)["redacted_seqs"] == []
    result = runner.invoke(args=["retention", "apply", "--site", SITE])
    assert result.exit_code == 0 and "redacted 2 records" in result.output
    report = verify(client, admin)
    assert report["ok"] is True and report["redacted_seqs"] == [1, 2]
    again = runner.invoke(args=["retention", "apply"])
    assert "redacted 0 records" in again.output


def test_retention_of_unknown_site_fails_clearly(runner, make_site):
    result = runner.invoke(args=["retention", "apply", "--site", "nope"])
    assert result.exit_code == 1 and "not found" in result.output


# Statistics ---------------------------------------------------------------------------------------


def test_stats_count_and_rate_actions_per_day_and_document_version(client, admin, record):
    record(**accept("s_visitor_0001"))
    record(**accept("s_visitor_0002", gpc=True))
    record(**reject("s_visitor_0003", method="gpc", gpc=True))
    record.publish(body="Version two.")
    record(subject="s_visitor_0004")  # custom
    record(
        subject="s_visitor_0004",
        action="withdraw",
        choices={"necessary": True, "analytics": False, "marketing": False},
    )
    today = utcnow().date().isoformat()
    response = client.get(f"{BASE}/stats", query_string={"from": today, "to": today}, headers=admin)
    assert response.status_code == 200, response.get_json()
    stats = response.get_json()
    assert stats["totals"]["total"] == 5
    assert stats["totals"]["counts"] == {
        "accept_all": 2,
        "reject_all": 1,
        "custom": 1,
        "withdraw": 1,
        "acknowledge": 0,
        "opt_out": 0,
        "opt_in": 0,
        "gpc": 2,
    }
    assert stats["totals"]["rates"]["accept_all"] == 0.4
    assert [day["date"] for day in stats["days"]] == [today]
    versions = {(d["kind"], d["version"]): d for d in stats["documents"]}
    assert versions[("privacy", 1)]["total"] == 3
    assert versions[("privacy", 2)]["counts"]["withdraw"] == 1
    assert versions[("privacy", 2)]["rates"]["custom"] == 0.5


def test_stats_default_to_the_last_30_days(client, admin, record):
    record()
    stats = client.get(f"{BASE}/stats", headers=admin).get_json()
    assert stats["to"] == utcnow().date().isoformat() and stats["totals"]["total"] == 1


@pytest.mark.parametrize(
    "params",
    [
        {"interval": "week"},
        {"from": "2026-02-30"},
        {"from": "2026-11-29", "to": "2026-11-28"},
        {"from": "2024-01-01", "to": "2026-01-01"},
    ],
)
def test_bad_stats_parameters_answer_422(client, admin, record, params):
    response = client.get(f"{BASE}/stats", query_string=params, headers=admin)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "validation_failed"


# Subject self-service -----------------------------------------------------------------------------


def test_subject_token_reads_only_its_own_history(client, record):
    mine = [record(subject="s_alice_0001"), record(**reject("s_alice_0001"))]
    record(subject="s_bob_00001")
    response = client.get(
        f"{BASE}/subjects/me/consents",
        headers={
            "Authorization": f"Bearer {mine[0]['subject_token']}",
            "Origin": "https://news.example.com",
        },
    )
    assert response.status_code == 200
    history = response.get_json()
    assert history["subject"] == "s_alice_0001"
    assert [item["id"] for item in history["items"]] == [answer["id"] for answer in mine]
    assert history["items"][1]["receipt"] == mine[1]["receipt"]
    assert "s_bob_00001" not in response.get_data(as_text=True)
    assert response.headers["Access-Control-Allow-Origin"] == "https://news.example.com"


def test_subject_token_bad_cases(client, record, make_site, app):
    from service.signing import make_subject_token

    answer = record()
    make_site("other-site")
    url = f"{BASE}/subjects/me/consents"
    assert client.get(url).status_code == 401
    assert client.get(url, headers={"Authorization": "Bearer forged.token"}).status_code == 401
    other = client.get(
        "/api/v1/sites/other-site/subjects/me/consents",
        headers={"Authorization": f"Bearer {answer['subject_token']}"},
    )
    assert other.status_code == 401
    assert (
        client.get(
            "/api/v1/sites/nope/subjects/me/consents",
            headers={"Authorization": f"Bearer {answer['subject_token']}"},
        ).status_code
        == 404
    )
    app.config["SECRET_KEY"] = "rotated-away"  # a token signed by a key no longer accepted
    assert (
        client.get(url, headers={"Authorization": f"Bearer {answer['subject_token']}"}).status_code
        == 401
    )
    app.config["OLD_SECRET_KEYS"] = []
    fresh = make_subject_token(SITE, "s_visitor_0001")
    assert client.get(url, headers={"Authorization": f"Bearer {fresh}"}).status_code == 200


def test_expired_subject_token_is_401(client, record, monkeypatch):
    from itsdangerous.timed import TimestampSigner

    answer = record()
    # Verification happens long after signing: older than the site's consent lifetime.
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: 10**10)
    response = client.get(
        f"{BASE}/subjects/me/consents",
        headers={"Authorization": f"Bearer {answer['subject_token']}"},
    )
    assert response.status_code == 401
