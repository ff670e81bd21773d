from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..inputs import MAX_DATABASE_INT, QueryInteger
from ..sites.schemas import LOCALE, ControllerSchema, ThemeSchema
from ..timeutil import UtcDateTime
from .locales import DEFAULT_BANNER_TEXTS, LABEL_KEYS, MAX_LOCALE_LENGTH


class LocaleTextSchema(Schema):
    title = fields.String(required=True, validate=validate.Length(1, 300))
    body = fields.String(required=True, validate=validate.Length(min=1))
    # Banner only: overrides of the built-in button labels for this locale.
    labels = fields.Dict(
        keys=fields.String(validate=validate.OneOf(LABEL_KEYS)),
        values=fields.String(validate=validate.Length(1, 300)),
    )


def _texts_field(**kwargs) -> fields.Dict:
    return fields.Dict(
        keys=fields.String(
            validate=[validate.Length(2, MAX_LOCALE_LENGTH), validate.Regexp(LOCALE)]
        ),
        values=fields.Nested(LocaleTextSchema),
        validate=validate.Length(1, 50),
        # What the validators say, for the OpenAPI document (apispec states neither).
        metadata={
            "minProperties": 1,
            "maxProperties": 50,
            "propertyNames": {
                "minLength": 2,
                "maxLength": MAX_LOCALE_LENGTH,
                "pattern": LOCALE.pattern,
            },
        },
        **kwargs,
    )


class DraftCreateSchema(Schema):
    texts = _texts_field(required=True)
    # The fallback locale of this version; default: the site's default locale.
    default_locale = fields.String(validate=validate.Regexp(LOCALE))


class DraftUpdateSchema(Schema):
    texts = _texts_field()
    default_locale = fields.String(validate=validate.Regexp(LOCALE))


class PublishSchema(Schema):
    # True: visitors who agreed to an earlier version must agree again.
    material = fields.Boolean(load_default=False)
    summary = fields.String(load_default="", validate=validate.Length(max=1000))
    # Default: now. A future date schedules the version; it becomes current at that moment.
    effective_at = UtcDateTime(load_default=None, default_timezone=None)


class LocaleQuerySchema(Schema):
    locale = fields.String(
        validate=[validate.Length(max=MAX_LOCALE_LENGTH), validate.Regexp(LOCALE)]
    )


class DiffQuerySchema(LocaleQuerySchema):
    against = QueryInteger(validate=validate.Range(1, MAX_DATABASE_INT))


class VersionSummarySchema(Schema):
    """A version without its texts (listings)."""

    kind = fields.String(attribute="document.kind")
    version = fields.Integer(attribute="document.version")
    status = fields.String()
    current = fields.Boolean()
    content_sha256 = fields.String(attribute="document.content_sha256")
    material = fields.Boolean(attribute="document.material")
    summary = fields.String(attribute="document.summary")
    default_locale = fields.String(attribute="document.default_locale")
    locales = fields.Function(lambda state: sorted(state.document.texts))
    effective_at = UtcDateTime(attribute="document.effective_at")
    published_at = UtcDateTime(attribute="document.published_at")


class VersionListSchema(Schema):
    items = fields.List(fields.Nested(VersionSummarySchema), required=True)


class VersionSchema(VersionSummarySchema):
    """A version with all its texts (Markdown sources) and, in the best matching locale, its
    title, body and sanitised HTML."""

    texts = fields.Dict(attribute="document.texts")
    created_at = UtcDateTime(attribute="document.created_at")
    updated_at = UtcDateTime(attribute="document.updated_at")
    locale = fields.String()
    title = fields.String()
    body = fields.String()
    html = fields.String()
    url = fields.String()


class ChangeSchema(Schema):
    op = fields.String(validate=validate.OneOf(["added", "removed", "changed"]))
    before = fields.List(fields.String())
    after = fields.List(fields.String())


class BeforeAfterSchema(Schema):
    before = fields.String()
    after = fields.String()


class DiffSchema(Schema):
    site = fields.String()
    kind = fields.String()
    from_version = fields.Integer()
    to_version = fields.Integer()
    locale = fields.String()
    title = fields.Nested(BeforeAfterSchema)
    changes = fields.List(fields.Nested(ChangeSchema))
    html = fields.String()


# Every built-in text key, taken from the texts themselves so the documented answer cannot lag.
# The labels, and "acknowledge": the label of a notice's one button (banner.py, per mode).
BannerTextsSchema = Schema.from_dict(
    {key: fields.String() for key in (*DEFAULT_BANNER_TEXTS["en"], "acknowledge")},
    name="BannerTextsSchema",
)


class BannerCookieSchema(Schema):
    name = fields.String()
    provider = fields.String()
    duration = fields.String()
    purpose = fields.String()


class BannerCategorySchema(Schema):
    id = fields.String()
    title = fields.String()
    description = fields.String()
    required = fields.Boolean()
    sale_or_sharing = fields.Boolean()
    sensitive = fields.Boolean()
    preselected = fields.Boolean()
    cookies = fields.List(fields.Nested(BannerCookieSchema))
    purposes = fields.List(fields.String())
    personal_data = fields.List(fields.String())
    retention = fields.String()
    recipients = fields.List(fields.String())
    legal_basis = fields.String(allow_none=True)


class BannerDocumentSchema(Schema):
    kind = fields.String()
    version = fields.Integer()
    sha256 = fields.String()
    title = fields.String()
    url = fields.String()
    material = fields.Boolean()
    last_material_version = fields.Integer()
    summary = fields.String()
    published_at = fields.String()
    effective_at = fields.String()
    diff_url = fields.String(allow_none=True)


class DocumentRefSchema(Schema):
    """A pointer to one exact published text: what a consent names and the banner shows."""

    version = fields.Integer(required=True, strict=True, validate=validate.Range(1, 1_000_000))
    sha256 = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))


class BannerConfigSchema(Schema):
    """The banner config (docs/widget-protocol.md); served pre-serialised from a cache."""

    site = fields.String()
    mode = fields.String()
    locale = fields.String()
    dir = fields.String()
    texts = fields.Nested(BannerTextsSchema)
    categories = fields.List(fields.Nested(BannerCategorySchema))
    documents = fields.List(fields.Nested(BannerDocumentSchema))
    banner_document = fields.Nested(DocumentRefSchema, allow_none=True)
    gpc = fields.Dict()
    consent_mode = fields.Dict()
    consent_lifetime_days = fields.Integer()
    revision = fields.String()
    region = fields.String(allow_none=True)
    first_layer = fields.List(fields.String())
    controller = fields.Nested(ControllerSchema, allow_none=True)
    theme = fields.Nested(ThemeSchema)
    cookie_domain = fields.String(allow_none=True)
    receipt_url = fields.String(allow_none=True)
