"""A subject's proof bundle: every record with its receipt and inclusion proof against a signed
checkpoint, the documents it names, and the keys: verifiable offline (``offline.py``)."""

from __future__ import annotations

import json
from typing import Any

from ..activity.service import record
from ..consents.service import cut_checkpoint, latest_checkpoint, signed
from ..crypto.jws import attach_signature
from ..errors import NotFound
from ..extensions import db
from ..jurisdictions.revisions import revision_configs
from ..ledger.merkle import MerkleTree
from ..signing import keyring
from ..sites.service import get_site
from ..timeutil import isoformat, utcnow
from .erasure import subject_hmac
from .query import record_view, subject_records

BUNDLE_FORMAT = "consentry-proof-bundle/v1"


def proof_bundle(site_id: str, subject: str) -> dict[str, Any]:
    """Everything needed to prove a subject's consent history, checkable offline with the JWKS
    inside (see :mod:`service.audit.offline`)."""
    from ..consents.service import leaf_hashes
    from ..documents.models import DocumentVersion
    from .offline import verify_bundle

    get_site(site_id)
    rows = subject_records(site_id, subject)
    if not rows:
        raise NotFound("No consent records for this subject (never seen, or erased).")
    checkpoint = latest_checkpoint(site_id)
    if checkpoint is None or checkpoint.tree_size < rows[-1].seq:
        checkpoint = cut_checkpoint(site_id)
    # One tree for the whole bundle: its levels answer every record's proof.
    tree = MerkleTree(leaf_hashes(site_id, checkpoint.tree_size))
    records = []
    refs: set[tuple[str, int]] = set()
    revisions: dict[str, list[int]] = {}
    for row in rows:
        body = json.loads(row.body)
        refs.update((kind, ref["version"]) for kind, ref in body["documents"].items())
        revisions.setdefault(body["revision"], []).append(row.seq)
        records.append(
            {
                **record_view(row),
                "entry_hash": row.entry_hash,
                "prev_hash": row.prev_hash,
                "kid": row.kid,
                "revision": body["revision"],
                "locale": body["locale"],
                "body": row.body.decode("utf-8"),
                "receipt": attach_signature(row.body, row.kid, row.signature),
                "inclusion_proof": {
                    "leaf_index": row.seq - 1,
                    "tree_size": checkpoint.tree_size,
                    "path": [node.hex() for node in tree.inclusion_proof(row.seq - 1)],
                },
            }
        )
    documents: dict[str, Any] = {}
    for kind, version in sorted(refs):
        doc = db.session.execute(
            db.select(DocumentVersion).where(
                DocumentVersion.site_id == site_id,
                DocumentVersion.kind == kind,
                DocumentVersion.version == version,
            )
        ).scalar_one_or_none()
        documents[f"{kind}:{version}"] = (
            None
            if doc is None
            else {
                "kind": kind,
                "version": version,
                "sha256": doc.content_sha256,
                "material": doc.material,
                "summary": doc.summary,
                "effective_at": isoformat(doc.effective_at) if doc.effective_at else None,
                "published_at": isoformat(doc.published_at) if doc.published_at else None,
                "texts": doc.texts,
            }
        )
    shown = revision_configs(site_id, revisions)
    bundle: dict[str, Any] = {
        "format": BUNDLE_FORMAT,
        "site": site_id,
        "subject": subject,
        "generated_at": isoformat(utcnow()),
        "records": records,
        "documents": documents,
        # What each banner revision showed (controller, categories with their purposes, personal
        # data, retention, recipients and legal basis, region and mode), when this service
        # served it: sha256 of the config without "revision" is the revision.
        "banner_revisions": [
            {"revision": revision, "seqs": seqs, "config": shown.get(revision)}
            for revision, seqs in revisions.items()
        ],
        "checkpoint": signed(checkpoint).to_dict(),
        "jwks": keyring().jwks(),
    }
    # The server runs the same offline check a regulator would run on the saved file.
    bundle["verification"] = verify_bundle(bundle).to_dict()
    digest = subject_hmac(site_id, subject)
    record("proof.made", f"subject:{digest}", site=site_id, details={"records": len(records)})
    return bundle
