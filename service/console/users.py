"""Console users: creation, passwords (argon2id), TOTP, disabling. Plain functions; the CLI, the
console's users page and the demo seeding all call these."""

from __future__ import annotations

import hmac
import re
import secrets
import time
from datetime import UTC, datetime

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ..activity.service import record
from ..errors import Conflict, NotFound, Unprocessable
from ..extensions import db
from ..timeutil import utcnow
from .models import ROLE_SCOPES, ROLES, User

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{2,63}$")

# argon2id with the library's defaults (RFC 9106's second recommended option).
hasher = PasswordHasher()
# Checked when the email is unknown, so a missing account takes as long as a wrong password.
DUMMY_HASH = hasher.hash("not a password of anyone")


def normalise_email(email: str) -> str:
    email = (email or "").strip().lower()
    if not EMAIL.match(email):
        raise Unprocessable(
            "Give a valid email address.", {"fields": {"email": ["Not a valid email address."]}}
        )
    return email


def check_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise Unprocessable(
            f"A password needs at least {MIN_PASSWORD_LENGTH} characters.",
            {"fields": {"password": [f"At least {MIN_PASSWORD_LENGTH} characters."]}},
        )
    if len(password) > MAX_PASSWORD_LENGTH or "\x00" in password:
        raise Unprocessable(
            "That password cannot be used.",
            {"fields": {"password": [f"At most {MAX_PASSWORD_LENGTH} characters, no NUL."]}},
        )
    return password


def generate_password() -> str:
    """A one-time password: 128 random bits, easy to copy."""
    return secrets.token_urlsafe(16)


def check_role(role: str, site_id: str | None) -> None:
    if role not in ROLE_SCOPES:
        raise Unprocessable(
            f"Role must be one of {', '.join(ROLES)}.", {"fields": {"role": ["Unknown role."]}}
        )
    if site_id is not None:
        from ..sites.service import get_site

        get_site(site_id)


def create_user(email: str, role: str, password: str, site_id: str | None = None) -> User:
    """Create a console user; ``site_id`` None means all sites."""
    email = normalise_email(email)
    check_role(role, site_id)
    check_password(password)
    if db.session.execute(db.select(User.id).where(User.email == email)).first():
        raise Conflict(f"A user with the email {email} already exists.")
    user = User(email=email, role=role, site_id=site_id, password_hash=hasher.hash(password))
    db.session.add(user)
    db.session.commit()
    record(
        "user.created",
        f"user:{email}",
        site=site_id,
        details={"role": role, "site": site_id or "*"},
    )
    return user


def list_users(site_id: str | None = None) -> list[User]:
    """All users, or those bound to ``site_id`` (a site-bound owner manages only those)."""
    query = db.select(User).order_by(User.email)
    if site_id is not None:
        query = query.where(User.site_id == site_id)
    return list(db.session.execute(query).scalars())


def get_user(email: str, site_id: str | None = None) -> User:
    """The user with ``email``; one bound to another site than ``site_id`` is not found."""
    user = db.session.execute(
        db.select(User).where(User.email == (email or "").strip().lower())
    ).scalar_one_or_none()
    if user is None or (site_id is not None and user.site_id != site_id):
        raise NotFound(f"No user {email}.")
    return user


def get_user_by_id(user_id: int) -> User | None:
    return db.session.get(User, user_id)


def disable_user(email: str, site_id: str | None = None) -> User:
    user = get_user(email, site_id)
    if user.disabled_at is None:
        user.disabled_at = utcnow()
        user.session_epoch += 1
        db.session.commit()
        record("user.disabled", f"user:{user.email}", site=user.site_id)
    return user


def enable_user(email: str, site_id: str | None = None) -> User:
    user = get_user(email, site_id)
    if user.disabled_at is not None:
        user.disabled_at = None
        db.session.commit()
        record("user.changed", f"user:{user.email}", site=user.site_id, details={"enabled": True})
    return user


def reset_password(email: str, password: str, site_id: str | None = None) -> User:
    """Set a new password and end the user's sessions."""
    user = get_user(email, site_id)
    user.password_hash = hasher.hash(check_password(password))
    user.session_epoch += 1
    db.session.commit()
    record("user.password_reset", f"user:{user.email}", site=user.site_id)
    return user


def verify_password(user: User | None, password: str) -> bool:
    """True when ``password`` is the user's; rehashes when the parameters changed."""
    if not isinstance(password, str) or len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        if user is None:
            hasher.verify(DUMMY_HASH, password)
            return False
        hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
        db.session.commit()
    return True


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name="Consentry")


def totp_step(secret: str, code: str, now: float | None = None) -> int | None:
    """The time step whose code ``code`` is: the current one or a neighbour (clock drift), the
    latest if several match; None when it is none of them."""
    code = re.sub(r"\s", "", code or "")
    if not re.fullmatch(r"[0-9]{6}", code):  # ASCII only: \d takes other scripts' digits
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(datetime.fromtimestamp(time.time() if now is None else now, UTC))
    matching = [
        step
        for step in (current - 1, current, current + 1)
        if hmac.compare_digest(totp.generate_otp(step), code)
    ]
    return max(matching, default=None)


def use_totp_code(user: User, code: str) -> bool:
    """Whether ``code`` is right for ``user`` and not used before: its time step must come after
    the last one accepted, which is then this one. The conditional update lets only one of two
    concurrent sign-ins with the same code (in two workers) through."""
    step = totp_step(user.totp_secret or "", code)
    if step is None:
        return False
    table = User.__table__
    claimed = db.session.execute(
        db.update(table)
        .where(
            table.c.id == user.id,
            table.c.totp_last_step.is_(None) | (table.c.totp_last_step < step),
        )
        .values(totp_last_step=step)
    )
    db.session.commit()
    db.session.refresh(user)
    return claimed.rowcount == 1


def enable_totp(user: User, secret: str, code: str) -> None:
    """Turn on TOTP once the user proves their authenticator shows the right code (which is
    then used: it cannot sign in as well)."""
    step = totp_step(secret, code)
    if step is None:
        raise Unprocessable(
            "That code does not match. Check the time on your device and try again.",
            {"fields": {"code": ["Wrong code."]}},
        )
    user.totp_secret = secret
    user.totp_last_step = step
    db.session.commit()
    record("user.totp_enabled", f"user:{user.email}", site=user.site_id)


def mark_signed_in(user: User) -> None:
    user.last_login_at = utcnow()
    db.session.commit()
    record("login.succeeded", f"user:{user.email}", site=user.site_id, actor=f"user:{user.email}")


DEMO_OWNER = "owner@demo.example"


def seed_demo_owner() -> tuple[str, str]:
    """The demo's all-sites owner with a fresh one-time password (a new one on every run, since
    only its hash is kept): its email and password."""
    password = generate_password()
    try:
        get_user(DEMO_OWNER)
    except NotFound:
        create_user(DEMO_OWNER, "owner", password)
    else:
        reset_password(DEMO_OWNER, password)
    return DEMO_OWNER, password
