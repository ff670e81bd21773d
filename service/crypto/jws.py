"""Compact JWS receipts (RFC 7515) signed with Ed25519.

The protected header is ``{"alg":"EdDSA","kid":...,"typ":"consentry-receipt+jws"}`` and the payload
is the ledger entry body, so a receipt proves exactly the bytes that were chained.

Why ``EdDSA`` and not ``Ed25519``: RFC 9864 (2025) deprecates the polymorphic ``EdDSA`` in favour
of the fully specified ``Ed25519``, but most JOSE libraries in use today verify only ``EdDSA``.
Receipts are meant to be checked by anyone with any JOSE library, so interoperability wins. Both
names mean the same algorithm with our keys (OKP / Ed25519).

What we accept: only ``alg`` ``EdDSA``. Everything else is refused before any key is touched:
``none``, ``HS256`` (the "HMAC keyed with the public key" confusion attack) and also ``Ed25519``,
because we never issue it; a receipt that claims another algorithm was not made by us. The header
is serialised canonically (sorted keys, no spaces), so a receipt can be rebuilt byte for byte from
the stored body, kid and signature (``attach_signature``). We require our ``typ`` so a token made
by the same key for another purpose is never taken for a receipt, and refuse any ``crit`` header.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from service.crypto.keys import SigningKey, b64url_decode, b64url_encode, verify_signature

ALG = "EdDSA"
TYP = "consentry-receipt+jws"
SIGNATURE_SIZE = 64

PublicKeyLookup = Callable[[str], Ed25519PublicKey | None]


class InvalidReceipt(ValueError):
    """A receipt failed verification; ``reason`` is a short machine-readable code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


@functools.lru_cache(maxsize=64)
def protected_header(kid: str, typ: str = TYP) -> bytes:
    """The exact protected header bytes for ``kid`` (canonical JSON, so it can be rebuilt);
    ``typ`` tells a receipt from other documents the same keys sign (scan reports)."""
    header = {"alg": ALG, "kid": kid, "typ": typ}
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _signing_input(kid: str, payload: bytes, typ: str = TYP) -> bytes:
    return f"{b64url_encode(protected_header(kid, typ))}.{b64url_encode(payload)}".encode("ascii")


def sign_compact(payload: bytes, key: SigningKey, typ: str = TYP) -> str:
    """Sign ``payload`` and return the compact JWS ``header.payload.signature``."""
    signing_input = _signing_input(key.kid, payload, typ)
    return f"{signing_input.decode('ascii')}.{b64url_encode(key.sign(signing_input))}"


def detached_signature(token: str) -> str:
    """The base64url signature part of a compact JWS: what the ledger row stores."""
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidReceipt("malformed", "a compact JWS has three parts")
    return parts[2]


def attach_signature(payload: bytes, kid: str, signature: str, typ: str = TYP) -> str:
    """Rebuild the compact JWS of a stored entry from its body, kid and detached signature."""
    return f"{_signing_input(kid, payload, typ).decode('ascii')}.{signature}"


def _decode(part: str, what: str) -> bytes:
    try:
        return b64url_decode(part)
    except ValueError as exc:
        raise InvalidReceipt("bad_base64", f"{what} is not base64url: {exc}") from exc


def verify_compact(token: str, public_key_lookup: PublicKeyLookup, typ: str = TYP) -> bytes:
    """Verify a compact JWS receipt (or, with ``typ``, another document we sign) and return its
    payload; raise InvalidReceipt otherwise."""
    if not isinstance(token, str):
        raise InvalidReceipt("malformed", "a receipt is a string")
    parts = token.split(".")
    if len(parts) != 3 or not parts[0]:
        raise InvalidReceipt("malformed", "a compact JWS has three parts and a header")
    header_b64, payload_b64, signature_b64 = parts
    header_bytes = _decode(header_b64, "header")
    try:
        header = json.loads(header_bytes.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidReceipt("bad_header", "header is not JSON") from exc
    if not isinstance(header, dict):
        raise InvalidReceipt("bad_header", "header is not a JSON object")
    if header.get("alg") != ALG:
        raise InvalidReceipt("unsupported_alg", f"alg {header.get('alg')!r} is not {ALG}")
    if header.get("typ") != typ:
        raise InvalidReceipt("bad_header", f"typ {header.get('typ')!r} is not {typ}")
    if "crit" in header:
        raise InvalidReceipt("bad_header", "no critical header extensions are understood")
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise InvalidReceipt("bad_header", "kid is missing")
    public_key = public_key_lookup(kid)
    if public_key is None:
        raise InvalidReceipt("unknown_kid", f"no published key with kid {kid!r}")
    payload = _decode(payload_b64, "payload")
    signature = _decode(signature_b64, "signature")
    if len(signature) != SIGNATURE_SIZE:
        raise InvalidReceipt("bad_signature", "an Ed25519 signature has 64 bytes")
    # The signature covers the header and payload exactly as transmitted.
    signing_input = f"{header_b64}.{payload_b64}".encode("ascii")
    if not verify_signature(public_key, signature, signing_input):
        raise InvalidReceipt("bad_signature", "signature does not match header and payload")
    return payload
