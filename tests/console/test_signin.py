"""Sign-in: sessions, CSRF, throttling, TOTP, idle expiry, and role access through the guard."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pyotp
import pytest

from service.activity.service import query_activity
from service.console import users
from service.console.signin import GENERIC_FAILURE

from .conftest import PASSWORD, csrf_token, post_form, sign_in


def test_pages_need_sign_in(client):
    response = client.get("/console/activity")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/console/login")


def test_sign_in_sets_a_strict_session_cookie(app, make_user):
    make_user("a@example.com", "owner")
    client = app.test_client()
    response = sign_in(client, "a@example.com")
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/console/activity").status_code == 200


def test_wrong_password_and_unknown_account_get_the_same_answer(app, make_user):
    make_user("a@example.com", "owner")
    client = app.test_client()
    wrong = sign_in(client, "a@example.com", "wrong password!!")
    unknown = sign_in(client, "nobody@example.com", "wrong password!!")
    assert wrong.status_code == unknown.status_code == 401
    assert GENERIC_FAILURE in wrong.get_data(as_text=True)
    assert GENERIC_FAILURE in unknown.get_data(as_text=True)
    failures = query_activity(action="login.failed").items
    assert {e.object for e in failures} == {"user:a@example.com", "user:nobody@example.com"}


def test_disabled_user_cannot_sign_in_and_loses_the_session(app, make_user):
    make_user("a@example.com", "owner")
    client = app.test_client()
    sign_in(client, "a@example.com")
    users.disable_user("a@example.com")
    assert client.get("/console/activity").status_code == 302
    assert sign_in(client, "a@example.com").status_code == 401


def test_post_without_csrf_token_is_refused(app, make_user):
    make_user("a@example.com", "owner")
    client = app.test_client()
    response = client.post("/console/login", data={"email": "a@example.com", "password": PASSWORD})
    assert response.status_code == 400
    assert "did not come from this console" in response.get_data(as_text=True)
    forged = client.post(
        "/console/login",
        data={"email": "a@example.com", "password": PASSWORD, "csrf_token": "forged"},
    )
    assert forged.status_code == 400


def test_throttle_per_account_refuses_even_the_right_password(app, make_user):
    make_user("a@example.com", "owner")
    client = app.test_client()
    for _ in range(5):
        assert sign_in(client, "a@example.com", "wrong password!!").status_code == 401
    refused = sign_in(client, "a@example.com")
    assert refused.status_code == 429
    assert GENERIC_FAILURE in refused.get_data(as_text=True)
    make_user("b@example.com", "owner")
    assert sign_in(app.test_client(), "b@example.com").status_code == 302


def test_throttle_per_client_spans_accounts(app):
    app.extensions["consentry_login_throttle"].per_client = __import__("limits").parse(
        "3 per minute"
    )
    users.create_user("a@example.com", "owner", PASSWORD)
    client = app.test_client()
    for n in range(3):
        assert sign_in(client, f"x{n}@example.com", "wrong password!!").status_code == 401
    assert sign_in(client, "a@example.com").status_code == 429


def test_session_ends_when_idle(app, make_user, monkeypatch):
    make_user("a@example.com", "owner")
    client = app.test_client()
    sign_in(client, "a@example.com")
    # The cookie itself expires after CONSOLE_IDLE_MINUTES too; a shorter server-side limit shows
    # the server's own check (which also covers a cookie replayed after its expiry).
    app.config["CONSOLE_IDLE_MINUTES"] = 1
    later = time.time() + 65
    monkeypatch.setattr(time, "time", lambda: later)
    response = client.get("/console/activity")
    assert response.status_code == 302
    assert "inactivity" in client.get("/console/login").get_data(as_text=True)


def test_an_active_session_stays_signed_in(app, make_user, monkeypatch):
    make_user("a@example.com", "owner")
    client = app.test_client()
    sign_in(client, "a@example.com")
    app.config["CONSOLE_IDLE_MINUTES"] = 1
    now = time.time()
    for step in range(1, 4):  # a request every 40 s keeps a 60 s idle limit from ending it
        monkeypatch.setattr(time, "time", lambda step=step: now + 40 * step)
        assert client.get("/console/activity").status_code == 200


def enrol_totp(user) -> pyotp.TOTP:
    """TOTP on for ``user``, enrolled with the previous time step's code (which that uses)."""
    secret = users.new_totp_secret()
    totp = pyotp.TOTP(secret)
    users.enable_totp(user, secret, totp.at(time.time() - 30))
    return totp


def code_step(client, code: str):
    sign_in(client, "a@example.com")
    return post_form(client, "/console/login/code", {"code": code})


