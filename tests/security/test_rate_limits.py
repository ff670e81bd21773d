"""Rate limits of the consent POST: one client cannot lock a site out of recording consent.

Invalid requests use up only their sender's budget (per IPv4 address or IPv6 /64), never the
site's budget for valid consents; ``X-Forwarded-For`` names the client only when the request
comes from a trusted proxy; the fast path and the Flask view count the same client; the counts
live in the limiter's storage (memory, or Redis shared by every worker). On both databases.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service import create_app
from service.auth.service import SCOPES, create_api_key
from service.consents.models import ConsentRecord
from service.extensions import db
from tests.api.test_consent_fastpath import FlaskCalls
from tests.helpers.apps import app_on
from tests.helpers.consents import ORIGIN, event
from tests.helpers.sites import site_payload
from tests.helpers.storage import redis_url

URL = "/api/v1/sites/news-example/consents"
VISITOR = "198.51.100.20"


@contextlib.contextmanager
def limited(
    backend, tmp_path, storage: str = "memory://", **limits: str
) -> Iterator[tuple[Flask, FlaskClient]]:
    """An app with the rate limits on (``limits``: settings), the site news-example created."""
    config = {"RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": storage} | limits
    with app_on(backend, tmp_path, **config) as app:
        _key, plaintext = create_api_key(SCOPES)
        client = app.test_client()
        created = client.post(
            "/api/v1/sites",
            json=site_payload(),
            headers={"Authorization": f"Bearer {plaintext}"},
            environ_base={"REMOTE_ADDR": "192.0.2.250"},
        )
        assert created.status_code == 201
        yield app, client


def visitor_event(**overrides) -> dict:
    """A first consent of a new visitor (each its own subject)."""
    return event(subject=f"s_{uuid.uuid4().hex}", **overrides)


def post(client: FlaskClient, peer: str, body=None, query: str = "", **headers: str):
    """POST a consent from ``peer``; ``headers`` by keyword (``X_Forwarded_For=...``)."""
    sent = {"Origin": ORIGIN} | {name.replace("_", "-"): value for name, value in headers.items()}
    return client.post(
        URL + query,
        json=visitor_event() if body is None else body,
        headers=sent,
        environ_base={"REMOTE_ADDR": peer},
    )


INVALID_BODIES = [
    b"{not json",
    {"subject": "s_x"},  # fields missing
    event(action="nope"),
    event(choices={"unknown": True}),
]


def test_invalid_posts_from_one_client_leave_the_site_budget_to_real_consents(backend, tmp_path):
    """The review's finding: 400 invalid POSTs used up the site's budget of 100 and the next
    real consent got 429."""
    limits = {"CONSENT_RATE_LIMIT": "100 per minute", "CONSENT_CLIENT_RATE_LIMIT": "20 per minute"}
    with limited(backend, tmp_path, **limits) as (_app, client):
        statuses = []
        for number in range(400):
            body = INVALID_BODIES[number % len(INVALID_BODIES)]
            if isinstance(body, bytes):
                answer = client.post(
                    URL,
                    data=body,
                    content_type="application/json",
                    headers={"Origin": ORIGIN},
                    environ_base={"REMOTE_ADDR": "203.0.113.9"},
                )
            else:
                answer = post(client, "203.0.113.9", body)
            statuses.append(answer.status_code)
        assert set(statuses[:20]) <= {400, 422} and set(statuses[20:]) == {429}
        real = post(client, VISITOR)
        assert real.status_code == 201, real.get_json()
        assert real.headers["X-RateLimit-Remaining"] == "99"  # the site's budget, untouched


def test_invalid_posts_from_many_clients_do_not_count_against_the_site(backend, tmp_path):
    limits = {"CONSENT_RATE_LIMIT": "5 per minute", "CONSENT_CLIENT_RATE_LIMIT": "20 per minute"}
    with limited(backend, tmp_path, **limits) as (_app, client):
        for number in range(40):
            peer = f"203.0.113.{number}"
            assert post(client, peer, event(action="nope")).status_code == 422
            foreign = post(client, peer, Origin="https://evil.example")
            assert foreign.status_code == 403
        answers = [post(client, f"198.51.100.{number}") for number in range(6)]
        assert [answer.status_code for answer in answers] == [201] * 5 + [429]
        assert answers[-1].get_json()["error"]["code"] == "rate_limited"
        assert "this site" in answers[-1].get_json()["error"]["message"]


@pytest.mark.parametrize("storage", ["memory", "redis"])
def test_one_client_is_limited_and_the_others_are_not(backend, tmp_path, storage):
    uri = redis_url() if storage == "redis" else "memory://"
    with limited(backend, tmp_path, uri, CONSENT_CLIENT_RATE_LIMIT="3 per minute") as (_a, c):
        answers = [post(c, "203.0.113.5") for _ in range(4)]
        assert [answer.status_code for answer in answers] == [201, 201, 201, 429]
        limited_answer = answers[-1]
        assert limited_answer.get_json()["error"]["code"] == "rate_limited"
        assert "this address" in limited_answer.get_json()["error"]["message"]
        assert int(limited_answer.headers["Retry-After"]) >= 1
        assert limited_answer.headers["X-RateLimit-Limit"] == "3"
        assert limited_answer.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert post(c, "203.0.113.6").status_code == 201  # another client


def test_an_ipv6_client_is_counted_by_its_64(backend, tmp_path):
    with limited(backend, tmp_path, CONSENT_CLIENT_RATE_LIMIT="2 per minute") as (_app, client):
        same_64 = ["2001:db8:1:2::1", "2001:db8:1:2:ffff::7", "2001:db8:1:2::abcd"]
        assert [post(client, peer).status_code for peer in same_64] == [201, 201, 429]
        assert post(client, "2001:db8:1:3::1").status_code == 201  # the next /64
        # An IPv4-mapped address is the IPv4 client it maps.
        assert post(client, "192.0.2.7").status_code == 201
        assert post(client, "::ffff:192.0.2.7").status_code == 201
        assert post(client, "192.0.2.7").status_code == 429


def test_limits_live_in_the_shared_storage(backend, tmp_path):
    """Two workers (two apps on one database) with one Redis count one client together."""
    uri = redis_url()
    limits = {"CONSENT_CLIENT_RATE_LIMIT": "3 per minute"}
    with limited(backend, tmp_path, uri, **limits) as (first_app, first):
        db.session.commit()
        second_app = create_app(
            {
                "TESTING": True,
                "INSTANCE_PATH": str(tmp_path / "two"),
                "DATABASE_URL": first_app.config["DATABASE_URL"],
                "RATELIMIT_ENABLED": True,
                "RATELIMIT_STORAGE_URI": uri,
            }
            | limits
        )
        second = second_app.test_client()
        try:
            statuses = [post(client, "203.0.113.5").status_code for client in (first, second) * 2]
        finally:
            with second_app.app_context():
                db.engine.dispose()
        assert statuses == [201, 201, 201, 429]


PROXY = {"TRUSTED_PROXIES": ["10.0.0.0/8"], "CONSENT_CLIENT_RATE_LIMIT": "2 per minute"}


def test_forwarded_for_names_the_client_behind_a_trusted_proxy(backend, tmp_path):
    with limited(backend, tmp_path, **PROXY) as (_app, client):
        # Two visitors behind the same proxy: each has a budget of its own.
        for visitor in ("203.0.113.5", "203.0.113.6"):
            answers = [
                post(client, "10.0.0.1", X_Forwarded_For=f"192.0.2.1, {visitor}") for _ in range(3)
            ]
            assert [answer.status_code for answer in answers] == [201, 201, 429]


def test_forwarded_for_from_anyone_else_is_ignored(backend, tmp_path):
    with limited(backend, tmp_path, **PROXY) as (_app, client):
        # An attacker rotating X-Forwarded-For is still one client: its own address.
        answers = [
            post(client, "198.51.100.9", X_Forwarded_For=f"203.0.113.{number}")
            for number in range(3)
        ]
        assert [answer.status_code for answer in answers] == [201, 201, 429]
        # ...and cannot spend the budget of the address it names.
        assert post(client, "10.0.0.1", X_Forwarded_For="203.0.113.0").status_code == 201


def test_without_trusted_proxies_forwarded_for_is_never_read(backend, tmp_path):
    with limited(backend, tmp_path, CONSENT_CLIENT_RATE_LIMIT="2 per minute") as (_app, client):
        answers = [
            post(client, "127.0.0.1", X_Forwarded_For=f"203.0.113.{number}") for number in range(3)
        ]
        assert [answer.status_code for answer in answers] == [201, 201, 429]


def test_the_fast_path_and_the_flask_view_count_the_same_client(backend, tmp_path):
    with limited(backend, tmp_path, **PROXY) as (app, client):
        calls = FlaskCalls(app)
        forwarded = {"X_Forwarded_For": "203.0.113.5"}
        fast = post(client, "10.0.0.1", **forwarded)
        assert (fast.status_code, calls.count) == (201, 0)
        slow = post(client, "10.0.0.2", query="?region=FR", **forwarded)  # a query: Flask's
        assert (slow.status_code, calls.count) == (201, 1)
        assert post(client, "10.0.0.1", **forwarded).status_code == 429
        assert post(client, "10.0.0.1", query="?region=FR", **forwarded).status_code == 429
        assert post(client, "10.0.0.1", X_Forwarded_For="203.0.113.6").status_code == 201


def test_region_headers_still_need_the_proxy_itself_to_be_trusted(backend, tmp_path):
    """The client address is rewritten; the region headers are still believed from the trusted
    peer only, never from the client it forwarded."""
    config = PROXY | {"REGION_HEADERS": ["CF-IPCountry"]}
    with limited(backend, tmp_path, **config) as (_app, client):
        via_proxy = post(client, "10.0.0.1", X_Forwarded_For="203.0.113.5", CF_IPCountry="FR")
        assert via_proxy.status_code == 201
        direct = post(client, "10.9.9.9", X_Forwarded_For="10.0.0.1", CF_IPCountry="DE")
        assert direct.status_code == 201
        # A client that names a trusted address in X-Forwarded-For is not the proxy.
        forged = post(client, "198.51.100.1", X_Forwarded_For="10.0.0.1", CF_IPCountry="US")
        regions = (
            db.session.execute(db.select(ConsentRecord.region).order_by(ConsentRecord.seq))
            .scalars()
            .all()
        )
        assert forged.status_code == 201
        assert regions == ["FR", "DE", None]


@pytest.mark.parametrize("value", [["10.0.0.300"], {"a": 1}])
def test_bad_trusted_proxies_are_refused_at_start(tmp_path, value):
    from service import create_app

    with pytest.raises(ValueError, match="CONSENTRY_TRUSTED_PROXIES"):
        create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path), "TRUSTED_PROXIES": value})
