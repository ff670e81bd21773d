from __future__ import annotations

import hashlib
import hmac
import json
import warnings

import pytest
from joserfc import jws as joserfc_jws
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet

from service.crypto.jws import (
    InvalidReceipt,
    attach_signature,
    detached_signature,
    sign_compact,
    verify_compact,
)
from service.crypto.keys import KeyRing, b64url_decode, b64url_encode, generate_signing_key

PAYLOAD = b'{"action":"accept_all","seq":1,"site":"news-example"}'


@pytest.fixture
def ring():
    return KeyRing(generate_signing_key())


def _joserfc_verify(token, jwks):
    # joserfc warns that RFC 9864 deprecates "EdDSA"; we issue it on purpose (see jws.py).
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="EdDSA is deprecated")
        return joserfc_jws.deserialize_compact(
            token, KeySet.import_key_set(jwks), algorithms=["EdDSA"]
        )


def _forge(header: dict, payload: bytes, signature: bytes = b"") -> str:
    h = b64url_encode(json.dumps(header).encode())
    return f"{h}.{b64url_encode(payload)}.{b64url_encode(signature)}"


def _reason(token, lookup):
    with pytest.raises(InvalidReceipt) as caught:
        verify_compact(token, lookup)
    return caught.value.reason


def test_receipt_round_trip_returns_the_payload(ring):
    token = sign_compact(PAYLOAD, ring.current)
    assert verify_compact(token, ring.public_key) == PAYLOAD


def test_header_names_alg_kid_and_type(ring):
    token = sign_compact(PAYLOAD, ring.current)
    header = json.loads(b64url_decode(token.split(".")[0]))
    assert header == {"alg": "EdDSA", "kid": ring.current.kid, "typ": "consentry-receipt+jws"}


def test_joserfc_verifies_our_receipt_with_only_our_jwks(ring):
    token = sign_compact(PAYLOAD, ring.current)
    jwks = json.loads(json.dumps(ring.jwks()))  # exactly what /.well-known/jwks.json serves
    result = _joserfc_verify(token, jwks)
    assert result.payload == PAYLOAD
    assert result.protected["kid"] == ring.current.kid


def test_joserfc_computes_the_same_kid_as_we_do(ring):
    key_set = KeySet.import_key_set(ring.jwks())
    assert key_set.keys[0].thumbprint() == ring.current.kid


def test_joserfc_rejects_a_tampered_receipt(ring):
    token = sign_compact(PAYLOAD, ring.current)
    header, _, signature = token.split(".")
    forged = f"{header}.{b64url_encode(PAYLOAD.replace(b'accept', b'reject'))}.{signature}"
    with pytest.raises(BadSignatureError):
        _joserfc_verify(forged, ring.jwks())


def test_receipt_signed_by_a_retired_key_still_verifies(tmp_path):
    from service.crypto.keys import load_keyring_from_dir, rotate_signing_key

    old = load_keyring_from_dir(tmp_path)
    token = sign_compact(PAYLOAD, old.current)
    new = rotate_signing_key(tmp_path)
    assert verify_compact(token, new.public_key) == PAYLOAD


def test_detached_signature_rebuilds_the_same_receipt(ring):
    token = sign_compact(PAYLOAD, ring.current)
    signature = detached_signature(token)
    assert attach_signature(PAYLOAD, ring.current.kid, signature) == token


def test_alg_none_is_rejected(ring):
    token = _forge(
        {"alg": "none", "kid": ring.current.kid, "typ": "consentry-receipt+jws"}, PAYLOAD
    )
    assert _reason(token, ring.public_key) == "unsupported_alg"


def test_hs256_keyed_with_the_public_key_is_rejected(ring):
    header = {"alg": "HS256", "kid": ring.current.kid, "typ": "consentry-receipt+jws"}
    h, p = b64url_encode(json.dumps(header).encode()), b64url_encode(PAYLOAD)
    for secret in (
        ring.current.public_key.public_bytes_raw(),
        ring.jwks()["keys"][0]["x"].encode(),
        json.dumps(ring.jwks()["keys"][0]).encode(),
    ):
        mac = hmac.new(secret, f"{h}.{p}".encode(), hashlib.sha256).digest()
        assert _reason(f"{h}.{p}.{b64url_encode(mac)}", ring.public_key) == "unsupported_alg"


