"""Signed checkpoints (tree heads): a site's tree size and Merkle root at a point in time.

The signed payload is canonical JSON of the unsigned fields plus a fixed ``typ``, so a checkpoint
signature can never be replayed as a receipt or anything else signed by the same key. The
signature is raw Ed25519 over those bytes, base64url without padding.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from service.crypto.keys import b64url_decode, b64url_encode, verify_signature
from service.ledger.canonical import canonical_json
from service.ledger.chain import format_timestamp

CHECKPOINT_TYPE = "consentry-checkpoint/v1"
_HEX64 = re.compile(r"[0-9a-f]{64}")

PublicKeyLookup = Callable[[str], Ed25519PublicKey | None]


class Signer(Protocol):
    """Anything with a kid that signs bytes with Ed25519 (``service.crypto.keys.SigningKey``)."""

    @property
    def kid(self) -> str: ...

    def sign(self, data: bytes) -> bytes: ...


@dataclass(frozen=True)
class Checkpoint:
    """A signed tree head. ``root_hash`` is hex; ``signature`` is base64url Ed25519."""

    site: str
    tree_size: int
    root_hash: str
    timestamp: str
    kid: str
    signature: str

    def to_dict(self) -> dict[str, object]:
        """Plain dict for JSON export."""
        return asdict(self)


def checkpoint_payload(
    site: str, tree_size: int, root_hash: str, timestamp: str, kid: str
) -> bytes:
    """The exact bytes a checkpoint signature covers."""
    return canonical_json(
        {
            "typ": CHECKPOINT_TYPE,
            "site": site,
            "tree_size": tree_size,
            "root_hash": root_hash,
            "timestamp": timestamp,
            "kid": kid,
        }
    )


def sign_checkpoint(
    site: str, tree_size: int, root_hash: str | bytes, timestamp: str | datetime, signer: Signer
) -> Checkpoint:
    """Sign a tree head; ``root_hash`` is raw 32 bytes or hex, ``timestamp`` a datetime or str."""
    if isinstance(root_hash, bytes):
        root_hash = root_hash.hex()
    if not _HEX64.fullmatch(root_hash):
        raise ValueError("root_hash must be 32 bytes or 64 lowercase hex digits")
    if type(tree_size) is not int or tree_size < 0:
        raise ValueError("tree_size must be a non-negative integer")
    if isinstance(timestamp, datetime):
        timestamp = format_timestamp(timestamp)
    payload = checkpoint_payload(site, tree_size, root_hash, timestamp, signer.kid)
    signature = b64url_encode(signer.sign(payload))
    return Checkpoint(site, tree_size, root_hash, timestamp, signer.kid, signature)


def verify_checkpoint(cp: Checkpoint, public_key_lookup: PublicKeyLookup) -> bool:
    """True when ``cp`` is signed by the published key it names."""
    public_key = public_key_lookup(cp.kid)
    if public_key is None:
        return False
    try:
        payload = checkpoint_payload(cp.site, cp.tree_size, cp.root_hash, cp.timestamp, cp.kid)
        signature = b64url_decode(cp.signature)
    except ValueError:  # CanonicalJSONError is a ValueError too
        return False
    return verify_signature(public_key, signature, payload)
