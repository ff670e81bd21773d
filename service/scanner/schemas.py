from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..inputs import QueryInteger
from ..timeutil import UtcDateTime


class ScanQuerySchema(Schema):
    format = fields.String(load_default=None, validate=validate.OneOf(["json", "html"]))


class ScanListQuerySchema(Schema):
    limit = QueryInteger(load_default=50, validate=validate.Range(1, 200))
    before = QueryInteger(load_default=None, validate=validate.Range(1, 2**31 - 1))


class ScanSummarySchema(Schema):
    id = fields.Integer(required=True)
    site = fields.String(required=True, attribute="site_id")
    created_at = UtcDateTime(required=True)
    verdict = fields.String(required=True, metadata={"enum": ["clean", "warn", "fail"]})
    pages = fields.Integer(required=True)
    findings = fields.Integer(required=True)
    stopped = fields.String(allow_none=True)
    report_sha256 = fields.String(required=True)
    kid = fields.String(required=True)


class ScanListSchema(Schema):
    items = fields.List(fields.Nested(ScanSummarySchema), required=True)


class ScanDetailSchema(ScanSummarySchema):
    site = fields.String(required=True)
    jws = fields.String(
        required=True,
        metadata={"description": "Compact JWS (EdDSA, typ consentry-scan+jws) over the report"},
    )
    report = fields.Dict(
        required=True, metadata={"description": "The report document (docs/scanner.md)"}
    )
