from __future__ import annotations

from marshmallow import Schema, fields


class FindingSchema(Schema):
    id = fields.String(required=True)
    severity = fields.String(required=True, metadata={"enum": ["error", "warning"]})
    message = fields.String(required=True)
    citation = fields.String(required=True)


class ComplianceReportSchema(Schema):
    site = fields.String(required=True)
    ok = fields.Boolean(required=True, metadata={"description": "True when no rule fails."})
    rules = fields.List(fields.Nested(FindingSchema), required=True)
