"""The consent POST's fast path answers a consent, recorded or refused, exactly as the Flask view
does (both answer with ``answer.respond``): each request is validated once and counted once
against the rate limit; only bodies that need Flask's own checks first go to Flask."""

from __future__ import annotations

import json

import psycopg
import pytest

from service import create_app
from service.consents.fastpath import ConsentFastPath
from service.extensions import db
from tests.helpers.apps import rate_limited_app
from tests.helpers.consents import ORIGIN, event
from tests.helpers.sites import site_payload

URL = "/api/v1/sites/news-example/consents"


def consent_fast_path(app):
    """The consent fast path among the app's WSGI layers, and the layer that calls it."""
    outer, layer = app, app.wsgi_app
    while not isinstance(layer, ConsentFastPath):
        outer, layer = layer, layer.wsgi_app
    return outer, layer


class FlaskCalls:
    """Counts the requests that reach Flask behind the fast path."""

    def __init__(self, app) -> None:
        self.count = 0
        _outer, fast_path = consent_fast_path(app)
        flask_app = fast_path.wsgi_app

        def counting(environ, start_response):
            self.count += 1
            return flask_app(environ, start_response)

        fast_path.wsgi_app = counting


@pytest.fixture
def flask_calls(app, make_site):
    make_site()
    return FlaskCalls(app)


def test_a_consent_is_answered_before_flask(client, flask_calls):
    answer = client.post(URL, json=event(), headers={"Origin": ORIGIN})
    assert answer.status_code == 201
    assert flask_calls.count == 0
    assert answer.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert answer.headers["Vary"] == "Origin"
    assert answer.mimetype == "application/json"
    assert set(answer.get_json()) == {"id", "seq", "recorded_at", "receipt", "subject_token"}


def test_text_plain_beacons_take_the_fast_path_too(client, flask_calls):
    answer = client.post(
        URL,
        data=json.dumps(event()),
        content_type="text/plain;charset=UTF-8",
        headers={"Origin": ORIGIN},
    )
    assert answer.status_code == 201
    assert flask_calls.count == 0


def test_the_fast_path_and_the_view_give_the_same_answer(app, client, flask_calls):
    body = event()
    first = client.post(URL, json=body, headers={"Origin": ORIGIN})
    # The same event again, straight to the Flask view (a replay: the first answer again).
    outer, fast_path = consent_fast_path(app)
    outer.wsgi_app = fast_path.wsgi_app  # without the fast path
    again = client.post(URL, json=body, headers={"Origin": ORIGIN})
    assert again.status_code == first.status_code == 201
    assert {k: v for k, v in again.get_json().items() if k != "subject_token"} == {
        k: v for k, v in first.get_json().items() if k != "subject_token"
    }
    skip = {"X-RateLimit-Remaining", "X-RateLimit-Reset", "Content-Length"}
    assert {k: v for k, v in first.headers.items() if k not in skip} == {
        k: v for k, v in again.headers.items() if k not in skip
    }


@pytest.mark.parametrize(
    ("kwargs", "status", "code", "flask"),
    [
        ({"json": event(action="nope")}, 422, "validation_failed", 0),
        ({"json": event(), "headers": {"Origin": "https://evil.example"}}, 403, "forbidden", 0),
        ({"data": "{not json", "content_type": "application/json"}, 400, "malformed_json", 0),
        ({"json": event(), "headers": {"Idempotency-Key": "other"}}, 422, "validation_failed", 0),
        ({"json": event(documents={"privacy": {"version": 9, "sha256": "a" * 64}})}, 409,
         "documents_outdated", 0),
        # Flask's own checks come first for a media type the endpoint does not read
        ({"data": "a=b", "content_type": "application/x-www-form-urlencoded"}, 415,
         "unsupported_media_type", 1),
    ],
)  # fmt: skip
def test_refusals_are_answered_once_with_the_envelope(
    client, flask_calls, kwargs, status, code, flask
):
    kwargs.setdefault("headers", {}).setdefault("Origin", ORIGIN)
    answer = client.post(URL, **kwargs)
    assert answer.status_code == status
    assert flask_calls.count == flask
    error = answer.get_json()["error"]
    assert set(error) == {"code", "message", "details"} and error["code"] == code
    if kwargs["headers"]["Origin"] == ORIGIN:  # an allowed page can read why it was refused
        assert answer.headers["Access-Control-Allow-Origin"] == ORIGIN
    else:
        assert "Access-Control-Allow-Origin" not in answer.headers
    assert answer.headers["Vary"] == "Origin"


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"json": event(action="nope")}, 422),
        ({"data": "{not json", "content_type": "application/json"}, 400),
        ({"json": event(), "headers": {"Origin": "https://evil.example"}}, 403),
    ],
)
def test_a_refusal_from_the_view_is_the_same_as_from_the_fast_path(
    app, client, make_site, kwargs, status
):
    """The view answers what the fast path does not take (a chunked body, host validation):
    with the same function, so with the same status, body and headers."""
    make_site()
    kwargs.setdefault("headers", {}).setdefault("Origin", ORIGIN)
    fast = client.post(URL, **kwargs)
    outer, fast_path = consent_fast_path(app)
    outer.wsgi_app = fast_path.wsgi_app  # without the fast path
    slow = client.post(URL, **kwargs)
    assert fast.status_code == slow.status_code == status
    assert fast.get_json() == slow.get_json()
    assert dict(fast.headers) == dict(slow.headers)


