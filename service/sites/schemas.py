from __future__ import annotations

import re

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    post_dump,
    pre_load,
    validate,
    validates_schema,
)

from ..jurisdictions.regions import MODES, valid_match
from ..ledger.vocabulary import POLICY_KINDS
from ..timeutil import UtcDateTime
from .models import FIRST_LAYER_BUTTONS
from .origins import OriginError, parse_allowed_origin

# A site or category id, as URLs carry it (the fast paths match request paths with it).
SLUG_PATTERN = r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?"
SLUG = re.compile(rf"^{SLUG_PATTERN}$")
LOCALE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
CONSENT_MODE_SIGNALS = (
    "ad_storage",
    "analytics_storage",
    "ad_user_data",
    "ad_personalization",
    "functionality_storage",
    "personalization_storage",
    "security_storage",
)


def normalise_origin(value: str) -> str:
    """``scheme://host[:port]`` in the form browsers send in ``Origin`` (IDNA host); wildcard
    only as ``scheme://*.example.com`` (one or more whole labels before example.com)."""
    try:
        return str(parse_allowed_origin(value))
    except OriginError as error:
        raise ValidationError(str(error)) from error


class OriginField(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        return normalise_origin(super()._deserialize(value, attr, data, **kwargs))


class CookieSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 200))
    provider = fields.String(load_default="", validate=validate.Length(max=200))
    duration = fields.String(load_default="", validate=validate.Length(max=100))
    purpose = fields.String(load_default="", validate=validate.Length(max=1000))


LEGAL_BASES = (
    "consent",
    "legitimate_interest",
    "contract",
    "legal_obligation",
    "vital_interest",
    "public_task",
)
SHORT_TEXT = validate.Length(1, 300)


def text_list(maximum: int = 50) -> fields.List:
    """Plain-language entries, or W3C DPV terms as CURIEs (``dpv:Marketing``, ``pd:Email``)."""
    return fields.List(
        fields.String(validate=SHORT_TEXT), load_default=list, validate=validate.Length(max=maximum)
    )


class CategorySchema(Schema):
    id = fields.String(required=True, validate=validate.Regexp(SLUG))
    title = fields.String(required=True, validate=validate.Length(1, 200))
    description = fields.String(load_default="", validate=validate.Length(max=2000))
    required = fields.Boolean(load_default=False)
    # Refused without a prompt when the visitor's browser sends Global Privacy Control.
    sale_or_sharing = fields.Boolean(load_default=False)
    # Uses sensitive personal information: opt-out regions offer "Limit the Use of ...".
    sensitive = fields.Boolean(load_default=False)
    # Ticked in advance in the preferences (opt-out and notice regions only: the linter refuses
    # it where consent is required).
    preselected = fields.Boolean(load_default=False)
    cookies = fields.List(
        fields.Nested(CookieSchema), load_default=list, validate=validate.Length(max=200)
    )
    # The standard records (ISO/IEC TS 27560, Kantara Consent Receipt): what it is for, which
    # personal data, how long, who receives it, on which legal basis.
    purposes = text_list()
    personal_data = text_list()
    retention = fields.String(load_default="", validate=validate.Length(max=200))
    recipients = text_list()
    legal_basis = fields.String(load_default=None, allow_none=True,
                                validate=validate.OneOf(LEGAL_BASES))  # fmt: skip

    @validates_schema
    def check_sensitive(self, data, **_kwargs):
        """A sensitive category is one the visitor may limit: a required one could not be."""
        if data.get("sensitive") and data.get("required"):
            raise ValidationError(
                "A required category cannot be sensitive: opt-out regions let the visitor limit"
                " the use of sensitive personal information, which a required category would not"
                " allow. Declare the sensitive processing in its own optional category.",
                "sensitive",
            )


def unique_items(values: list) -> None:
    if len(values) != len(set(values)):
        raise ValidationError("Each button at most once.")


class RegionCodeField(fields.String):
    """A region rule's code, upper-cased: EU, EEA, a country, a subdivision or ``*``."""

    def _deserialize(self, value, attr, data, **kwargs):
        code = super()._deserialize(value, attr, data, **kwargs).strip().upper()
        if len(code) > 6 or not valid_match(code):
            raise ValidationError(
                "Give EU, EEA, an ISO 3166-1 country (FR), an ISO 3166-2 subdivision (US-CA) or *."
            )
        return code


class RegionRuleSchema(Schema):
    match = RegionCodeField(required=True)
    mode = fields.String(required=True, validate=validate.OneOf(MODES))


class ControllerSchema(Schema):
    """Who decides what happens to the data (GDPR art. 13(1)(a)-(b); ISO/IEC TS 27560)."""

    name = fields.String(required=True, validate=validate.Length(1, 200))
    address = fields.String(load_default="", validate=validate.Length(max=500))
    email = fields.Email(load_default="", validate=validate.Length(max=254))
    contact = fields.String(load_default="", validate=validate.Length(max=500))
    dpo = fields.String(load_default="", validate=validate.Length(max=500))


class ConsentModeSchema(Schema):
    enabled = fields.Boolean(load_default=False)
    mapping = fields.Dict(
        keys=fields.String(validate=validate.OneOf(CONSENT_MODE_SIGNALS)),
        values=fields.List(fields.String(validate=validate.Regexp(SLUG))),
        load_default=dict,
    )


