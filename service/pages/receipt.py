"""The visitor's receipt page: one consent, in plain language, with its signature checked.

Kantara's Consent Receipt asks for a human-readable form of what was agreed; ISO/IEC TS 27560
calls it a receipt. The page is only for the visitor: it needs their subject token (issued with
their first receipt) and shows nothing of anyone else.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request

from ..audit.query import subject_from_token
from ..consents.service import get_record, verify_receipt
from ..crypto.jws import attach_signature
from ..errors import DomainError, NotFound
from ..jurisdictions.regions import region_name
from ..jurisdictions.revisions import revision_configs
from ..ledger.chain import entry_hash
from ..sites.service import get_site
from ..timeutil import as_utc

ACTIONS = {
    "accept_all": "You accepted all cookies and similar technologies.",
    "reject_all": "You refused every optional cookie; only the strictly necessary ones are used.",
    "custom": "You chose which kinds of cookies to allow.",
    "withdraw": "You withdrew your consent to every optional cookie.",
    "acknowledge": "You acknowledged the notice and the policies listed below.",
    "opt_out": "You opted out of the sale and sharing of your personal information.",
    "opt_in": "You allowed the sale and sharing of your personal information again.",
}
METHODS = {
    "banner": "on the cookie banner",
    "preferences": "in the cookie settings",
    "gpc": "by your browser's Global Privacy Control signal",
    "api": "through the site's own systems",
    "placeholder": "on a blocked element's placeholder",
}
MODES = {
    "opt-in": "optional cookies wait for your consent",
    "opt-out": "you may opt out of the sale and sharing of your personal information",
    "notice": "the site informs you and asks you to acknowledge",
}
LEGAL_BASES = {
    "consent": "your consent",
    "legitimate_interest": "the site's legitimate interest",
    "contract": "a contract with you",
    "legal_obligation": "a legal obligation",
    "vital_interest": "someone's vital interest",
    "public_task": "a task in the public interest",
}
KIND_TITLES = {
    "privacy": "Privacy policy",
    "terms": "Terms of use",
    "cookies": "Cookie policy",
    "banner": "Banner text",
}


class RecordErased(DomainError, status=410, code="erased"): ...


@dataclass(frozen=True)
class Signature:
    valid: bool
    kid: str | None
    reason: str | None
    entry_hash: str
    matches_ledger: bool


def receipt_view(site_id: str, record_id: str, token: str | None) -> dict[str, Any]:
    """Everything the page shows; 401 without a valid token for the site, 404 for a record of
    another subject (as for one that does not exist), 410 once erased."""
    subject = subject_from_token(site_id, token)
    site = get_site(site_id)
    try:
        record = get_record(site_id, record_id)
    except NotFound:
        raise NotFound("No such consent record for you on this site.") from None
    if record.body is None:
        raise RecordErased("This record was erased at your request or at the end of its retention.")
    if record.subject != subject:
        raise NotFound("No such consent record for you on this site.")
    body = json.loads(record.body)
    declared = revision_configs(site_id, [body["revision"]]).get(body["revision"])
    categories = (declared or {}).get("categories") or site.categories
    controller = (declared or {}).get("controller") or site.controller
    return {
        "site": site,
        "record": record,
        "body": body,
        "summary": ACTIONS.get(body["action"], body["action"]),
        "method": METHODS.get(body["method"], body["method"]),
        "region": body.get("region"),
        "region_name": region_name(body["region"]) if body.get("region") else None,
        "mode": MODES.get(body.get("mode") or ""),
        "categories": [category_view(c, body["choices"]) for c in categories],
        "controller": controller,
        "documents": [
            {"kind": kind, "title": KIND_TITLES.get(kind, kind), **ref}
            for kind, ref in sorted(body["documents"].items())
        ],
        "declarations_shown": declared is not None,
        "signature": check_signature(record),
        "receipt": attach_signature(record.body, record.kid, record.signature),
    }


def category_view(category: dict[str, Any], choices: dict[str, bool]) -> dict[str, Any]:
    basis = category.get("legal_basis") or (None if category.get("required") else "consent")
    return {
        "title": category.get("title") or category["id"],
        "description": category.get("description") or "",
        "allowed": bool(choices.get(category["id"])) or bool(category.get("required")),
        "required": bool(category.get("required")),
        "purposes": [plain(p) for p in category.get("purposes") or []],
        "personal_data": [plain(p) for p in category.get("personal_data") or []],
        "retention": category.get("retention") or "",
        "recipients": category.get("recipients") or [],
        "legal_basis": LEGAL_BASES.get(basis) if basis else None,
    }


def plain(declaration: str) -> str:
    """A DPV term in words (``dpv:ServiceUsageAnalytics``: "Service usage analytics"); plain
    text as it is."""
    prefix, _, term = declaration.partition(":")
    if prefix not in ("dpv", "pd") or not term or " " in term:
        return declaration
    words = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", term)
    text = " ".join(word if word.isupper() else word.lower() for word in words)
    return text[:1].upper() + text[1:]


def check_signature(record: Any) -> Signature:
    """The receipt verified with the service's published keys, and the body against the
    ledger's hash of it."""
    result = verify_receipt(attach_signature(record.body, record.kid, record.signature))
    return Signature(
        valid=bool(result["valid"]),
        kid=result["kid"],
        reason=result["reason"],
        entry_hash=record.entry_hash,
        matches_ledger=entry_hash(record.body) == record.entry_hash,
    )


bp = Blueprint("receipt_pages", __name__, url_prefix="/r", template_folder="templates")

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)


@bp.get("/<site>/<record_id>")
def receipt_page(site: str, record_id: str) -> Response:
    """One consent of the token's holder, in plain language, with its signature verified. The
    token (the ``subject_token`` of the consent answer) comes as ``?token=`` or as a Bearer
    ``Authorization`` header."""
    token = request.args.get("token") or bearer_token()
    view = receipt_view(site, record_id, token)
    html = render_template(
        "receipt/page.html",
        **view,
        when=f"{as_utc(view['record'].recorded_at):%-d %B %Y, %H:%M:%S}",
        has_verify_page="verify.verify_page" in current_app.view_functions,
    )
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    # The token is in the URL: never send it on, never keep the page in a shared cache.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() or None if header.startswith("Bearer ") else None
