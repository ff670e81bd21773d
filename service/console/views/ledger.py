"""The ledger: search (the API's filters and keyset cursor), one record with its decoded receipt,
verification and inclusion proof, proof bundles and exports, and erasure."""

from __future__ import annotations

import json
from base64 import urlsafe_b64decode

from flask import redirect, render_template, request, stream_with_context, url_for
from marshmallow import ValidationError

from ...audit import bundle as bundles
from ...audit import erasure as erasures
from ...audit import export as exports
from ...audit import query as queries
from ...audit.schemas import ExportQuerySchema, RecordQuerySchema
from ...consents.service import inclusion_proof
from ...errors import DomainError, Unprocessable
from ...ledger.merkle import verify_inclusion
from ...ledger.vocabulary import ACTIONS, METHODS
from ...sites.service import get_site
from .base import bp, download, page
from .forms import field_messages, problem_lines

record_query = RecordQuerySchema()
export_query = ExportQuerySchema()
FILTERS = ("subject", "action", "method", "document", "from", "to")


def load(schema, args) -> dict:
    """Query arguments through the API's schema; empty fields mean "any"."""
    try:
        return schema.load({k: v for k, v in args.items() if v != ""})
    except ValidationError as error:
        raise Unprocessable(
            "The search is not valid: "
            + "; ".join(field_messages(Unprocessable("", {"fields": error.messages}))),
        ) from None


@bp.route("/sites/<site>/ledger")
@page("audit:read")
def ledger(site: str):
    get_site(site)
    args = {k: request.args.get(k, "") for k in (*FILTERS, "cursor")}
    query = load(record_query, {**args, "order": "desc", "limit": "50"})
    result = queries.query_records(site, **query)
    return render_template(
        "console/ledger.html",
        site=site,
        result=result,
        args=args,
        range_args={k: args[k] for k in ("from", "to") if args[k]},
        actions=sorted(ACTIONS),
        methods=sorted(METHODS),
    )


@bp.route("/sites/<site>/ledger/records/<record_id>")
@page("audit:read")
def ledger_record(site: str, record_id: str):
    detail = queries.record_detail(site, record_id)
    proof = inclusion_proof(site, record_id)
    checkpoint = proof["checkpoint"]
    included = verify_inclusion(
        bytes.fromhex(proof["entry_hash"]),
        proof["leaf_index"],
        checkpoint["tree_size"],
        [bytes.fromhex(node) for node in proof["inclusion_proof"]],
        bytes.fromhex(checkpoint["root_hash"]),
    )
    body = None
    if detail["receipt"]:
        payload = detail["receipt"].split(".")[1]
        body = json.loads(urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return render_template(
        "console/record.html",
        site=site,
        detail=detail,
        body=json.dumps(body, indent=2, ensure_ascii=False) if body else None,
        proof=proof,
        included=included,
    )


def subject_arg() -> str:
    subject = (request.args.get("subject") or "").strip()
    if not subject:
        raise Unprocessable("Give the subject whose proof bundle you want.")
    load(record_query, {"subject": subject})
    return subject


@bp.route("/sites/<site>/ledger/proof.json")
@page("audit:read")
def proof_json(site: str):
    bundle = bundles.proof_bundle(site, subject_arg())
    body = json.dumps(bundle, indent=2, ensure_ascii=False)
    return download(body, "application/json", f"{site}-proof-bundle.json")


@bp.route("/sites/<site>/ledger/proof.html")
@page("audit:read")
def proof_html(site: str):
    """The printable bundle, as a download (a file to keep and send, opened outside the console)."""
    bundle = bundles.proof_bundle(site, subject_arg())
    body = render_template("audit/proof.html", bundle=bundle)
    return download(body, "text/html", f"{site}-proof-bundle.html")


@bp.route("/sites/<site>/ledger/export")
@page("audit:read")
def ledger_export(site: str):
    query = load(export_query, request.args.to_dict())
    plan = exports.plan_export(site, query["start"], query["end"])
    fmt = query["format"]
    lines = exports.export_ndjson(plan) if fmt == "ndjson" else exports.export_csv(plan)
    mimetype = "application/x-ndjson" if fmt == "ndjson" else "text/csv"
    name = f"{site}-ledger-{plan.first_seq}-{plan.last_seq}.{fmt}"
    return download(stream_with_context(lines), mimetype, name)


@bp.route("/sites/<site>/ledger/erase", methods=["GET", "POST"])
@page("sites:admin")
def erase(site: str):
    get_site(site)
    errors: list[str] = []
    form = request.form if request.method == "POST" else request.args
    subject = (form.get("subject") or "").strip()
    if request.method == "POST":
        reason = (request.form.get("reason") or "").strip()
        confirmation = (request.form.get("confirmation") or "").strip()
        if not subject:
            errors.append("Give the subject to erase.")
        elif confirmation != f"erase {subject}":
            errors.append(f"Type exactly: erase {subject}")
        if len(reason) < 3:
            errors.append("Give the reason for the erasure (for example, the request's reference).")
        if not errors:
            try:
                load(record_query, {"subject": subject})
                result = erasures.erase_subject(site, subject, reason)
            except DomainError as error:
                errors = problem_lines(error)
            else:
                return redirect(
                    url_for(
                        "console.erase",
                        site=site,
                        done=result["records_redacted"],
                        again=int(result["already_erased"]),
                    )
                )
    return render_template(
        "console/erase.html",
        site=site,
        subject=subject,
        errors=errors,
        done=request.args.get("done"),
        again=request.args.get("again") == "1",
    ), (422 if errors else 200)