def test_fully_specified_ed25519_alg_is_rejected_because_we_never_issue_it(ring):
    token = sign_compact(PAYLOAD, ring.current)
    header = {"alg": "Ed25519", "kid": ring.current.kid, "typ": "consentry-receipt+jws"}
    h, p = b64url_encode(json.dumps(header).encode()), token.split(".")[1]
    signature = ring.current.sign(f"{h}.{p}".encode())
    assert _reason(f"{h}.{p}.{b64url_encode(signature)}", ring.public_key) == "unsupported_alg"


def test_receipt_from_another_key_is_rejected(ring):
    stranger = generate_signing_key()
    token = sign_compact(PAYLOAD, stranger)
    assert _reason(token, ring.public_key) == "unknown_kid"
    # Same kid claimed, but signed by the stranger's key.
    header = {"alg": "EdDSA", "kid": ring.current.kid, "typ": "consentry-receipt+jws"}
    h, p = b64url_encode(json.dumps(header).encode()), b64url_encode(PAYLOAD)
    forged = f"{h}.{p}.{b64url_encode(stranger.sign(f'{h}.{p}'.encode()))}"
    assert _reason(forged, ring.public_key) == "bad_signature"


def test_tampered_payload_is_rejected(ring):
    header, _, signature = sign_compact(PAYLOAD, ring.current).split(".")
    tampered = b64url_encode(PAYLOAD.replace(b"accept_all", b"reject_all"))
    assert _reason(f"{header}.{tampered}.{signature}", ring.public_key) == "bad_signature"


def test_tampered_header_is_rejected(ring):
    _, payload, signature = sign_compact(PAYLOAD, ring.current).split(".")
    header = {"alg": "EdDSA", "kid": ring.current.kid, "typ": "consentry-receipt+jws", "x": 1}
    h = b64url_encode(json.dumps(header).encode())
    assert _reason(f"{h}.{payload}.{signature}", ring.public_key) == "bad_signature"


def test_tampered_signature_is_rejected(ring):
    header, payload, signature = sign_compact(PAYLOAD, ring.current).split(".")
    raw = bytearray(b64url_decode(signature))
    raw[10] ^= 1
    bad = f"{header}.{payload}.{b64url_encode(bytes(raw))}"
    assert _reason(bad, ring.public_key) == "bad_signature"
    assert _reason(f"{header}.{payload}.", ring.public_key) == "bad_signature"


def test_other_token_types_and_critical_headers_are_rejected(ring):
    for extra in ({"typ": "JWT"}, {"crit": ["b64"], "b64": False}):
        header = {"alg": "EdDSA", "kid": ring.current.kid, "typ": "consentry-receipt+jws"}
        header.update(extra)
        h, p = b64url_encode(json.dumps(header).encode()), b64url_encode(PAYLOAD)
        token = f"{h}.{p}.{b64url_encode(ring.current.sign(f'{h}.{p}'.encode()))}"
        assert _reason(token, ring.public_key) == "bad_header"


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("", "malformed"),
        ("abc", "malformed"),
        ("a.b.c.d", "malformed"),
        (".e30.AAAA", "malformed"),
        ("!!!.e30.AAAA", "bad_base64"),
        ("eyJhbGciOiJFZERTQSJ9=.e30.AAAA", "bad_base64"),
        (b64url_encode(b"not json") + ".e30.AAAA", "bad_header"),
        (b64url_encode(b"[1,2]") + ".e30.AAAA", "bad_header"),
        (b64url_encode(b"\xff\xfe") + ".e30.AAAA", "bad_header"),
    ],
)
def test_garbage_is_rejected_with_a_reason(ring, token, reason):
    assert _reason(token, ring.public_key) == reason


def test_non_string_receipt_is_rejected(ring):
    assert _reason(None, ring.public_key) == "malformed"
