from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from marshmallow import Schema, ValidationError, fields, validate

from ..documents.schemas import DocumentRefSchema
from ..ledger.vocabulary import ACTIONS, DOCUMENT_KINDS, METHODS, SUBJECT
from ..sites.schemas import LOCALE, SLUG

HEX64 = re.compile(r"^[0-9a-f]{64}$")


class StrictBoolean(fields.Boolean):
    """JSON true/false only: "yes", 1 or "on" are refused, not guessed."""

    def _deserialize(self, value, attr, data, **kwargs):
        if type(value) is not bool:
            raise self.make_error("invalid", input=value)
        return value


class PageField(fields.String):
    """A page URL reduced to origin + path: the query string and fragment never reach the ledger
    (they often carry personal data: emails, tokens, search terms)."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            parts = urlsplit(text)
        except ValueError as error:
            raise ValidationError("Not a URL.") from error
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValidationError("Give an http(s) URL.")
        netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
        return urlunsplit((parts.scheme, netloc, parts.path or "/", "", ""))


class DocumentRefs(fields.Dict):
    """``{kind: {"version", "sha256"}}``: documented as the nested schema it is, checked in one
    pass. Every consent names four documents, and a nested schema load per document cost as much
    as the rest of the event's validation."""

    def __init__(self, **kwargs) -> None:
        super().__init__(
            keys=fields.String(validate=validate.OneOf(DOCUMENT_KINDS)),
            values=fields.Nested(DocumentRefSchema),
            **kwargs,
        )

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise self.make_error("invalid")
        refs, errors = {}, {}
        for kind, ref in value.items():
            problems = document_ref_problems(kind, ref)
            if problems:
                errors[kind] = problems
            else:
                refs[kind] = {"version": ref["version"], "sha256": ref["sha256"]}
        if errors:
            raise ValidationError(errors)
        return refs


def document_ref_problems(kind: object, ref: object) -> dict[str, list[str]]:
    """What is wrong with one ``documents`` entry, by field (empty when nothing is)."""
    if kind not in DOCUMENT_KINDS:
        return {"key": [f"Must be one of: {', '.join(DOCUMENT_KINDS)}."]}
    if not isinstance(ref, dict):
        return {"value": ["Give an object with version and sha256."]}
    problems = {name: ["Unknown field."] for name in ref if name not in ("version", "sha256")}
    version, sha256 = ref.get("version"), ref.get("sha256")
    if type(version) is not int or not 1 <= version <= 1_000_000:
        problems["version"] = ["Give the version number (an integer from 1)."]
    if not isinstance(sha256, str) or not HEX64.match(sha256):
        problems["sha256"] = ["Give the text's SHA-256 (64 lowercase hex digits)."]
    return problems


class ConsentEventSchema(Schema):
    """What the widget (or a site's server) sends for one consent event."""

    subject = fields.String(required=True, validate=validate.Regexp(SUBJECT))
    client_event_id = fields.UUID(required=True)
    action = fields.String(required=True, validate=validate.OneOf(sorted(ACTIONS)))
    choices = fields.Dict(
        keys=fields.String(validate=validate.Regexp(SLUG)),
        values=StrictBoolean(),
        required=True,
        validate=validate.Length(max=50),
    )
    documents = DocumentRefs(required=True)
    revision = fields.String(required=True, validate=validate.Length(1, 128))
    method = fields.String(required=True, validate=validate.OneOf(sorted(METHODS)))
    gpc = StrictBoolean(load_default=False)
    # Every entry names its locale (the ledger requires it); "en" when the client sends none,
    # as the bulk path does.
    locale = fields.String(
        load_default="en",
        validate=[validate.Length(2, 35), validate.Regexp(LOCALE)],
    )
    page = PageField(load_default=None, allow_none=True, validate=validate.Length(max=2048))
    # A site's own user id: stored only as an HMAC with the site's pepper.
    user_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 256))
    # The subject's token (from the answer to its first consent): required to add to a subject
    # that has records. In the body, so a sendBeacon text/plain POST can carry it; never stored.
    subject_token = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(1, 1024)
    )


class ConsentReceiptSchema(Schema):
    id = fields.String(required=True)
    seq = fields.Integer(required=True)
    recorded_at = fields.String(required=True)
    receipt = fields.String(required=True)
    subject_token = fields.String(required=True)


class ReceiptVerifyRequestSchema(Schema):
    receipt = fields.String(required=True, validate=validate.Length(1, 65536))


class ReceiptVerifyResultSchema(Schema):
    valid = fields.Boolean(required=True)
    kid = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    consent = fields.Dict(allow_none=True)


class CheckpointSchema(Schema):
    site = fields.String(required=True)
    tree_size = fields.Integer(required=True)
    root_hash = fields.String(required=True)
    timestamp = fields.String(required=True)
    kid = fields.String(required=True)
    signature = fields.String(required=True)


class ProofSchema(Schema):
    id = fields.String(required=True)
    seq = fields.Integer(required=True)
    leaf_index = fields.Integer(required=True)
    entry_hash = fields.String(required=True)
    inclusion_proof = fields.List(fields.String(), required=True)
    checkpoint = fields.Nested(CheckpointSchema, required=True)


class ProblemSchema(Schema):
    seq = fields.Integer(required=True)
    code = fields.String(required=True)
    message = fields.String(required=True)


class ReceiptFindingSchema(Schema):
    index = fields.Integer(required=True, metadata={"description": "place in the list sent"})
    seq = fields.Integer(allow_none=True)
    status = fields.String(
        required=True,
        validate=validate.OneOf(["matches", "missing", "differs", "invalid", "other_site"]),
    )
    message = fields.String(required=True)


class VerificationSchema(Schema):
    ok = fields.Boolean(required=True)
    checked = fields.Integer(required=True)
    first_bad_seq = fields.Integer(allow_none=True)
    problems = fields.List(fields.Nested(ProblemSchema), required=True)
    problem_count = fields.Integer()
    redacted_seqs = fields.List(fields.Integer())
    checkpoints_checked = fields.Integer()
    tree_size = fields.Integer()
    root_hash = fields.String()
    erasures_checked = fields.Integer()
    receipts = fields.List(fields.Nested(ReceiptFindingSchema))


MAX_RECEIPTS = 10_000


class LedgerVerifyRequestSchema(Schema):
    receipts = fields.List(
        fields.String(validate=validate.Length(1, 65536)),
        load_default=list,
        validate=validate.Length(max=MAX_RECEIPTS),
        metadata={"description": "receipts (compact JWS) whose entries the ledger must hold"},
    )
    signatures = StrictBoolean(
        load_default=False, metadata={"description": "also check every entry's signature"}
    )
