from __future__ import annotations

import json
import os
import stat

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from service.crypto.keys import (
    INDEX_FILE,
    KeyRing,
    KeyRingError,
    b64url_decode,
    b64url_encode,
    generate_signing_key,
    jwk_thumbprint,
    load_keyring_from_dir,
    load_keyring_from_pem,
    public_keys_from_jwks,
    rotate_signing_key,
)

# RFC 8037 appendix A.1/A.3: Ed25519 key and its RFC 7638 thumbprint.
RFC8037_D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
RFC8037_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_kid_is_the_rfc7638_thumbprint_of_the_published_rfc8037_key():
    private_key = Ed25519PrivateKey.from_private_bytes(b64url_decode(RFC8037_D))
    assert jwk_thumbprint(private_key.public_key()) == RFC8037_THUMBPRINT


def test_new_directory_gets_a_first_key_written_with_0600(tmp_path):
    directory = tmp_path / "keys"
    ring = load_keyring_from_dir(directory)
    key_file = directory / f"{ring.current.kid}.pem"
    assert _mode(key_file) == 0o600
    assert _mode(directory / INDEX_FILE) == 0o600
    assert _mode(directory) == 0o700
    assert json.loads((directory / INDEX_FILE).read_text())["current"] == ring.current.kid


def test_loading_again_returns_the_same_key(tmp_path):
    first = load_keyring_from_dir(tmp_path)
    again = load_keyring_from_dir(tmp_path)
    assert again.current.kid == first.current.kid
    assert again.retired == {}


def test_missing_ring_is_an_error_without_create(tmp_path):
    with pytest.raises(KeyRingError, match="no key ring"):
        load_keyring_from_dir(tmp_path, create=False)


def test_rotation_keeps_retired_keys_published(tmp_path):
    first = load_keyring_from_dir(tmp_path)
    second = rotate_signing_key(tmp_path)
    third = rotate_signing_key(tmp_path)
    assert third.current.kid not in (first.current.kid, second.current.kid)
    assert set(third.retired) == {first.current.kid, second.current.kid}
    kids = [jwk["kid"] for jwk in third.jwks()["keys"]]
    assert kids[0] == third.current.kid
    assert set(kids) == {first.current.kid, second.current.kid, third.current.kid}
    assert third.public_key(first.current.kid) is not None
    assert load_keyring_from_dir(tmp_path, create=False).current.kid == third.current.kid
    for pem in tmp_path.glob("*.pem"):
        assert _mode(pem) == 0o600


def test_a_key_file_that_does_not_match_its_kid_is_refused(tmp_path):
    ring = load_keyring_from_dir(tmp_path)
    path = tmp_path / f"{ring.current.kid}.pem"
    path.unlink()
    path.write_text(generate_signing_key().private_pem())
    with pytest.raises(KeyRingError, match="does not match"):
        load_keyring_from_dir(tmp_path)


def test_pem_loading_takes_the_first_as_current_and_the_rest_as_retired():
    current, old_private, old_public = (generate_signing_key() for _ in range(3))
    public_pem = old_public.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    ring = load_keyring_from_pem([current.private_pem(), old_private.private_pem(), public_pem])
    assert ring.current.kid == current.kid
    assert set(ring.retired) == {old_private.kid, old_public.kid}
    assert ring.public_key("nope") is None


def test_pem_loading_refuses_a_public_key_as_current_and_garbage():
    key = generate_signing_key()
    public_pem = key.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    with pytest.raises(KeyRingError, match="current private key"):
        load_keyring_from_pem([public_pem])
    with pytest.raises(KeyRingError):
        load_keyring_from_pem(["-----BEGIN PRIVATE KEY-----\nxx\n-----END PRIVATE KEY-----\n"])
    with pytest.raises(KeyRingError):
        load_keyring_from_pem([])


def test_jwks_has_the_fields_jose_libraries_expect_and_reads_back():
    ring = KeyRing(generate_signing_key())
    (jwk,) = ring.jwks()["keys"]
    assert jwk == {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": b64url_encode(ring.current.public_key.public_bytes_raw()),
        "kid": ring.current.kid,
        "use": "sig",
        "alg": "EdDSA",
    }
    assert list(public_keys_from_jwks(ring.jwks())) == [ring.current.kid]


def test_jwks_with_a_kid_that_is_not_the_thumbprint_is_refused():
    jwks = KeyRing(generate_signing_key()).jwks()
    jwks["keys"][0]["kid"] = "someone-else"
    with pytest.raises(KeyRingError, match="thumbprint"):
        public_keys_from_jwks(jwks)


@pytest.mark.parametrize("text", ["YQ==", "YR", "a+b/", "a b", "!!!!"])
def test_base64url_decoding_is_strict(text):
    with pytest.raises(ValueError):
        b64url_decode(text)
