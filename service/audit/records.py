"""The ISO/IEC TS 27560 export: ledger entries with what their banner revision declared."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ..crypto.jws import attach_signature
from ..jurisdictions.revisions import revision_configs
from ..sites.service import get_site
from .export import ExportPlan, _json, _timestamp, export_rows
from .iso27560 import iso_lines, iso_record


def current_declarations(site_id: str) -> dict[str, Any]:
    site = get_site(site_id)
    return {
        "controller": site.controller,
        "categories": site.categories,
        "consent_lifetime_days": site.consent_lifetime_days,
        "declarations_from": "site_settings_at_export",
    }


def entry_body(row: Any) -> dict[str, Any]:
    """The signed body, or for an erased entry what the columns keep (nothing personal)."""
    if row.body is not None:
        return json.loads(row.body)
    return {
        "subject": None,
        "action": row.action,
        "method": row.method,
        "gpc": row.gpc,
        "choices": _json(row.choices),
        "documents": _json(row.documents),
        "recorded_at": _timestamp(row.recorded_at),
        "region": row.region,
    }


def in_region(recorded: str | None, wanted: str | None) -> bool:
    """Whether an entry's region is ``wanted`` (a country includes its subdivisions)."""
    if wanted is None:
        return True
    if wanted == "unknown":
        return recorded is None
    return recorded is not None and (recorded == wanted or recorded.startswith(wanted + "-"))


def iso_records(
    plan: ExportPlan, base_url: str, region: str | None = None
) -> Iterator[dict[str, Any]]:
    fallback: dict[str, Any] | None = None
    known: dict[str, dict[str, Any] | None] = {}
    for row in export_rows(plan):
        if not in_region(row.region, region):
            continue
        body = entry_body(row)
        revision = body.get("revision")
        if revision is not None and revision not in known:
            known[revision] = revision_configs(plan.site_id, [revision]).get(revision)
        declared = known.get(revision) if revision else None
        if declared is None:
            fallback = fallback or current_declarations(plan.site_id)
            declared = fallback
        entry = {
            "id": row.id,
            "entry_hash": row.entry_hash,
            "redacted": row.body is None,
            "receipt": (
                attach_signature(row.body, row.kid, row.signature) if row.body is not None else None
            ),
        }
        yield iso_record(plan.site_id, entry, body, declared, base_url)


def export_iso27560(plan: ExportPlan, base_url: str, region: str | None = None) -> Iterator[str]:
    """One ISO/IEC TS 27560 record (JSON) per line, in seq order; only ``region``'s if given."""
    return iso_lines(iso_records(plan, base_url, region))
