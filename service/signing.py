"""The app's signing keys (Ed25519, for receipts and checkpoints) and its own tokens.

Production: ``CONSENTRY_SIGNING_KEYS`` (PEM texts, current first, then retired) or
``CONSENTRY_SIGNING_KEY_FILES`` (paths, same order). Development: a key ring in
``<instance>/signing-keys`` created on first run; ``consentry keys rotate-signing`` adds a key there
and running workers pick it up within a second (they re-read the ring's index when it changes).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode
from itsdangerous.url_safe import URLSafeSerializerMixin

from .crypto.keys import KeyRing, load_keyring_from_dir, load_keyring_from_pem, rotate_signing_key

SUBJECT_TOKEN_SALT = "consentry.subject-token"


class KeyStore:
    def __init__(self, app: Flask) -> None:
        pems = app.config.get("SIGNING_KEYS") or []
        files = app.config.get("SIGNING_KEY_FILES") or []
        if isinstance(pems, str):
            pems = [pems]
        pems = list(pems) + [Path(name).read_text() for name in files]
        self.directory: Path | None = None
        if pems:
            self._ring = load_keyring_from_pem(pems)
        elif app.config["ENV"] == "production":
            raise RuntimeError(
                "CONSENTRY_SIGNING_KEYS or CONSENTRY_SIGNING_KEY_FILES must be set in production"
            )
        else:
            self.directory = Path(app.instance_path) / "signing-keys"
            self._stamp = None
            self._checked = 0.0
            self._reload()

    def _locked(self):
        self.directory.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.directory.parent / ".signing-keys.lock", "w")  # noqa: SIM115
        fcntl.flock(handle, fcntl.LOCK_EX)
        return handle

    def _reload(self) -> None:
        # One process creates the first key; the others wait and read the same ring.
        with self._locked():
            self._ring = load_keyring_from_dir(self.directory, create=True)
            self._stamp = os.stat(self.directory / "keyring.json").st_mtime_ns
        self._checked = time.monotonic()

    def ring(self) -> KeyRing:
        if self.directory is not None and time.monotonic() - self._checked > 1.0:
            self._checked = time.monotonic()
            if os.stat(self.directory / "keyring.json").st_mtime_ns != self._stamp:
                self._reload()
        return self._ring

    def rotate(self) -> KeyRing:
        if self.directory is None:
            raise RuntimeError(
                "Keys come from the environment: add the new key first in CONSENTRY_SIGNING_KEYS."
            )
        with self._locked():
            rotate_signing_key(self.directory)
        self._reload()
        return self._ring


def keyring_store() -> KeyStore:
    """The app's signing key store (rotation goes through it)."""
    return current_app.extensions["consentry_keys"]


def keyring() -> KeyRing:
    return keyring_store().ring()


class SubjectTokenSerializer(URLSafeTimedSerializer):
    """itsdangerous' URL-safe timed serializer without its attempt to compress the payload.

    zlib sets up its state on every call, a cost on every consent POST (docs/performance.md) to
    save a few bytes at best. The payload of a widget's subject token (some 60
    bytes of JSON) does not compress, so those tokens are byte-identical; a long subject gives a
    slightly longer token than before. Tokens load exactly as before, compressed or not.
    """

    def dump_payload(self, obj: Any) -> bytes:
        return base64_encode(super(URLSafeSerializerMixin, self).dump_payload(obj))


def _serializer() -> URLSafeTimedSerializer:
    # itsdangerous takes a key list, oldest first: it signs with the last and accepts them all.
    keys = (*reversed(current_app.config["OLD_SECRET_KEYS"]), current_app.config["SECRET_KEY"])
    # One per key list and app: every receipt carries a token, and building one costs more
    # than signing it.
    serializers = current_app.extensions.setdefault("consentry_subject_tokens", {})
    if keys not in serializers:
        serializers[keys] = SubjectTokenSerializer(
            list(keys),
            salt=SUBJECT_TOKEN_SALT,
            # itsdangerous' default, SHA-1, named directly: its lazy wrapper is a Python
            # function, which sends hmac down its slow pure-Python path (same tokens).
            signer_kwargs={"digest_method": hashlib.sha1},
        )
    return serializers[keys]


def make_subject_token(site_id: str, subject: str) -> str:
    """A token that lets a browser read its own consent history later (no API key)."""
    return _serializer().dumps({"site": site_id, "subject": subject})


def read_subject_token(token: str, max_age_seconds: int) -> dict[str, Any] | None:
    try:
        data = _serializer().loads(token, max_age=max_age_seconds)
    except BadSignature:
        return None
    return data if isinstance(data, dict) else None


def subject_of_token(site_id: str, token: str | None, max_age_seconds: int) -> str | None:
    """The subject a token names on ``site_id``; None when it is missing, forged, expired or
    made for another site."""
    data = read_subject_token(token, max_age_seconds) if token else None
    if data is None or data.get("site") != site_id or not isinstance(data.get("subject"), str):
        return None
    return data["subject"]


def init_app(app: Flask) -> None:
    app.extensions["consentry_keys"] = KeyStore(app)
