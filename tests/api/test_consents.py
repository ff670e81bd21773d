"""Recording consent: validation, idempotency, CORS/origin, receipts, chain."""

from __future__ import annotations

import json
import uuid

import pytest
from joserfc import jws
from joserfc.jwk import KeySet

from tests.helpers.consents import ORIGIN, event, publish


@pytest.fixture
def post(client, make_site):
    make_site()

    def send(body, origin=ORIGIN, **kwargs):
        headers = {"Origin": origin} if origin else {}
        headers.update(kwargs.pop("headers", {}))
        return client.post(
            "/api/v1/sites/news-example/consents", json=body, headers=headers, **kwargs
        )

    return send


def test_consent_is_recorded_with_a_verifiable_receipt(client, post):
    response = post(
        event(),
        headers={
            "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) "
            "AppleWebKit/537.36 Chrome/131.0.0.0 Safari/537.36"
        },
    )
    assert response.status_code == 201
    answer = response.get_json()
    assert set(answer) == {"id", "seq", "recorded_at", "receipt", "subject_token"}
    assert answer["seq"] == 1
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN

    # An independent JOSE library verifies the receipt with nothing but our JWKS.
    key_set = KeySet.import_key_set(client.get("/.well-known/jwks.json").get_json())
    token = jws.deserialize_compact(answer["receipt"], key_set, algorithms=["EdDSA"])
    body = json.loads(token.payload)
    assert body["id"] == answer["id"]
    assert body["seq"] == 1
    assert body["page"] == "https://news.example.com/article/1"  # query and fragment dropped
    assert body["user_agent"] == "Chrome 131 / Linux / desktop"
    assert body["choices"] == {"necessary": True, "analytics": True, "marketing": False}


