"""The inputs the review answered with 500: each now gets a 4xx with the error envelope."""

from __future__ import annotations

import base64
import io
import json

import pytest

from tests.api.test_consents import ORIGIN, event
from tests.helpers.audit import BASE, SITE, accept, recording_site

DEEP = 20_000


@pytest.fixture
def recorded(client, admin, make_site):
    recorder = recording_site(client, admin, make_site)
    return recorder(**accept("s_visitor_0001"))


def assert_client_error(response, *statuses: int) -> dict:
    assert 400 <= response.status_code < 500, (response.status_code, response.data[:300])
    if statuses:
        assert response.status_code in statuses, response.get_json()
    envelope = response.get_json()
    assert set(envelope["error"]) == {"code", "message", "details"}
    return envelope["error"]


@pytest.mark.parametrize("path", ["/api/v1/receipts/verify", f"{BASE}/consents"])
@pytest.mark.parametrize("opening", ["[", '{"a":'])
def test_deeply_nested_json_is_a_400(client, recorded, path, opening):
    closing = "]" if opening == "[" else "}"
    body = opening * DEEP + "1" + closing * DEEP
    response = client.post(
        path, data=body, content_type="application/json", headers={"Origin": ORIGIN}
    )
    assert_client_error(response)


@pytest.mark.parametrize(
    "change",
    [
        {"locale": None},
        {"user_id": "\ud800"},
        {"user_id": "a\udfffb"},
        {"subject": "s_\ud83d"},
        {"user_id": "a\x00b"},
        {"subject": "s_visitor\x00"},
        {"client_event_id": "\x00"},
    ],
)
def test_hostile_consent_fields_are_refused(client, recorded, change):
    body = json.dumps(event(**change))  # ensure_ascii: lone surrogates go as \\ud800 escapes
    response = client.post(
        f"{BASE}/consents", data=body, content_type="application/json", headers={"Origin": ORIGIN}
    )
    assert_client_error(response, 400, 422)


@pytest.mark.parametrize("number", ["2147483648", "99999999999999999999", "9" * 400])
def test_huge_version_numbers_are_not_found(client, recorded, admin, number):
    for path in (
        f"{BASE}/documents/privacy/versions/{number}",
        f"{BASE}/documents/privacy/versions/{number}/diff",
    ):
        assert_client_error(client.get(path, headers=admin), 404, 405)
    page = client.get(f"/p/{SITE}/privacy/v/{number}")
    assert page.status_code == 404


@pytest.mark.parametrize("against", ["2147483648", "99999999999999999999", "-1"])
def test_diff_against_a_huge_version_is_refused(client, recorded, admin, against):
    url = f"{BASE}/documents/privacy/versions/1/diff?against={against}"
    response = client.get(url, headers=admin)
    assert_client_error(response, 404, 422)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/sites/a%00b/banner",
        "/api/v1/sites/a%00b",
        "/api/v1/sites/a%00b/consents?subject=x",
        "/p/a%00b/privacy",
        f"{BASE}/consents?subject=a%00b",
        f"{BASE}/documents/privacy?locale=e%00n",
    ],
)
def test_nul_bytes_in_paths_and_queries_are_refused(client, recorded, admin, path):
    response = client.get(path, headers={**admin, "Accept": "application/json"})
    assert 400 <= response.status_code < 500, response.data[:200]


@pytest.mark.parametrize("seq", [2**63, 2**31, -1, 10**30])
def test_cursors_holding_huge_numbers_are_refused(client, recorded, admin, seq):
    for payload in ({"s": seq}, {"s": seq, "o": "desc"}):
        cursor = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
        response = client.get(f"{BASE}/consents?cursor={cursor}", headers=admin)
        assert_client_error(response, 400, 422)


@pytest.mark.parametrize(
    "query",
    [
        "stats?from=9999-12-31&to=9999-12-31",
        "stats?from=0001-01-01&to=0001-01-01",
        "stats?from=2026-01-01&to=9999-12-31",
        "export?from=9999-12-31T23:59:59Z",
        "export?to=0001-01-01T00:00:00Z",
        "export?from=0001-01-01T00:00:00-23:59",
        "consents?from=9999-12-31T23:59:59Z",
        "consents?to=9999-12-31T23:59:59-23:00",
    ],
)
def test_far_dates_are_refused_or_answered(client, recorded, admin, query):
    response = client.get(f"{BASE}/{query}", headers=admin)
    if response.status_code == 200:
        b"".join(response.response)  # a streamed export must finish too
        return
    assert_client_error(response, 422)


@pytest.mark.parametrize("path", [f"{BASE}/consents", "/api/v1/receipts/verify", "/api/v1/sites"])
def test_a_chunked_body_over_the_limit_is_a_413(app, client, recorded, admin, path):
    """A body without Content-Length (chunked; the server sets wsgi.input_terminated) is
    refused once it passes the limit, never cut at the limit and read as if complete."""
    limit = app.config["MAX_CONTENT_LENGTH"]
    body = json.dumps({**event(), "page": "https://news.example.com/" + "x" * (limit + 10)})
    response = client.post(
        path,
        input_stream=io.BytesIO(body.encode()),
        headers={**admin, "Origin": ORIGIN, "Transfer-Encoding": "chunked"},
        content_type="application/json",
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert_client_error(response, 413)


def test_a_chunked_body_within_the_limit_is_read_whole(client, admin, make_site):
    recorder = recording_site(client, admin, make_site)
    body = json.dumps(event(subject="s_chunked_0001", documents=recorder.documents)).encode()
    response = client.post(
        f"{BASE}/consents",
        input_stream=io.BytesIO(body),
        headers={"Origin": ORIGIN, "Transfer-Encoding": "chunked"},
        content_type="application/json",
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 201, response.get_json()


@pytest.mark.parametrize("number", ["\u0663", "\uff15", " 5", "1_0", "+5", "5.0", "0x10"])
def test_integers_in_queries_are_ascii_digits(client, recorded, admin, number):
    """int() reads other scripts' digits, spaces and underscores; the OpenAPI integer does not."""
    for path in (
        f"{BASE}/consents?limit={number}",
        f"{BASE}/scans?limit={number}",
        f"{BASE}/documents/privacy/versions/1/diff?against={number}",
    ):
        assert_client_error(client.get(path, headers=admin), 422)
