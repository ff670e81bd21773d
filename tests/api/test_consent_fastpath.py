"""The consent POST's fast path answers a well-formed consent exactly as the Flask view does, and
hands everything else to Flask without counting a request twice against the rate limit."""

from __future__ import annotations

import json

import psycopg
import pytest

from service import create_app
from service.extensions import db
from tests.helpers.apps import rate_limited_app
from tests.helpers.consents import ORIGIN, event
from tests.helpers.sites import site_payload

URL = "/api/v1/sites/news-example/consents"


class FlaskCalls:
    """Counts the requests that reach Flask behind the fast path."""

    def __init__(self, app) -> None:
        self.count = 0
        fast_path = app.wsgi_app
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
    app.wsgi_app = app.wsgi_app.wsgi_app  # without the fast path
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
    ("kwargs", "status"),
    [
        ({"json": event(action="nope")}, 422),
        ({"json": event(), "headers": {"Origin": "https://evil.example"}}, 403),
        ({"data": "{not json", "content_type": "application/json"}, 400),
        ({"data": "a=b", "content_type": "application/x-www-form-urlencoded"}, 415),
        ({"json": event(), "headers": {"Idempotency-Key": "other"}}, 422),
    ],
)
def test_errors_are_answered_by_flask_with_the_envelope(client, flask_calls, kwargs, status):
    kwargs.setdefault("headers", {}).setdefault("Origin", ORIGIN)
    answer = client.post(URL, **kwargs)
    assert answer.status_code == status
    assert flask_calls.count == 1
    assert set(answer.get_json()["error"]) == {"code", "message", "details"}


def test_unknown_site_is_a_404_from_flask(client, flask_calls):
    answer = client.post("/api/v1/sites/nope/consents", json=event(), headers={"Origin": ORIGIN})
    assert answer.status_code == 404
    assert flask_calls.count == 1


def test_a_request_handed_to_flask_is_counted_once(backend, tmp_path):
    with rate_limited_app(backend, tmp_path, "memory://") as (app, client, admin):
        assert client.post("/api/v1/sites", json=site_payload(), headers=admin).status_code == 201
        calls = FlaskCalls(app)
        origin = {"Origin": ORIGIN}
        statuses = [
            client.post(URL, json=event(), headers=origin).status_code,  # fast path
            client.post(URL, json=event(action="nope"), headers=origin).status_code,  # Flask
            client.post(URL, json=event(), headers=origin).status_code,  # fast path
        ]
        limited = client.post(URL, json=event(), headers=origin)
        assert [*statuses, limited.status_code] == [201, 422, 201, 429]
        assert calls.count == 2
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
    """The fast path hands the failure to Flask, which answers 503 + Retry-After (the widget
    retries), never a 500."""
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
    """What a PostgreSQL restart does to the append's own connection: the request that meets
    the dead connection drops it, Flask's attempt opens a new one, and the consent is kept."""
    if backend.name != "postgresql":
        pytest.skip("PostgreSQL only")
    from service.database import direct_connections

    assert client.post(URL, json=event(), headers={"Origin": ORIGIN}).status_code == 201
    pid = direct_connections.get(db.engine).info.backend_pid
    with psycopg.connect(app.config["DATABASE_URL"], autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    answer = client.post(URL, json=event(), headers={"Origin": ORIGIN})
    assert answer.status_code == 201
    assert flask_calls.count == 1  # the fast path met the dead connection and handed over
    assert direct_connections.get(db.engine).info.backend_pid != pid