def test_entries_are_chained_in_sequence(client, post):
    first = post(event()).get_json()
    second = post(event(subject="s_visitor_0002")).get_json()
    assert second["seq"] == first["seq"] + 1
    verified = client.post("/api/v1/receipts/verify", json={"receipt": second["receipt"]})
    body = verified.get_json()["consent"]
    import hashlib

    first_body = client.post("/api/v1/receipts/verify", json={"receipt": first["receipt"]})
    raw = json.dumps(
        first_body.get_json()["consent"], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()
    assert body["prev_hash"] == hashlib.sha256(raw).hexdigest()


def test_text_plain_body_from_send_beacon_is_accepted(client, post, make_site):
    response = client.post(
        "/api/v1/sites/news-example/consents",
        data=json.dumps(event()),
        content_type="text/plain;charset=UTF-8",
        headers={"Origin": ORIGIN},
    )
    assert response.status_code == 201


def test_same_event_again_returns_the_first_answer_and_one_entry(client, post, admin):
    body = event()
    first = post(body)
    again = post(dict(reversed(list(body.items()))))  # same event, other key order
    assert first.status_code == again.status_code == 201
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.get_json()["receipt"] == first.get_json()["receipt"]
    report = client.get("/api/v1/sites/news-example/ledger/verify", headers=admin).get_json()
    assert report["ok"] and report["checked"] == 1


def test_reused_event_id_with_a_different_body_is_422(post):
    body = event()
    assert post(body).status_code == 201
    response = post(
        {**body, "action": "reject_all", "choices": {"analytics": False, "marketing": False}}
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["details"]["code"] == "idempotency_key_reused"


def test_idempotency_key_header_must_match_the_event_id(post):
    body = event()
    assert post(body, headers={"Idempotency-Key": str(uuid.uuid4())}).status_code == 422
    assert post(body, headers={"Idempotency-Key": body["client_event_id"]}).status_code == 201


def test_foreign_origin_is_refused_even_for_a_simple_request(client, post, admin):
    response = client.post(
        "/api/v1/sites/news-example/consents",
        data=json.dumps(event()),
        content_type="text/plain",
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response.headers
    report = client.get("/api/v1/sites/news-example/ledger/verify", headers=admin).get_json()
    assert report["checked"] == 0


def test_preflight_answers_allowed_origins_only(client, make_site):
    make_site()
    url = "/api/v1/sites/news-example/consents"
    ok = client.options(url, headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"})
    assert ok.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Content-Type" in ok.headers["Access-Control-Allow-Headers"]
    refused = client.options(
        url, headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert "Access-Control-Allow-Origin" not in refused.headers


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"subject": "short"}, "subject"),
        ({"subject": "has spaces in it"}, "subject"),
        ({"client_event_id": "not-a-uuid"}, "client_event_id"),
        ({"action": "maybe"}, "action"),
        ({"method": "telepathy"}, "method"),
        ({"choices": {"analytics": "yes"}}, "choices"),
        ({"choices": {"analytics": 1}}, "choices"),
        ({"choices": ["analytics"]}, "choices"),
        ({"documents": {"privacy": {"version": "2", "sha256": "x"}}}, "documents"),
        ({"documents": {"weird": {"version": 1, "sha256": "0" * 64}}}, "documents"),
        ({"documents": {"terms": {"version": True, "sha256": "0" * 64}}}, "documents"),
        ({"documents": {"terms": {"version": 1, "sha256": "0" * 64, "x": 1}}}, "documents"),
        ({"documents": {"terms": {"version": 1}}}, "documents"),
        ({"documents": {"terms": 5}}, "documents"),
        ({"documents": []}, "documents"),
        ({"gpc": "true"}, "gpc"),
        ({"page": "javascript:alert(1)"}, "page"),
        ({"locale": "english please"}, "locale"),
        ({"revision": ""}, "revision"),
        ({"extra": 1}, "extra"),
    ],
)
def test_invalid_fields_answer_422_and_record_nothing(client, post, admin, overrides, field):
    response = post(event(**overrides))
    assert response.status_code == 422
    assert field in response.get_json()["error"]["details"]["fields"]
    report = client.get("/api/v1/sites/news-example/ledger/verify", headers=admin).get_json()
    assert report == {**report, "ok": True, "checked": 0}


@pytest.mark.parametrize(
    "choices",
    [
        {"necessary": True, "unknown": True},
        {"necessary": False, "analytics": False, "marketing": False},
    ],
)
def test_unknown_or_refused_required_category_is_422(post, choices):
    assert post(event(choices=choices)).status_code == 422


def test_action_must_agree_with_the_choices(post):
    assert post(event(action="accept_all", choices={"analytics": True})).status_code == 422
    assert post(event(action="reject_all", choices={"analytics": True})).status_code == 422
    ok = post(event(action="reject_all", choices={"analytics": False, "marketing": False}))
    assert ok.status_code == 201


def test_missing_categories_are_recorded_as_refused(client, post):
    answer = post(event(action="custom", choices={"analytics": True})).get_json()
    consent = client.post("/api/v1/receipts/verify", json={"receipt": answer["receipt"]})
    assert consent.get_json()["consent"]["choices"] == {
        "necessary": True,
        "analytics": True,
        "marketing": False,
    }


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        ("{not json", "application/json", 400),
        ("{not json", "text/plain", 400),
        ("\xff\xfe", "text/plain", 400),
        ("[1, 2]", "application/json", 422),
        ("", "application/json", 422),
        ("<consent/>", "application/xml", 415),
        ("a=b", "application/x-www-form-urlencoded", 415),
    ],
)
def test_malformed_bodies_get_clear_errors(client, make_site, data, content_type, status):
    make_site()
    response = client.post(
        "/api/v1/sites/news-example/consents",
        data=data,
        content_type=content_type,
        headers={"Origin": ORIGIN},
    )
    assert response.status_code == status
    assert "error" in response.get_json()


def test_oversized_body_is_413(post):
    assert post(event(revision="x" * 70_000)).status_code == 413


def test_unknown_site_is_404(client):
    response = client.post("/api/v1/sites/nope/consents", json=event(), headers={"Origin": ORIGIN})
    assert response.status_code == 404


def test_user_id_is_stored_only_as_a_peppered_hmac(client, post):
    answer = post(event(user_id="alice@example.com")).get_json()
    consent = client.post("/api/v1/receipts/verify", json={"receipt": answer["receipt"]})
    body = consent.get_json()["consent"]
    assert "alice" not in json.dumps(body)
    assert len(body["user_ref"]) == 64


