"""Signing in: throttled password check, optional TOTP, and sessions that end when idle.

Failed attempts count per account and per client in the rate limiter's storage (the same
``RATELIMIT_STORAGE_URI``: Redis shared by every worker, or memory), and every refusal says the
same thing, so the form tells nobody whether an account exists or is locked.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from flask import current_app, request, session
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from ..activity.service import record
from ..extensions import db
from .models import User
from .users import get_user_by_id, mark_signed_in, use_totp_code, verify_password

GENERIC_FAILURE = (
    "Sign-in failed: the email, password or code is wrong, or there were too many tries."
)


@dataclass(frozen=True)
class SignInResult:
    """``user`` on success; ``needs_totp`` when the password was right and a code is due next."""

    user: User | None = None
    needs_totp: bool = False
    throttled: bool = False


class LoginThrottle:
    """Counts failures per account and per client; a key over its limit is refused outright."""

    def __init__(self, storage_uri: str, per_account: str, per_client: str) -> None:
        self.window = MovingWindowRateLimiter(storage_from_string(storage_uri))
        self.per_account = parse(per_account)
        self.per_client = parse(per_client)

    def _keys(self, email: str, client: str):
        return ((self.per_account, "account", email), (self.per_client, "client", client))

    def allowed(self, email: str, client: str) -> bool:
        return all(
            self.window.test(limit, "console-login", kind, key)
            for limit, kind, key in self._keys(email, client)
        )

    def failed(self, email: str, client: str) -> None:
        for limit, kind, key in self._keys(email, client):
            self.window.hit(limit, "console-login", kind, key)


def throttle() -> LoginThrottle:
    return current_app.extensions["consentry_login_throttle"]


def client_address() -> str:
    return request.remote_addr or "unknown"


def _refuse(email: str, reason: str, throttled: bool = False) -> SignInResult:
    throttle().failed(email, client_address())
    record(
        "login.failed",
        f"user:{email[:254]}",
        details={"reason": reason},
        actor=f"client:{client_address()}",
    )
    return SignInResult(throttled=throttled)


def check_password_step(email: str, password: str) -> SignInResult:
    """The first step: email and password. Starts a session or asks for the TOTP code."""
    email = (email or "").strip().lower()[:254]
    if not throttle().allowed(email, client_address()):
        return _refuse(email, "throttled", throttled=True)
    user = db.session.execute(db.select(User).where(User.email == email)).scalar_one_or_none()
    if not verify_password(user, password) or user is None:  # the check runs either way (timing)
        return _refuse(email, "wrong email or password")
    if user.disabled_at is not None:
        return _refuse(email, "account disabled")
    if user.totp_secret:
        session.clear()
        session["pending_uid"] = user.id
        session["pending_at"] = int(time.time())
        return SignInResult(needs_totp=True)
    start_session(user)
    return SignInResult(user=user)


PENDING_SECONDS = 300


def pending_user() -> User | None:
    """The user between the password and the code steps (for five minutes at most)."""
    uid, started = session.get("pending_uid"), session.get("pending_at", 0)
    if uid is None or time.time() - started > PENDING_SECONDS:
        return None
    user = get_user_by_id(uid)
    return user if user is not None and user.disabled_at is None else None


def check_totp_step(code: str) -> SignInResult:
    user = pending_user()
    if user is None or not user.totp_secret:
        session.clear()
        return SignInResult()
    if not throttle().allowed(user.email, client_address()):
        return _refuse(user.email, "throttled", throttled=True)
    if not use_totp_code(user, code):  # a code works once (replay within its window refused)
        return _refuse(user.email, "wrong or used TOTP code")
    start_session(user)
    return SignInResult(user=user)


def start_session(user: User) -> None:
    """A new session (a new CSRF token with it) for ``user``."""
    session.clear()
    session.permanent = True
    session["uid"] = user.id
    session["epoch"] = user.session_epoch
    session["seen"] = int(time.time())
    mark_signed_in(user)


def session_user() -> tuple[User | None, str | None]:
    """The signed-in user, or None and why (expired, ended, or never signed in)."""
    uid = session.get("uid")
    if uid is None:
        return None, None
    idle = current_app.config["CONSOLE_IDLE_MINUTES"] * 60
    if time.time() - session.get("seen", 0) > idle:
        session.clear()
        return None, "Your session ended after a period of inactivity. Sign in again."
    user = get_user_by_id(uid)
    if user is None or user.disabled_at is not None or user.session_epoch != session.get("epoch"):
        session.clear()
        return None, "Your session has ended. Sign in again."
    session["seen"] = int(time.time())
    return user, None


def must_enrol_totp(user: User) -> bool:
    """Owners must have TOTP when ``CONSOLE_REQUIRE_2FA`` is on."""
    return (
        bool(current_app.config["CONSOLE_REQUIRE_2FA"])
        and user.role == "owner"
        and not user.totp_secret
    )