def test_unknown_site_is_a_404_without_cors(client, flask_calls):
    answer = client.post("/api/v1/sites/nope/consents", json=event(), headers={"Origin": ORIGIN})
    assert answer.status_code == 404
    assert answer.get_json()["error"]["code"] == "not_found"
    assert "Access-Control-Allow-Origin" not in answer.headers
    assert flask_calls.count == 0


def test_each_request_is_counted_once(backend, tmp_path):
    with rate_limited_app(backend, tmp_path, "memory://") as (app, client, admin):
        assert client.post("/api/v1/sites", json=site_payload(), headers=admin).status_code == 201
        calls = FlaskCalls(app)
        origin = {"Origin": ORIGIN}
        statuses = [
            client.post(URL, json=event(subject="s_visitor_0001"), headers=origin).status_code,
            client.post(URL, json=event(action="nope"), headers=origin).status_code,
            client.post(URL, json=event(subject="s_visitor_0002"), headers=origin).status_code,
            client.post(URL, json=event(subject="s_visitor_0003"), headers=origin).status_code,
        ]
        limited = client.post(URL, json=event(subject="s_visitor_0004"), headers=origin)
        # The invalid one is not counted against the site's budget of 3 valid consents.
        assert [*statuses, limited.status_code] == [201, 422, 201, 201, 429]
        assert calls.count == 0  # all five answered by the fast path, each counted once
        assert limited.get_json()["error"]["code"] == "rate_limited"
        assert limited.headers["X-RateLimit-Remaining"] == "0"
        assert int(limited.headers["Retry-After"]) >= 1
        assert limited.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_an_unreachable_rate_limit_store_does_not_cost_a_consent(backend, tmp_path, caplog):
    """Fail open: the limit protects the service; the consent is what it must keep."""
    with rate_limited_app(backend, tmp_path, "redis://127.0.0.1:1/0") as (_app, client, admin):
        assert client.post("/api/v1/sites", json=site_payload(), headers=admin).status_code == 201
        answer = client.post(URL, json=event(), headers={"Origin": ORIGIN})
        assert answer.status_code == 201
        assert "X-RateLimit-Remaining" not in answer.headers
    assert "Rate-limit storage unavailable" in caplog.text


def test_a_valid_consent_with_the_database_down_is_503(tmp_path):
    """503 + Retry-After (the widget retries), never a 500."""
    app = create_app(
        {
            "INSTANCE_PATH": str(tmp_path),
            "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/nothing?connect_timeout=2",
            "RATELIMIT_ENABLED": False,
        }
    )
    answer = app.test_client().post(URL, json=event(), headers={"Origin": ORIGIN})
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "5"
    assert answer.get_json()["error"]["code"] == "unavailable"


def test_a_direct_connection_cut_by_the_server_is_replaced(app, backend, client, flask_calls):
    """What a PostgreSQL restart does to the append's own connection: the append that meets
    the dead connection drops it and runs again on a new one (the ledger writer), and the
    consent is kept."""
    if backend.name != "postgresql":
        pytest.skip("PostgreSQL only")
    from service.database import direct_connections

    assert client.post(URL, json=event(), headers={"Origin": ORIGIN}).status_code == 201
    pid = direct_connections.get(db.engine).info.backend_pid
    with psycopg.connect(app.config["DATABASE_URL"], autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    answer = client.post(URL, json=event(), headers={"Origin": ORIGIN})
    assert answer.status_code == 201
    assert flask_calls.count == 0
    assert direct_connections.get(db.engine).info.backend_pid != pid