def test_withdrawal_is_a_new_entry(client, post, admin):
    post(
        event(
            action="accept_all", choices={"necessary": True, "analytics": True, "marketing": True}
        )
    )
    withdrawn = post(
        event(
            action="withdraw",
            method="preferences",
            choices={"analytics": False, "marketing": False},
        )
    )
    assert withdrawn.status_code == 201 and withdrawn.get_json()["seq"] == 2
    report = client.get("/api/v1/sites/news-example/ledger/verify", headers=admin).get_json()
    assert report["ok"] and report["checked"] == 2


def test_no_raw_ip_address_is_stored(app, post):
    from service.consents.models import ConsentRecord
    from service.extensions import db

    post(event(), environ_base={"REMOTE_ADDR": "203.0.113.77"})
    record = db.session.execute(db.select(ConsentRecord)).scalar_one()
    stored = repr({c.name: getattr(record, c.name) for c in ConsentRecord.__table__.columns})
    assert "203.0.113.77" not in stored


def test_stale_documents_are_409_with_the_current_versions(app, post, client, admin):
    first = publish("privacy", "We collect little.")
    assert post(event(documents={"privacy": first})).status_code == 201

    second = publish("privacy", "We collect a little more.")
    stale = post(event(documents={"privacy": first}))
    assert stale.status_code == 409
    error = stale.get_json()["error"]
    assert error["code"] == "documents_outdated"
    assert error["details"]["current"] == {"privacy": second}
    assert post(event(documents={})).status_code == 409  # naming none is not agreeing
    assert post(event(documents={"privacy": second})).status_code == 201
    report = client.get("/api/v1/sites/news-example/ledger/verify", headers=admin).get_json()
    assert report["ok"] and report["checked"] == 2


def test_a_retry_after_a_new_publication_still_gets_its_first_answer(app, post):
    first = publish("terms", "Be nice.")
    body = event(documents={"terms": first})
    original = post(body)
    publish("terms", "Be very nice.")
    again = post(body)
    assert again.status_code == 201
    assert again.get_json() == original.get_json() | {
        "subject_token": again.get_json()["subject_token"]
    }


def test_the_banner_text_shown_is_a_consent_document_too(app, post):
    policy = publish("privacy", "We collect little.")
    banner = publish("banner", "We use cookies.")
    assert post(event(documents={"privacy": policy})).status_code == 409
    assert post(event(documents={"privacy": policy, "banner": banner})).status_code == 201


def test_another_app_records_against_changes_made_through_the_first(app, client, admin, post):
    """Each process caches a site's context; the append's locking read of config_version tells a
    process that another one changed the site or published, and it records against the new state.
    """
    from service import create_app
    from service.extensions import db
    from tests.helpers.visitor import VisitorClient

    other = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": app.config["INSTANCE_PATH"],
            "DATABASE_URL": app.config["DATABASE_URL"],
            "RATELIMIT_ENABLED": False,
        }
    )
    other.test_client_class = VisitorClient  # its visitor keeps the subject's token
    url = "/api/v1/sites/news-example/consents"

    def post_to_other(body):
        return other.test_client().post(url, json=body, headers={"Origin": ORIGIN})

    try:
        assert post_to_other(event()).status_code == 201  # the other app caches the context
        site = client.get("/api/v1/sites/news-example", headers=admin).get_json()
        social = {"id": "social", "title": "Social", "description": "Share buttons."}
        patched = client.patch(
            "/api/v1/sites/news-example",
            json={"categories": [*site["categories"], social]},
            headers=admin,
        )
        assert patched.status_code == 200, patched.get_json()
        with_social = event(choices={"necessary": True, "social": True})
        assert post_to_other(with_social).status_code == 201

        policy = publish("privacy", "We collect little.")
        stale = post_to_other(event())
        assert stale.status_code == 409
        assert stale.get_json()["error"]["details"]["current"] == {"privacy": policy}
        assert post_to_other(event(documents={"privacy": policy})).status_code == 201
    finally:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()
    db.session.rollback()  # requests here share the test's session: drop its SQLite snapshot
    report = client.get("/api/v1/sites/news-example/ledger/verify", headers=admin).get_json()
    assert report["ok"] and report["checked"] == 3