HEX_COLOUR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
DOMAIN = re.compile(r"^(?=.{1,253}$)(?:(?!-)[a-z0-9-]{1,63}(?<!-)\.)+[a-z][a-z0-9-]{0,62}$")


class ThemeSchema(Schema):
    """The banner's look. Colours as #rgb or #rrggbb (the widget sets them as CSS custom
    properties, so nothing else may get through); the logo must come from one of the site's
    allowed origins (checked with the site: sites.service.check_consistency)."""

    accent = fields.String(validate=validate.Regexp(HEX_COLOUR))
    text = fields.String(validate=validate.Regexp(HEX_COLOUR))
    background = fields.String(validate=validate.Regexp(HEX_COLOUR))
    radius = fields.Integer(validate=validate.Range(0, 32))
    position = fields.String(validate=validate.OneOf(["bar", "box", "modal"]))
    logo_url = fields.Url(schemes={"https", "http"}, validate=validate.Length(max=500))


class SiteSettingsSchema(Schema):
    """Everything of a site except its id; used as is for PATCH (partial)."""

    name = fields.String(required=True, validate=validate.Length(1, 200))
    allowed_origins = fields.List(OriginField(), required=True, validate=validate.Length(1, 100))
    # Where no region rule applies; ``mode`` is the round 1 name of the same setting.
    default_mode = fields.String(validate=validate.OneOf(MODES))
    mode = fields.String(validate=validate.OneOf(MODES), metadata={"deprecated": True})
    regions = fields.List(fields.Nested(RegionRuleSchema), validate=validate.Length(max=300))
    use_default_regions = fields.Boolean(load_default=True)
    controller = fields.Nested(ControllerSchema)
    first_layer = fields.List(
        fields.String(validate=validate.OneOf(FIRST_LAYER_BUTTONS)),
        validate=[validate.Length(1, 3), unique_items],
    )
    categories = fields.List(fields.Nested(CategorySchema), validate=validate.Length(1, 50))
    default_locale = fields.String(
        load_default="en", validate=[validate.Length(2, 35), validate.Regexp(LOCALE)]
    )
    honour_gpc = fields.Boolean(load_default=True)
    consent_lifetime_days = fields.Integer(load_default=180, validate=validate.Range(1, 3650))
    retention_days = fields.Integer(load_default=365 * 3, validate=validate.Range(1, 36500))
    consent_mode = fields.Nested(ConsentModeSchema)
    policy_urls = fields.Dict(
        keys=fields.String(validate=validate.OneOf(POLICY_KINDS)),
        values=fields.Url(schemes={"https", "http"}),
    )
    theme = fields.Nested(ThemeSchema)
    # Share the consent across subdomains: a parent domain of the allowed origins' hosts
    cookie_domain = fields.String(allow_none=True, validate=validate.Regexp(DOMAIN))

    @pre_load
    def drop_empty_form_values(self, data, **_kwargs):
        """A form (the console's) sends every field: an empty ``default_mode`` or ``mode`` and an
        empty ``first_layer`` mean "not given", not a value to refuse."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for name in ("default_mode", "mode"):
            if data.get(name) == "":
                del data[name]
        if data.get("first_layer") == []:
            del data["first_layer"]
        return data

    @validates_schema
    def check_mode(self, data, **_kwargs):
        modes = {data.get("default_mode"), data.get("mode")} - {None}
        if len(modes) > 1:
            raise ValidationError("mode is the old name of default_mode: give one.", "mode")

    @validates_schema
    def check_categories(self, data, **_kwargs):
        categories = data.get("categories")
        if categories is None:
            return
        ids = [category["id"] for category in categories]
        if len(ids) != len(set(ids)):
            raise ValidationError("Category ids must be unique.", "categories")


# PATCH leaves out whole settings, never parts of one: a category sent without ``required`` gets
# its default, as on create (``partial=True`` would reach into the nested schemas too).
SITE_SETTINGS = tuple(SiteSettingsSchema().fields)


class SiteCreateSchema(SiteSettingsSchema):
    id = fields.String(required=True, validate=validate.Regexp(SLUG))


class SiteSchema(SiteCreateSchema):
    # A site that has not declared its controller answers null, not an object without a name.
    controller = fields.Nested(ControllerSchema, allow_none=True)
    created_at = UtcDateTime(dump_only=True)
    updated_at = UtcDateTime(dump_only=True)

    @post_dump
    def undeclared_controller_is_null(self, data, **_kwargs):
        if data.get("controller") == {}:
            data["controller"] = None
        return data


class SiteListSchema(Schema):
    items = fields.List(fields.Nested(SiteSchema), required=True)


class FindingSchema(Schema):
    id = fields.String(required=True)
    severity = fields.String(required=True, metadata={"enum": ["error", "warning"]})
    message = fields.String(required=True)
    citation = fields.String(required=True)


class ComplianceReportSchema(Schema):
    site = fields.String(required=True)
    ok = fields.Boolean(required=True, metadata={"description": "True when no rule fails."})
    rules = fields.List(fields.Nested(FindingSchema), required=True)
