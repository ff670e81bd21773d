"""RFC 6962 / RFC 9162 Merkle Tree Hash, inclusion and consistency proofs.

leaf hash = SHA-256(0x00 || leaf), node hash = SHA-256(0x01 || left || right), and the empty
tree hashes to SHA-256(""). The ledger's leaves are the raw 32-byte entry hashes (the digest
bytes, not the hex text), in seq order: leaf index i is the entry with seq i + 1.

Functions take leaf *data* (they apply ``leaf_hash`` themselves) and return raw 32-byte hashes.
Trees are built level by level: pairing nodes from the left and carrying an odd last node up
unchanged gives exactly the RFC's split at the largest power of two, without recursion or slicing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

_sha256 = hashlib.sha256


class ProofError(ValueError):
    """A proof was requested for an index or size outside the tree."""


def leaf_hash(leaf: bytes) -> bytes:
    """Hash a leaf: SHA-256(0x00 || leaf)."""
    return _sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash an interior node: SHA-256(0x01 || left || right)."""
    return _sha256(b"\x01" + left + right).digest()


def _next_level(nodes: list[bytes]) -> list[bytes]:
    paired = [
        _sha256(b"\x01" + nodes[i] + nodes[i + 1]).digest() for i in range(0, len(nodes) - 1, 2)
    ]
    if len(nodes) % 2:
        paired.append(nodes[-1])
    return paired


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """Return the Merkle Tree Hash of ``leaves`` (RFC 6962 section 2.1)."""
    level = [_sha256(b"\x00" + leaf).digest() for leaf in leaves]
    if not level:
        return EMPTY_ROOT
    while len(level) > 1:
        level = _next_level(level)
    return level[0]


class MerkleTree:
    """All levels of a tree kept in memory (about 2 x 32 bytes per leaf) to answer many proofs.

    Node ``levels[h][i]`` covers leaves ``[i * 2**h, min((i + 1) * 2**h, size))``; with the odd
    node carried up, every subtree an RFC 6962 proof names is such a node.
    """

    def __init__(self, leaves: Sequence[bytes]) -> None:
        level = [_sha256(b"\x00" + leaf).digest() for leaf in leaves]
        self.size = len(level)
        self.levels = [level]
        while len(level) > 1:
            level = _next_level(level)
            self.levels.append(level)

    def root(self) -> bytes:
        """Return the Merkle Tree Hash of all leaves."""
        return self.levels[-1][0] if self.size else EMPTY_ROOT

    def _subtree(self, lo: int, hi: int) -> bytes:
        height = (hi - lo - 1).bit_length()
        return self.levels[height][lo >> height]

    def inclusion_proof(self, index: int) -> list[bytes]:
        """Return the audit path of leaf ``index``, leaf side first (RFC 6962 section 2.1.1)."""
        if not 0 <= index < self.size:
            raise ProofError(f"leaf index {index} is outside a tree of size {self.size}")
        proof: list[bytes] = []
        for level in self.levels[:-1]:
            sibling = index ^ 1
            # A right-edge node without a sibling is carried up, so it adds nothing to the path.
            if sibling < len(level):
                proof.append(level[sibling])
            index >>= 1
        return proof

    def consistency_proof(self, old_size: int) -> list[bytes]:
        """Return the proof that the first ``old_size`` leaves are a prefix (RFC 6962 2.1.2)."""
        if not 0 <= old_size <= self.size:
            raise ProofError(f"old size {old_size} is outside 0..{self.size}")
        if old_size in (0, self.size):
            return []
        # SUBPROOF(m, D[lo:hi], complete) as a loop. It finds subtrees top-down; the proof lists
        # them bottom-up, as the RFC's recursion does.
        lo, hi, m, complete = 0, self.size, old_size, True
        upper: list[bytes] = []
        while m != hi - lo:
            k = 1 << ((hi - lo - 1).bit_length() - 1)  # largest power of two below hi - lo
            if m <= k:
                upper.append(self._subtree(lo + k, hi))
                hi = lo + k
            else:
                upper.append(self._subtree(lo, lo + k))
                lo, m, complete = lo + k, m - k, False
        proof = [] if complete else [self._subtree(lo, hi)]
        proof.extend(reversed(upper))
        return proof


def inclusion_proof(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """Return the audit path of leaf ``index`` in the tree of ``leaves``, leaf side first."""
    return MerkleTree(leaves).inclusion_proof(index)


def consistency_proof(old_size: int, leaves: Sequence[bytes]) -> list[bytes]:
    """Return the proof that the first ``old_size`` leaves are a prefix of ``leaves``."""
    return MerkleTree(leaves).consistency_proof(old_size)


def verify_inclusion(
    leaf: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Check that ``leaf`` is at ``index`` of the tree with ``root`` (RFC 9162 section 2.1.3.2)."""
    if not 0 <= index < tree_size or len(root) != HASH_SIZE:
        return False
    if any(len(p) != HASH_SIZE for p in proof):
        return False
    fn, sn = index, tree_size - 1
    r = leaf_hash(leaf)
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Check that the tree of ``old_size`` and ``old_root`` is a prefix of ``new_root``'s tree.

    Follows RFC 9162 section 2.1.4.2; the trivial cases (equal sizes, empty old tree) need an empty
    proof and matching roots.
    """
    if not 0 <= old_size <= new_size:
        return False
    if len(old_root) != HASH_SIZE or len(new_root) != HASH_SIZE:
        return False
    if any(len(p) != HASH_SIZE for p in proof):
        return False
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT
    if old_size == new_size:
        return not proof and old_root == new_root
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is a node of the new tree
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


class MerkleAccumulator:
    """Streaming Merkle tree: append leaves one by one, read the root at any size.

    Keeps only the roots of the perfect subtrees that make up the tree so far (at most
    log2(size) + 1 hashes), so a verifier can check every checkpoint in one pass with constant
    memory.
    """

    __slots__ = ("_size", "_stack")

    def __init__(self) -> None:
        self._size = 0
        self._stack: list[bytes] = []

    @classmethod
    def restore(cls, size: int, stack: Sequence[bytes]) -> MerkleAccumulator:
        """Rebuild an accumulator from a stored ``size`` and ``stack`` (e.g. a database row)."""
        if len(stack) != bin(size).count("1"):
            raise ValueError("a frontier has one subtree root per 1 bit of the size")
        acc = cls()
        acc._size, acc._stack = size, list(stack)
        return acc

    @property
    def stack(self) -> list[bytes]:
        """Roots of the perfect subtrees, largest first: the state to store between appends."""
        return list(self._stack)

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return self._size

    def append(self, leaf: bytes) -> None:
        """Append one leaf (its data; it is hashed here)."""
        self.append_leaf_hash(_sha256(b"\x00" + leaf).digest())

    def append_leaf_hash(self, hashed: bytes) -> None:
        """Append one leaf already hashed with ``leaf_hash``."""
        n = self._size
        stack = self._stack
        # Each trailing 1 bit of the old size is a perfect subtree the new leaf completes.
        while n & 1:
            hashed = _sha256(b"\x01" + stack.pop() + hashed).digest()
            n >>= 1
        stack.append(hashed)
        self._size += 1

    def root(self) -> bytes:
        """Return the Merkle Tree Hash of the leaves appended so far."""
        if not self._stack:
            return EMPTY_ROOT
        stack = self._stack
        r = stack[-1]
        for node in reversed(stack[:-1]):
            r = _sha256(b"\x01" + node + r).digest()
        return r
