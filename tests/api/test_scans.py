"""The scans API on both databases: list and read signed reports (JSON or HTML), scopes and
tenants, append-only storage, and verification with joserfc against the JWKS."""

from __future__ import annotations

import json

import pytest
from joserfc import jws
from joserfc.jwk import KeySet
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from service.crypto.jws import InvalidReceipt, attach_signature
from service.crypto.keys import b64url_encode
from service.extensions import db
from service.scanner import service as scans
from tests.helpers.scans import scan_report


@pytest.fixture
def stored(app, make_site):
    make_site()
    return scans.store_report("news-example", scan_report())


def test_reports_are_listed_newest_first_and_read_as_signed_json(client, stored, keys):
    second = scans.store_report("news-example", scan_report())
    headers = keys("audit:read")
    listing = client.get("/api/v1/sites/news-example/scans", headers=headers)
    assert listing.status_code == 200
    items = listing.get_json()["items"]
    assert [item["id"] for item in items] == [second.id, stored.id]
    assert items[0]["verdict"] == "fail" and items[0]["pages"] == 1
    page = client.get(f"/api/v1/sites/news-example/scans?before={second.id}", headers=headers)
    assert [item["id"] for item in page.get_json()["items"]] == [stored.id]
    detail = client.get(f"/api/v1/sites/news-example/scans/{stored.id}", headers=headers)
    assert detail.status_code == 200
    body = detail.get_json()
    kinds = sorted(f["type"] for f in body["report"]["findings"])
    assert kinds == ["declared_not_seen", "set_before_choice", "set_before_choice"]
    key_set = KeySet.import_key_set(client.get("/.well-known/jwks.json").get_json())
    verified = jws.deserialize_compact(body["jws"], key_set, algorithms=["EdDSA"])
    assert json.loads(verified.payload) == body["report"]
    assert verified.protected["kid"] == body["kid"]


def test_storing_a_report_is_in_the_activity_log(stored):
    from service.activity.service import latest_entry

    entry = latest_entry("scan.stored", "news-example")
    assert entry.object == f"scan:{stored.id}"
    assert entry.details == {"verdict": "fail", "pages": 1, "findings": 3}


def test_html_report_has_no_script_and_a_strict_policy(client, stored, keys):
    headers = keys("audit:read")
    for url, extra in (
        (f"/api/v1/sites/news-example/scans/{stored.id}?format=html", {}),
        (f"/api/v1/sites/news-example/scans/{stored.id}", {"Accept": "text/html"}),
    ):
        response = client.get(url, headers=headers | extra)
        assert response.status_code == 200
        assert response.mimetype == "text/html"
        page = response.get_data(as_text=True)
        assert "<script" not in page and "_ga" in page and "ads.pubmatic.com" in page
        policy = response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy and scans.style_hash() in policy
        assert "script-src" not in policy and "'unsafe-inline'" not in policy


@pytest.mark.parametrize(
    ("scopes", "status"), [((), 401), (("documents:publish",), 403), (("audit:read",), 200)]
)
def test_scans_need_audit_read(client, stored, keys, scopes, status):
    headers = keys(*scopes) if scopes else {}
    for url in (
        "/api/v1/sites/news-example/scans",
        f"/api/v1/sites/news-example/scans/{stored.id}",
    ):
        assert client.get(url, headers=headers).status_code == status


def test_other_tenants_and_unknown_reports_are_not_found(client, stored, keys, make_site):
    make_site("other-site")
    bound = keys("audit:read", site="other-site")
    assert client.get("/api/v1/sites/news-example/scans", headers=bound).status_code == 404
    other = keys("audit:read")
    # A report id of another site is not served under this one.
    response = client.get(f"/api/v1/sites/other-site/scans/{stored.id}", headers=other)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    assert client.get("/api/v1/sites/nope/scans", headers=other).status_code == 404
    assert client.get("/api/v1/sites/news-example/scans/999", headers=other).status_code == 404
    bad = client.get("/api/v1/sites/news-example/scans?limit=0", headers=other)
    assert bad.status_code == 422


def test_report_ids_past_the_integer_column_are_answered_not_500(client, stored, keys):
    reader = keys("audit:read")
    huge = 2**53 - 1
    response = client.get(f"/api/v1/sites/news-example/scans/{huge}", headers=reader)
    assert response.status_code == 404
    response = client.get(f"/api/v1/sites/news-example/scans?before={huge}", headers=reader)
    assert response.status_code == 422


@pytest.mark.parametrize(
    "statement",
    ["UPDATE scan_reports SET verdict = 'clean'", "DELETE FROM scan_reports"],
)
def test_scan_reports_are_append_only(stored, statement):
    with pytest.raises(DatabaseError, match="append-only"):
        db.session.execute(text(statement))
        db.session.commit()
    db.session.rollback()
    assert db.session.execute(text("SELECT verdict FROM scan_reports")).scalar_one() == "fail"


def test_a_tampered_report_does_not_verify(stored):
    token = scans.report_jws(stored)
    assert scans.verify_report(token)["site"] == "news-example"
    header, _payload, signature = token.split(".")
    forged = scans.report_document(stored) | {"site": "other-site"}
    tampered = f"{header}.{b64url_encode(json.dumps(forged).encode())}.{signature}"
    with pytest.raises(InvalidReceipt, match="bad_signature"):
        scans.verify_report(tampered)
    # A consent receipt is never taken for a scan report (typ differs).
    with pytest.raises(InvalidReceipt, match="typ"):
        scans.verify_report(attach_signature(stored.report.encode(), stored.kid, stored.signature))


def test_openapi_documents_the_scans_endpoints(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    assert "get" in paths["/api/v1/sites/{site}/scans"]
    assert "get" in paths["/api/v1/sites/{site}/scans/{scan_id}"]