def test_totp_is_asked_after_the_password(app, make_user):
    totp = enrol_totp(make_user("a@example.com", "owner"))
    client = app.test_client()
    response = sign_in(client, "a@example.com")
    assert response.headers["Location"] == "/console/login/code"
    assert client.get("/console/activity").status_code == 302  # not signed in yet
    wrong = post_form(client, "/console/login/code", {"code": "000000"})
    assert wrong.status_code == 401
    right = post_form(client, "/console/login/code", {"code": totp.now()})
    assert right.status_code == 302
    assert client.get("/console/activity").status_code == 200


def test_a_totp_code_signs_in_once_within_its_window(app, make_user, monkeypatch):
    totp = enrol_totp(make_user("a@example.com", "owner"))
    now = time.time()
    code = totp.at(now)
    assert code_step(app.test_client(), code).status_code == 302
    # The same code again, from another client, 10 s later (still inside its window): refused.
    monkeypatch.setattr(time, "time", lambda: now + 10)
    replay = code_step(app.test_client(), code)
    assert replay.status_code == 401
    assert GENERIC_FAILURE in replay.get_data(as_text=True)
    # An earlier step's code, still within the drift allowed, is older than the one used.
    assert code_step(app.test_client(), totp.at(now - 30)).status_code == 401
    # The next step's code works, once.
    monkeypatch.setattr(time, "time", lambda: now + 30)
    assert code_step(app.test_client(), totp.at(now + 30)).status_code == 302
    assert code_step(app.test_client(), totp.at(now + 30)).status_code == 401
    failures = query_activity(action="login.failed").items
    assert [entry.details["reason"] for entry in failures][:2] == ["wrong or used TOTP code"] * 2


def test_the_enrolment_code_cannot_sign_in(app, make_user):
    user = make_user("a@example.com", "owner")
    secret = users.new_totp_secret()
    code = pyotp.TOTP(secret).now()
    users.enable_totp(user, secret, code)
    assert code_step(app.test_client(), code).status_code == 401


def test_totp_step_takes_the_current_step_and_its_neighbours_only():
    secret = users.new_totp_secret()
    totp = pyotp.TOTP(secret)
    now = 1_800_000_000.0  # a step boundary: 60,000,000 * 30
    current = totp.timecode(datetime.fromtimestamp(now, UTC))
    for offset in (-1, 0, 1):
        code = totp.at(now + 30 * offset)
        assert users.totp_step(secret, code, now) == current + offset
        assert users.totp_step(secret, f" {code[:3]} {code[3:]} ", now) == current + offset
    assert users.totp_step(secret, totp.at(now - 60), now) is None  # two steps back: too old
    assert users.totp_step(secret, totp.at(now + 60), now) is None
    for garbage in (
        "",
        "12345",
        "1234567",
        "abcdef",
        "\uff11\uff12\uff13\uff14\uff15\uff16",
        "\u0661" * 6,
        None,
    ):
        assert users.totp_step(secret, garbage, now) is None


def test_owners_must_enrol_totp_when_required(app, make_user):
    app.config["CONSOLE_REQUIRE_2FA"] = True
    make_user("a@example.com", "owner")
    client = app.test_client()
    sign_in(client, "a@example.com")
    response = client.get("/console/activity")
    assert response.headers["Location"] == "/console/account"
    page = client.get("/console/account").get_data(as_text=True)
    secret = page.split('id="totp-secret">')[1].split("<")[0]
    bad = post_form(client, "/console/account", {"code": "123"})
    assert bad.status_code == 422
    ok = post_form(client, "/console/account", {"code": pyotp.TOTP(secret).now()})
    assert ok.status_code == 302
    assert client.get("/console/activity").status_code == 200
    assert users.get_user("a@example.com").totp_secret == secret


def test_editors_need_no_totp_even_when_required(app, make_user):
    app.config["CONSOLE_REQUIRE_2FA"] = True
    make_user("e@example.com", "editor")
    client = app.test_client()
    sign_in(client, "e@example.com")
    assert client.get("/console/").status_code == 200


def test_open_redirects_are_refused(app, make_user):
    make_user("a@example.com", "owner")
    client = app.test_client()
    token = csrf_token(client)
    response = client.post(
        "/console/login",
        data={
            "email": "a@example.com",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/",
        },
    )
    assert response.headers["Location"] == "/console/"


@pytest.mark.parametrize(
    ("role", "path", "status"),
    [
        ("auditor", "/console/activity", 200),
        ("editor", "/console/activity", 403),
        ("owner", "/console/activity", 200),
    ],
)
def test_roles_see_what_their_scopes_allow(signed_in, role, path, status):
    client = signed_in(role)
    assert client.get(path).status_code == status


def test_console_pages_carry_a_strict_csp(signed_in):
    response = signed_in("owner").get("/console/activity")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["Cache-Control"] == "no-store"
