from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..inputs import QueryInteger
from ..jurisdictions.regions import normalise_region
from ..ledger.vocabulary import ACTIONS, METHODS, SUBJECT

DOCUMENT_REF = re.compile(r"^(privacy|terms|cookies|banner):([1-9][0-9]{0,8})$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Dates outside these are refused: day arithmetic near year 1 or 9999 overflows.
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(9998, 12, 31)
# A stats answer has one bucket per day: at most ten years of them.
MAX_STATS_DAYS = 3660


class Moment(fields.Field):
    """An ISO 8601 date (``2026-11-28``, a UTC day) or date-time with a zone
    (``2026-11-28T10:00:00Z``). ``end=True`` makes a bare date mean the end of that day, so
    ``to=2026-11-28`` includes the whole 28th."""

    def __init__(self, *, end: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.end = end

    def _deserialize(self, value, attr, data, **kwargs) -> datetime:
        if not isinstance(value, str):
            raise ValidationError("Give an ISO 8601 date or date-time.")
        try:
            if DATE.match(value):
                day = datetime.combine(date.fromisoformat(value), time(), tzinfo=UTC)
                moment = day + timedelta(days=1) if self.end else day
            else:
                moment = datetime.fromisoformat(value)
                if moment.tzinfo is None:
                    raise ValidationError("Give a time zone, e.g. 2026-11-28T10:00:00Z.")
                moment = moment.astimezone(UTC)
        except (ValueError, OverflowError):
            raise ValidationError("Not a date: use 2026-11-28 or 2026-11-28T10:00:00Z.") from None
        if not FIRST_DAY <= moment.date() <= LAST_DAY:
            raise ValidationError(f"Give a date between {FIRST_DAY} and {LAST_DAY}.")
        return moment


class DocumentRef(fields.String):
    """``privacy:3``: a document kind and version, as ``(kind, version)``."""

    def _deserialize(self, value, attr, data, **kwargs) -> tuple[str, int]:
        text = super()._deserialize(value, attr, data, **kwargs)
        match = DOCUMENT_REF.match(text)
        if not match:
            raise ValidationError("Use kind:version, e.g. privacy:3.")
        return match.group(1), int(match.group(2))


class RangeSchema(Schema):
    start = Moment(data_key="from", load_default=None)
    end = Moment(data_key="to", end=True, load_default=None)

    @validates_schema
    def check_range(self, data, **kwargs) -> None:
        if data.get("start") and data.get("end") and data["start"] >= data["end"]:
            raise ValidationError("'from' must be before 'to'.", "from")


class RegionFilter(fields.String):
    """``unknown``, or a country or subdivision code (a country includes its subdivisions)."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if text.lower() == "unknown":
            return "unknown"
        region = normalise_region(text)
        if region is None:
            raise ValidationError("Give an ISO 3166 country or subdivision, or 'unknown'.")
        return region


class RecordQuerySchema(RangeSchema):
    subject = fields.String(validate=validate.Regexp(SUBJECT), load_default=None)
    action = fields.String(validate=validate.OneOf(sorted(ACTIONS)), load_default=None)
    method = fields.String(validate=validate.OneOf(sorted(METHODS)), load_default=None)
    document = DocumentRef(load_default=None, metadata={"example": "privacy:3"})
    region = RegionFilter(load_default=None, metadata={"example": "US-CA"})
    cursor = fields.String(validate=validate.Length(1, 200), load_default=None)
    limit = QueryInteger(validate=validate.Range(1, 500), load_default=50)
    order = fields.String(validate=validate.OneOf(["asc", "desc"]), load_default="asc")


class ExportQuerySchema(RangeSchema):
    format = fields.String(
        validate=validate.OneOf(["ndjson", "csv", "iso27560"]), load_default="ndjson"
    )
    # Only for iso27560: the ndjson and csv exports are whole chain segments that verify.
    region = RegionFilter(load_default=None, metadata={"example": "FR"})

    @validates_schema
    def region_only_for_records(self, data, **_kwargs):
        if data.get("region") is not None and data.get("format") != "iso27560":
            raise ValidationError(
                "An ndjson or csv export is a whole stretch of the chain, so it verifies; "
                "filter by region with format=iso27560.",
                "region",
            )


class ProofQuerySchema(Schema):
    format = fields.String(validate=validate.OneOf(["json", "html"]), load_default=None)


class StatsQuerySchema(Schema):
    first_day = fields.Date(
        data_key="from", load_default=None, validate=validate.Range(FIRST_DAY, LAST_DAY)
    )
    last_day = fields.Date(
        data_key="to", load_default=None, validate=validate.Range(FIRST_DAY, LAST_DAY)
    )
    interval = fields.String(validate=validate.OneOf(["day"]), load_default="day")

    @validates_schema
    def check_span(self, data, **kwargs) -> None:
        first, last = data.get("first_day"), data.get("last_day")
        if first and last and (last - first).days > MAX_STATS_DAYS:
            raise ValidationError(f"Ask for at most {MAX_STATS_DAYS} days at a time.", "to")


class RecordSchema(Schema):
    id = fields.String(required=True)
    seq = fields.Integer(required=True)
    subject = fields.String(allow_none=True)
    action = fields.String(required=True)
    choices = fields.Dict(allow_none=True)
    documents = fields.Dict(required=True)
    method = fields.String(required=True)
    gpc = fields.Boolean(required=True)
    region = fields.String(allow_none=True, metadata={"description": "ISO 3166; null: unknown"})
    mode = fields.String(allow_none=True, metadata={"enum": ["opt-in", "opt-out", "notice"]})
    recorded_at = fields.String(required=True)
    redacted = fields.Boolean(required=True)
    redacted_at = fields.String(allow_none=True)


class RecordPageSchema(Schema):
    items = fields.List(fields.Nested(RecordSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class RecordVerificationSchema(Schema):
    receipt_valid = fields.Boolean(allow_none=True)
    entry_hash_ok = fields.Boolean(allow_none=True)
    in_checkpoint = fields.Boolean()
    checkpoint_tree_size = fields.Integer(allow_none=True)


class RecordDetailSchema(RecordSchema):
    entry_hash = fields.String()
    prev_hash = fields.String()
    kid = fields.String()
    receipt = fields.String(allow_none=True)
    verification = fields.Nested(RecordVerificationSchema)


class ErasureSchema(Schema):
    site = fields.String()
    subject = fields.String()
    erased_at = fields.String()
    records_redacted = fields.Integer()
    redacted_seqs = fields.List(fields.Integer())
    already_erased = fields.Boolean()


class SubjectRecordSchema(RecordSchema):
    receipt = fields.String()


class SubjectHistorySchema(Schema):
    site = fields.String()
    subject = fields.String()
    items = fields.List(fields.Nested(SubjectRecordSchema))


class BucketSchema(Schema):
    total = fields.Integer()
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    rates = fields.Dict(keys=fields.String(), values=fields.Float())


class DayBucketSchema(BucketSchema):
    date = fields.String()


class DocumentBucketSchema(BucketSchema):
    kind = fields.String()
    version = fields.Integer()


class RegionBucketSchema(BucketSchema):
    region = fields.String(metadata={"description": "ISO 3166 code, or 'unknown'"})


class StatsSchema(Schema):
    site = fields.String()
    interval = fields.String()
    totals = fields.Nested(BucketSchema)
    days = fields.List(fields.Nested(DayBucketSchema))
    documents = fields.List(fields.Nested(DocumentBucketSchema))
    regions = fields.List(fields.Nested(RegionBucketSchema))

    class Meta:
        include = {"from": fields.String(), "to": fields.String()}


class ProofBundleSchema(Schema):
    """The proof bundle, described loosely: its exact shape is in docs/auditing.md."""

    format = fields.String()
    site = fields.String()
    subject = fields.String()
    generated_at = fields.String()
    records = fields.List(fields.Dict())
    documents = fields.Dict()
    banner_revisions = fields.List(fields.Dict())
    checkpoint = fields.Dict()
    jwks = fields.Dict()
    verification = fields.Dict()
