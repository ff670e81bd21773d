from __future__ import annotations

import re
from urllib.parse import urlsplit

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..timeutil import UtcDateTime

# A site or category id, as URLs carry it (the fast paths match request paths with it).
SLUG_PATTERN = r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?"
SLUG = re.compile(rf"^{SLUG_PATTERN}$")
LOCALE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
CONSENT_MODE_SIGNALS = (
    "ad_storage",
    "analytics_storage",
    "ad_user_data",
    "ad_personalization",
    "functionality_storage",
    "personalization_storage",
    "security_storage",
)
DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise_origin(value: str) -> str:
    """``scheme://host[:port]`` in the form browsers send in ``Origin``; wildcard only as
    ``scheme://*.example.com`` (any subdomain of example.com)."""
    if not isinstance(value, str) or len(value) > 255:
        raise ValidationError("Give an origin as scheme://host[:port].")
    parts = urlsplit(value.strip())
    if parts.scheme not in DEFAULT_PORTS:
        raise ValidationError("The scheme must be http or https.")
    if parts.path not in ("", "/") or parts.query or parts.fragment or "@" in parts.netloc:
        raise ValidationError("An origin has no path, query, fragment or user info.")
    try:
        port = parts.port
    except ValueError as error:
        raise ValidationError("The port is not valid.") from error
    host = (parts.hostname or "").lower()
    labels = host.split(".")
    wildcard = labels[0] == "*"
    if wildcard:
        labels = labels[1:]
        if len(labels) < 2:
            raise ValidationError("A wildcard needs a domain: https://*.example.com.")
    if not labels or not all(HOST_LABEL.match(label) for label in labels):
        raise ValidationError("The host is not valid; wildcards are only allowed as '*.domain'.")
    netloc = host if port in (None, DEFAULT_PORTS[parts.scheme]) else f"{host}:{port}"
    return f"{parts.scheme}://{netloc}"


class OriginField(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        return normalise_origin(super()._deserialize(value, attr, data, **kwargs))


class CookieSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 200))
    provider = fields.String(load_default="", validate=validate.Length(max=200))
    duration = fields.String(load_default="", validate=validate.Length(max=100))
    purpose = fields.String(load_default="", validate=validate.Length(max=1000))


class CategorySchema(Schema):
    id = fields.String(required=True, validate=validate.Regexp(SLUG))
    title = fields.String(required=True, validate=validate.Length(1, 200))
    description = fields.String(load_default="", validate=validate.Length(max=2000))
    required = fields.Boolean(load_default=False)
    # Refused without a prompt when the visitor's browser sends Global Privacy Control.
    sale_or_sharing = fields.Boolean(load_default=False)
    cookies = fields.List(
        fields.Nested(CookieSchema), load_default=list, validate=validate.Length(max=200)
    )


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
    mode = fields.String(load_default="opt-in", validate=validate.OneOf(["opt-in", "notice"]))
    categories = fields.List(fields.Nested(CategorySchema), validate=validate.Length(1, 50))
    default_locale = fields.String(
        load_default="en", validate=[validate.Length(2, 35), validate.Regexp(LOCALE)]
    )
    honour_gpc = fields.Boolean(load_default=True)
    consent_lifetime_days = fields.Integer(load_default=180, validate=validate.Range(1, 395))
    retention_days = fields.Integer(load_default=365 * 3, validate=validate.Range(1, 36500))
    consent_mode = fields.Nested(ConsentModeSchema)
    policy_urls = fields.Dict(
        keys=fields.String(validate=validate.OneOf(["privacy", "terms", "cookies"])),
        values=fields.Url(schemes={"https", "http"}),
    )
    theme = fields.Nested(ThemeSchema)
    # Share the consent across subdomains: a parent domain of the allowed origins' hosts
    cookie_domain = fields.String(allow_none=True, validate=validate.Regexp(DOMAIN))

    @validates_schema
    def check_categories(self, data, **_kwargs):
        categories = data.get("categories")
        if categories is None:
            return
        ids = [category["id"] for category in categories]
        if len(ids) != len(set(ids)):
            raise ValidationError("Category ids must be unique.", "categories")


class SiteCreateSchema(SiteSettingsSchema):
    id = fields.String(required=True, validate=validate.Regexp(SLUG))


class SiteSchema(SiteCreateSchema):
    created_at = UtcDateTime(dump_only=True)
    updated_at = UtcDateTime(dump_only=True)


class SiteListSchema(Schema):
    items = fields.List(fields.Nested(SiteSchema), required=True)
