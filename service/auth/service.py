"""API key rules: keys are shown once, stored as SHA-256, scoped and optionally bound to a site."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable

from ..activity.service import record
from ..errors import Conflict, NotFound, Unauthorized, Unprocessable
from ..extensions import db
from ..sites.service import get_site
from ..timeutil import utcnow
from .models import ApiKey

SCOPES = ("sites:admin", "documents:publish", "audit:read", "consents:write")
KEY_PREFIX = "csk_"


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def create_api_key(
    scopes: Iterable[str], site_id: str | None = None, label: str = ""
) -> tuple[ApiKey, str]:
    """Create a key; returns the stored row and the plaintext, which is never kept."""
    scopes = sorted(set(scopes))
    unknown = [scope for scope in scopes if scope not in SCOPES]
    if not scopes or unknown:
        raise Unprocessable(
            "Give at least one known scope.", {"unknown": unknown, "known": list(SCOPES)}
        )
    if site_id is not None:
        get_site(site_id)
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)  # 256 random bits
    key = ApiKey(
        prefix=plaintext[:12],
        key_sha256=hash_key(plaintext),
        scopes=scopes,
        site_id=site_id,
        label=label,
    )
    db.session.add(key)
    db.session.commit()
    record(
        "key.created",
        f"key:{key.id}:{key.prefix}",
        site=site_id,
        details={"scopes": scopes, "label": label[:200]},
    )
    return key, plaintext


def authenticate(plaintext: str | None) -> ApiKey:
    """The active key for ``plaintext``, or :class:`Unauthorized`."""
    if not plaintext or not plaintext.startswith(KEY_PREFIX) or len(plaintext) > 128:
        raise Unauthorized("Send a valid API key as 'Authorization: Bearer <key>'.")
    digest = hash_key(plaintext)
    key = db.session.execute(
        db.select(ApiKey).where(ApiKey.key_sha256 == digest)
    ).scalar_one_or_none()
    # The lookup is by digest; compare again in constant time so nothing depends on early exits.
    if key is None or not hmac.compare_digest(key.key_sha256, digest) or key.revoked_at:
        raise Unauthorized("Send a valid API key as 'Authorization: Bearer <key>'.")
    return key


def list_api_keys() -> list[ApiKey]:
    return list(db.session.execute(db.select(ApiKey).order_by(ApiKey.id)).scalars())


def revoke_api_key(key_id: int) -> ApiKey:
    key = db.session.get(ApiKey, key_id, with_for_update=True)  # a concurrent revoke waits
    if key is None:
        raise NotFound(f"No API key with id {key_id}.")
    if key.revoked_at is not None:
        raise Conflict(f"API key {key_id} is already revoked.")
    key.revoked_at = utcnow()
    db.session.commit()
    record("key.revoked", f"key:{key.id}:{key.prefix}", site=key.site_id)
    return key
