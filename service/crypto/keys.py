"""Ed25519 signing keys and the key ring: one current key signs, retired keys stay published.

A key id (``kid``) is the RFC 7638 JWK thumbprint of the public key, so any verifier can recompute
it from the JWKS and a kid can never silently point at a different key.

Keys live either in a directory (development, single host) or come from PEM text (production:
environment or mounted secrets; the first PEM is the current key, the rest are retired).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

INDEX_FILE = "keyring.json"


class KeyRingError(ValueError):
    """A key ring cannot be loaded: missing, unreadable or inconsistent key material."""


def b64url_encode(data: bytes) -> str:
    """Base64url without padding (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict base64url without padding: raise ValueError on any other spelling."""
    if not isinstance(text, str):
        raise ValueError("base64url must be a string")
    if "=" in text:
        raise ValueError("base64url must be unpadded")
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except binascii.Error as exc:
        # The library's own wording differs between languages; the browser verifier says this.
        raise ValueError("invalid base64url characters or length") from exc
    # Reject non-zero trailing bits, so each value has exactly one encoding.
    if b64url_encode(raw) != text:
        raise ValueError("non-canonical base64url")
    return raw


def raw_public_bytes(public_key: Ed25519PublicKey) -> bytes:
    """The 32-byte Ed25519 public key."""
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def jwk_thumbprint(public_key: Ed25519PublicKey) -> str:
    """RFC 7638 thumbprint: base64url SHA-256 of the required members in lexicographic order."""
    x = b64url_encode(raw_public_bytes(public_key))
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"))
    return b64url_encode(hashlib.sha256(canonical.encode("ascii")).digest())


def public_jwk(public_key: Ed25519PublicKey) -> dict[str, str]:
    """The public JWK (RFC 8037) of a key, with its kid, use and alg."""
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": b64url_encode(raw_public_bytes(public_key)),
        "kid": jwk_thumbprint(public_key),
        "use": "sig",
        "alg": "EdDSA",
    }


@dataclass(frozen=True)
class SigningKey:
    """An Ed25519 private key and its kid."""

    private_key: Ed25519PrivateKey
    kid: str

    @classmethod
    def from_private_key(cls, private_key: Ed25519PrivateKey) -> SigningKey:
        """Wrap a private key, deriving its kid."""
        return cls(private_key, jwk_thumbprint(private_key.public_key()))

    @property
    def public_key(self) -> Ed25519PublicKey:
        """The matching public key."""
        return self.private_key.public_key()

    def sign(self, data: bytes) -> bytes:
        """Return the 64-byte Ed25519 signature of ``data``."""
        return self.private_key.sign(data)

    def private_pem(self) -> str:
        """PKCS#8 PEM, unencrypted: protect it with file permissions or a secret store."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii")


def generate_signing_key() -> SigningKey:
    """Make a fresh Ed25519 signing key."""
    return SigningKey.from_private_key(Ed25519PrivateKey.generate())


@dataclass(frozen=True)
class KeyRing:
    """The current signing key plus retired public keys; all of them are published in the JWKS."""

    current: SigningKey
    retired: Mapping[str, Ed25519PublicKey] = field(default_factory=dict)

    def public_key(self, kid: str) -> Ed25519PublicKey | None:
        """Look up a published public key by kid (current or retired); None if unknown."""
        if kid == self.current.kid:
            return self.current.public_key
        return self.retired.get(kid)

    def kids(self) -> list[str]:
        """Every published kid, current first."""
        return [self.current.kid, *(k for k in self.retired if k != self.current.kid)]

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """The JWK Set served at /.well-known/jwks.json (current key first)."""
        keys = [public_jwk(self.current.public_key)]
        keys += [public_jwk(pk) for kid, pk in self.retired.items() if kid != self.current.kid]
        return {"keys": keys}


def public_keys_from_jwks(jwks: Mapping[str, object]) -> dict[str, Ed25519PublicKey]:
    """Read the Ed25519 keys of a JWK Set, checking that each kid is the key's thumbprint."""
    found: dict[str, Ed25519PublicKey] = {}
    keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(keys, list):
        raise KeyRingError("a JWK Set needs a 'keys' list")
    for jwk in keys:
        if not isinstance(jwk, dict) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
            continue
        try:
            raw = b64url_decode(jwk.get("x"))
        except ValueError as exc:
            raise KeyRingError(f"bad Ed25519 JWK: x: {exc}") from exc
        if len(raw) != 32:
            raise KeyRingError("bad Ed25519 JWK: x is not 32 bytes")
        public_key = Ed25519PublicKey.from_public_bytes(raw)
        kid = jwk_thumbprint(public_key)
        if jwk.get("kid", kid) != kid:
            raise KeyRingError(f"kid {jwk.get('kid')!r} is not the key's RFC 7638 thumbprint")
        found[kid] = public_key
    return found


def _load_pem(pem: str) -> Ed25519PrivateKey | Ed25519PublicKey:
    data = pem.encode("ascii")
    try:
        if b"PRIVATE KEY" in data:
            key: object = serialization.load_pem_private_key(data, password=None)
        else:
            key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise KeyRingError(f"unreadable PEM: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey | Ed25519PublicKey):
        raise KeyRingError(f"not an Ed25519 key: {type(key).__name__}")
    return key


def load_keyring_from_pem(pems: Iterable[str]) -> KeyRing:
    """Build a ring from PEM texts: the first is the current private key, the rest are retired.

    Retired keys may be given as private or public PEM; only their public halves are kept.
    """
    pems = list(pems)
    if not pems:
        raise KeyRingError("no signing key given")
    first = _load_pem(pems[0])
    if not isinstance(first, Ed25519PrivateKey):
        raise KeyRingError("the first PEM must be the current private key")
    current = SigningKey.from_private_key(first)
    retired: dict[str, Ed25519PublicKey] = {}
    for pem in pems[1:]:
        key = _load_pem(pem)
        public_key = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
        retired[jwk_thumbprint(public_key)] = public_key
    retired.pop(current.kid, None)
    return KeyRing(current, retired)


def _write_private(path: Path, text: str) -> None:
    # O_EXCL + mode 0600 at creation: the key is never readable by others, not even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(text)


def _write_index(directory: Path, current: str, kids: list[str]) -> None:
    tmp = directory / f".{INDEX_FILE}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"current": current, "keys": kids}, handle, indent=2)
        handle.write("\n")
    os.replace(tmp, directory / INDEX_FILE)  # atomic: readers never see half an index


def _add_key(directory: Path, kids: list[str]) -> SigningKey:
    key = generate_signing_key()
    _write_private(directory / f"{key.kid}.pem", key.private_pem())
    _write_index(directory, key.kid, [key.kid, *kids])
    return key


def load_keyring_from_dir(path: str | os.PathLike[str], create: bool = True) -> KeyRing:
    """Load the ring kept in ``path``: ``keyring.json`` names the current kid and all kids.

    Each key is ``<kid>.pem`` (PKCS#8, mode 0600). With ``create``, an empty or missing directory
    gets a first key.
    """
    directory = Path(path)
    index_path = directory / INDEX_FILE
    if not index_path.exists():
        if not create:
            raise KeyRingError(f"no key ring in {directory}")
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        _add_key(directory, [])
    try:
        index = json.loads(index_path.read_text(encoding="utf-8"))
        current_kid, kids = index["current"], list(index["keys"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise KeyRingError(f"unreadable {index_path}: {exc}") from exc
    if current_kid not in kids:
        raise KeyRingError(f"current kid {current_kid!r} is not listed in {index_path}")
    pems = [current_kid] + [kid for kid in kids if kid != current_kid]
    try:
        texts = [(directory / f"{kid}.pem").read_text(encoding="ascii") for kid in pems]
    except OSError as exc:
        raise KeyRingError(f"missing key file: {exc}") from exc
    ring = load_keyring_from_pem(texts)
    # A renamed or swapped file would make a kid lie about its key.
    if ring.kids() != pems:
        raise KeyRingError("a key file does not match the kid in its name")
    return ring


def rotate_signing_key(path: str | os.PathLike[str]) -> KeyRing:
    """Add a new current key to the ring in ``path``; the old keys stay as retired (published)."""
    directory = Path(path)
    ring = load_keyring_from_dir(directory, create=False)
    _add_key(directory, ring.kids())
    return load_keyring_from_dir(directory, create=False)


def verify_signature(public_key: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    """True when ``signature`` is a valid Ed25519 signature of ``data``."""
    try:
        public_key.verify(signature, data)
    except InvalidSignature:
        return False
    return True
