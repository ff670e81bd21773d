"""The consent ledger: canonical JSON, hash chain, RFC 6962 Merkle tree, checkpoints, verification.

Pure Python on purpose (no Flask, no SQLAlchemy) so that anyone can verify an exported ledger
with this package alone.
"""
