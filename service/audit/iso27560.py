"""Consent records in the structure of ISO/IEC TS 27560:2023, with W3C DPV terms.

One JSON object per ledger entry, following the DPV guide to ISO/IEC TS 27560 (the
``dpv-27560:record`` profile): each field of the standard under the DPV (or Dublin Core) property
the guide maps it to. What a visitor was shown comes from the banner revision the entry names
(``banner_revisions``), so the controller, purposes and personal data are those of that moment,
not of today; an entry whose revision was never served by this service (an import, or a record
older than round 2) falls back to the site's current declarations and says so
(``consentry:declarationsFrom``). docs/compliance.md lists every field, and those the standard
wants that a consent platform cannot know.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

SCHEMA_VERSION = "https://w3id.org/dpv/schema/dpv-27560#record"
CONTEXT = {
    "dpv": "https://w3id.org/dpv#",
    "pd": "https://w3id.org/dpv/pd#",
    "loc": "https://w3id.org/dpv/loc#",
    "dct": "http://purl.org/dc/terms/",
    "consentry": "https://consentry.dev/ns#",
}
LEGAL_BASES = {
    "consent": "dpv:Consent",
    "legitimate_interest": "dpv:LegitimateInterest",
    "contract": "dpv:Contract",
    "legal_obligation": "dpv:LegalObligation",
    "vital_interest": "dpv:VitalInterest",
    "public_task": "dpv:PublicInterest",
}
NOTICE_TYPES = {"banner": "dpv:ConsentNotice"}  # the policies are dpv:PrivacyNotice
# How the visitor expressed the choice (27560 "event type", a DPV consent type).
CONSENT_TYPES = {
    "accept_all": "dpv:ExpressedConsent",
    "reject_all": "dpv:ExpressedConsent",
    "custom": "dpv:ExpressedConsent",
    "withdraw": "dpv:ExpressedConsent",
    "opt_in": "dpv:ExpressedConsent",
    "opt_out": "dpv:ExpressedConsent",
    "acknowledge": "dpv:ImpliedConsent",
}
UNKNOWN_FIELDS = (
    "storage locations",
    "processing locations",
    "geographic restrictions",
    "collection method beyond the banner",
    "codes of conduct",
    "impact assessment",
    "authority party",
)


def consent_status(action: str, mode: str | None, granted: bool) -> str:
    """27560 "event state" of one purpose, as a DPV consent status."""
    if granted:
        return "dpv:ConsentGiven"
    if action in ("withdraw", "opt_out"):
        return "dpv:ConsentWithdrawn"
    return "dpv:ConsentRefused"


def term_or_text(value: str, default_type: str) -> dict[str, Any]:
    """A declaration given as a DPV CURIE (``dpv:Marketing``, ``pd:Email``) or as plain text."""
    if value.split(":", 1)[0] in ("dpv", "pd", "loc") and " " not in value:
        return {"@type": value}
    return {"@type": default_type, "dct:description": value}


def purpose_entry(
    category: Mapping[str, Any], choices: Mapping[str, bool], action: str, mode: str | None
) -> dict[str, Any]:
    required = bool(category.get("required"))
    basis = category.get("legal_basis") or (None if required else "consent")
    purposes = category.get("purposes") or []
    consent_based = basis == "consent"
    return {
        "dct:identifier": category["id"],
        "dct:title": category.get("title", ""),
        "dct:description": category.get("description", ""),
        "dpv:hasPurpose": [term_or_text(p, "dpv:Purpose") for p in purposes],
        "dpv:hasLegalBasis": LEGAL_BASES.get(basis) if basis else None,
        "dpv:hasPersonalData": [
            term_or_text(item, "dpv:PersonalData") for item in category.get("personal_data") or []
        ],
        "dpv:hasNecessity": "dpv:Required" if required else "dpv:Optional",
        "dpv:hasRecipient": [
            {"@type": "dpv:Recipient", "dpv:hasName": name}
            for name in category.get("recipients") or []
        ],
        "dpv:hasStorageCondition": {
            "@type": "dpv:StorageDuration",
            "dct:description": category.get("retention") or None,
        },
        "dpv:hasConsentStatus": (
            consent_status(action, mode, bool(choices.get(category["id"])))
            if consent_based
            else None
        ),
        "consentry:saleOrSharing": bool(category.get("sale_or_sharing")),
        "consentry:sensitive": bool(category.get("sensitive")),
        "consentry:cookies": [cookie.get("name") for cookie in category.get("cookies") or []],
    }


def controller_entry(controller: Mapping[str, Any]) -> dict[str, Any]:
    contacts = [value for value in (controller.get("email"), controller.get("contact")) if value]
    return {
        "@type": "dpv:DataController",
        "dpv:hasName": controller.get("name") or None,
        "dpv:hasAddress": controller.get("address") or None,
        "dpv:hasContact": contacts,
        "dpv:hasDataProtectionOfficer": (
            {"@type": "dpv:DataProtectionOfficer", "dpv:hasContact": controller["dpo"]}
            if controller.get("dpo")
            else None
        ),
    }


def notices(site_id: str, body: Mapping[str, Any], base_url: str) -> list[dict[str, Any]]:
    """The notices shown: the banner revision (its hash) and each document version named."""
    revision = body.get("revision")
    shown = []
    if revision:  # an erased entry keeps what was agreed, not the revision
        shown.append(
            {
                "@type": "dpv:ConsentNotice",
                "dct:identifier": f"{base_url}/api/v1/sites/{site_id}/banner#revision={revision}",
                "consentry:sha256": revision,
                "dct:hasVersion": None,
            }
        )
    for kind, ref in sorted(body["documents"].items()):
        shown.append(
            {
                "@type": NOTICE_TYPES.get(kind, "dpv:PrivacyNotice"),
                "dct:identifier": f"{base_url}/p/{site_id}/{kind}/v/{ref['version']}",
                "consentry:sha256": ref["sha256"],
                "dct:hasVersion": str(ref["version"]),
            }
        )
    return shown


def iso_record(
    site_id: str,
    entry: Mapping[str, Any],
    body: Mapping[str, Any],
    declared: Mapping[str, Any],
    base_url: str,
) -> dict[str, Any]:
    """One 27560 record. ``entry`` has the ledger columns (``id``, ``entry_hash``, ``receipt``,
    ``redacted``); ``body`` the signed body; ``declared`` the banner config shown (or the site's
    current declarations, with ``declarations_from`` saying which)."""
    region = body.get("region", declared.get("region"))
    mode = body.get("mode", declared.get("mode"))
    action = body["action"]
    choices = body.get("choices") or {}
    return {
        "@context": CONTEXT,
        "@type": "dpv:ConsentRecord",
        "dct:conformsTo": SCHEMA_VERSION,
        "dct:identifier": entry["id"],
        "consentry:receipt": {
            "dct:identifier": f"urn:sha256:{entry['entry_hash']}",
            "consentry:jws": entry.get("receipt"),
        },
        "dpv:hasDataSubject": {
            "@type": "dpv:DataSubject",
            "dct:identifier": body.get("subject"),
            "consentry:pseudonymous": True,
        },
        "dpv:hasNotice": notices(site_id, body, base_url),
        "dct:language": body.get("locale"),
        "dpv:hasDataController": controller_entry(declared.get("controller") or {}),
        "dpv:hasJurisdiction": f"loc:{region}" if region else None,
        "consentry:mode": mode,
        "consentry:processing": [
            purpose_entry(category, choices, action, mode)
            for category in declared.get("categories") or []
        ],
        "dpv:hasConsentControl": {
            "@type": "dpv:WithdrawConsent",
            "dct:description": (
                "Open the cookie settings from the site's footer link (or call "
                "Consentry.withdraw()) and refuse; the receipt page links them."
            ),
            "dct:identifier": f"{base_url}/r/{site_id}/{entry['id']}",
        },
        "dpv:hasEvent": [
            {
                "dct:date": body["recorded_at"],
                "dct:valid": f"P{declared.get('consent_lifetime_days', 180)}D",
                "dpv:isImplementedByEntity": "dpv:DataSubject",
                "dpv:hasConsentType": CONSENT_TYPES.get(action, "dpv:ExpressedConsent"),
                "consentry:action": action,
                "consentry:method": body.get("method"),
                "consentry:gpc": bool(body.get("gpc")),
            }
        ],
        "consentry:declarationsFrom": declared.get("declarations_from", "banner_revision"),
        "consentry:redacted": bool(entry.get("redacted")),
    }


def iso_lines(records: Iterable[dict[str, Any]]) -> Iterator[str]:
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    batch: list[str] = []
    for record in records:
        batch.append(dumps(record))
        if len(batch) == 500:
            yield "\n".join(batch) + "\n"
            batch.clear()
    if batch:
        yield "\n".join(batch) + "\n"
