"""Merkle tree tests against the published RFC 6962 vectors of transparency-dev/merkle
(testonly/constants.go, proof/verify_test.go), plus property tests."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.ledger.merkle import (
    EMPTY_ROOT,
    MerkleAccumulator,
    MerkleTree,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    merkle_root,
    verify_consistency,
    verify_inclusion,
)

LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
# ROOTS[n] is the root of the tree of the first n leaves.
ROOTS = [
    bytes.fromhex(h)
    for h in (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    )
]
LEAF_HASHES = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
    "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
    "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
]
# (leaf index, tree size, audit path)
INCLUSION_VECTORS = [
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (0, 1, []),
]
# (old size, new size, proof)
CONSISTENCY_VECTORS = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]


def _hexes(hashes):
    return [h.hex() for h in hashes]


def _leaves(n):
    return [hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(n)]


def test_empty_tree_hashes_to_sha256_of_nothing():
    assert merkle_root([]) == EMPTY_ROOT == ROOTS[0]


@pytest.mark.parametrize("index", range(8))
def test_leaf_hash_matches_published_vector(index):
    assert leaf_hash(LEAVES[index]).hex() == LEAF_HASHES[index]


@pytest.mark.parametrize("size", range(9))
def test_root_matches_published_vector(size):
    assert merkle_root(LEAVES[:size]) == ROOTS[size]


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION_VECTORS)
def test_inclusion_proof_matches_published_vector(index, size, path):
    proof = inclusion_proof(index, LEAVES[:size])
    assert _hexes(proof) == path
    assert verify_inclusion(LEAVES[index], index, size, proof, ROOTS[size])


@pytest.mark.parametrize(("old", "new", "path"), CONSISTENCY_VECTORS)
def test_consistency_proof_matches_published_vector(old, new, path):
    proof = consistency_proof(old, LEAVES[:new])
    assert _hexes(proof) == path
    assert verify_consistency(old, new, ROOTS[old], ROOTS[new], proof)


def test_inclusion_proofs_verify_for_every_index_of_every_size_up_to_300():
    leaves = _leaves(300)
    for size in range(1, 301):
        tree = MerkleTree(leaves[:size])
        root = tree.root()
        assert root == merkle_root(leaves[:size])
        for index in range(size):
            proof = tree.inclusion_proof(index)
            assert verify_inclusion(leaves[index], index, size, proof, root), (index, size)


def test_consistency_proofs_verify_for_all_sizes_up_to_64():
    leaves = _leaves(64)
    roots = [merkle_root(leaves[:n]) for n in range(65)]
    for new in range(65):
        tree = MerkleTree(leaves[:new])
        for old in range(new + 1):
            proof = tree.consistency_proof(old)
            assert proof == consistency_proof(old, leaves[:new])
            assert verify_consistency(old, new, roots[old], roots[new], proof), (old, new)


def _flip(data: bytes, bit: int = 3) -> bytes:
    return bytes([data[0] ^ (1 << bit)]) + data[1:]


@given(st.integers(2, 200), st.data())
def test_tampered_inclusion_proof_or_leaf_fails(size, data):
    leaves = _leaves(size)
    index = data.draw(st.integers(0, size - 1))
    root = merkle_root(leaves)
    proof = inclusion_proof(index, leaves)
    position = data.draw(st.integers(0, len(proof) - 1))
    bad_proof = list(proof)
    bad_proof[position] = _flip(bad_proof[position])
    assert not verify_inclusion(leaves[index], index, size, bad_proof, root)
    assert not verify_inclusion(_flip(leaves[index]), index, size, proof, root)
    assert not verify_inclusion(leaves[index], index, size, proof[:-1], root)
    assert not verify_inclusion(leaves[index], index, size, [*proof, root], root)
    assert not verify_inclusion(leaves[index], index, size * 2, proof, root)
    assert not verify_inclusion(leaves[index], index, size, proof, _flip(root))
    other = (index + 1) % size
    assert not verify_inclusion(leaves[index], other, size, proof, root)


@given(st.integers(1, 100), st.data())
def test_tampered_consistency_proof_fails(new, data):
    old = data.draw(st.integers(1, new))
    leaves = _leaves(new)
    old_root, new_root = merkle_root(leaves[:old]), merkle_root(leaves)
    proof = consistency_proof(old, leaves)
    if not proof:  # old == new: only identical roots are consistent
        assert not verify_consistency(old, new, old_root, _flip(new_root), proof)
        return
    position = data.draw(st.integers(0, len(proof) - 1))
    bad_proof = list(proof)
    bad_proof[position] = _flip(bad_proof[position], 4)
    assert not verify_consistency(old, new, old_root, new_root, bad_proof)
    assert not verify_consistency(old, new, old_root, new_root, proof[:-1])
    assert not verify_consistency(old, new, old_root, new_root, [*proof, old_root])
    assert not verify_consistency(old, new, old_root, new_root, [new_root, *proof])
    assert not verify_consistency(old, new, _flip(old_root), new_root, proof)
    assert not verify_consistency(old, new, old_root, _flip(new_root), proof)
    assert not verify_consistency(old, new, new_root, old_root, proof)
    assert not verify_consistency(old, new, old_root, new_root, [])


def test_consistency_from_empty_tree_needs_the_empty_root_and_no_proof():
    leaves = _leaves(5)
    root = merkle_root(leaves)
    assert verify_consistency(0, 5, EMPTY_ROOT, root, [])
    assert not verify_consistency(0, 5, root, root, [])
    assert not verify_consistency(0, 5, EMPTY_ROOT, root, [EMPTY_ROOT])


def test_shrinking_tree_is_never_consistent():
    leaves = _leaves(4)
    assert not verify_consistency(4, 3, merkle_root(leaves), merkle_root(leaves[:3]), [])


def test_proofs_outside_the_tree_are_refused():
    with pytest.raises(ProofError):
        inclusion_proof(3, _leaves(3))
    with pytest.raises(ProofError):
        consistency_proof(4, _leaves(3))
    assert not verify_inclusion(b"x", 0, 0, [], EMPTY_ROOT)


def test_accumulator_root_equals_merkle_root_at_every_size():
    leaves = _leaves(130)
    acc = MerkleAccumulator()
    assert acc.root() == EMPTY_ROOT
    for n, leaf in enumerate(leaves, start=1):
        acc.append(leaf)
        assert acc.size == n
        assert acc.root() == merkle_root(leaves[:n])
