"""Document endpoints: admin drafts and publishing, public versions, and the banner config."""

from __future__ import annotations

from flask import Response, current_app, g, request

from ..auth.guard import authorise, require_scope
from ..errors import ErrorSchema, accepts_body_up_to
from ..extensions import Blueprint, limiter
from ..jurisdictions.resolution import resolver
from ..sites.compliance import lint_site, warning_header
from ..sites.cors import public
from ..sites.schemas import LOCALE
from ..sites.service import get_site
from . import banner, service
from .diff import render_changes
from .schemas import (
    BannerConfigSchema,
    DiffQuerySchema,
    DiffSchema,
    DraftCreateSchema,
    DraftUpdateSchema,
    LocaleQuerySchema,
    PublishSchema,
    VersionListSchema,
    VersionSchema,
)

blp = Blueprint(
    "documents",
    __name__,
    url_prefix="/api/v1/sites",
    description="Versioned legal documents and the banner config",
)
VERSIONS = "/<site>/documents/<kind>/versions"
LOCALE_PARAMETER = {
    "in": "query",
    "name": "locale",
    "required": False,
    "schema": {"type": "string", "maxLength": 35, "pattern": LOCALE.pattern, "example": "fr-CA"},
    "description": "The visitor's language (BCP 47); best match, else the site default.",
}
REGION_PARAMETER = {
    "in": "query",
    "name": "region",
    "required": False,
    "schema": {"type": "string", "maxLength": 6, "example": "US-CA"},
    "description": "Development and testing only: answer as for this region (ISO 3166-1 or "
    "3166-2). In production the region comes from the trusted CDN headers.",
}


@limiter.request_filter
def banner_skips_rate_limits() -> bool:
    """The banner config is served from a cache and limits nothing worth limiting; skipping the
    limiter's per-request bookkeeping saves a third of its cost."""
    return request.endpoint == "documents.banner_config"


def key_holder(site: str) -> bool:
    """True for a request with a valid reading key for ``site``; a bad key is still a 401."""
    if "Authorization" not in request.headers:
        return False
    authorise(("documents:publish", "audit:read"), site)
    return True


def base_url() -> str:
    """Where this service is reached: ``PUBLIC_URL``, else the request's own root."""
    public_url = current_app.config.get("PUBLIC_URL")
    if public_url:
        return public_url.rstrip("/")
    return f"{request.scheme}://{request.host}{request.root_path}"


# Admin


@blp.route(VERSIONS, methods=["POST"])
@require_scope(blp, "documents:publish")
@accepts_body_up_to("DOCUMENT_MAX_CONTENT_LENGTH")
@blp.arguments(DraftCreateSchema)
@blp.response(201, VersionSchema)
def create_draft(data, site, kind):
    """Create a draft: the next version number, texts per locale (title + Markdown body)."""
    state = service.create_draft(site, kind, data["texts"], data.get("default_locale"))
    return service.localised(state, None, base_url())


@blp.route(VERSIONS + "/<int:version>", methods=["PATCH"])
@require_scope(blp, "documents:publish")
@accepts_body_up_to("DOCUMENT_MAX_CONTENT_LENGTH")
@blp.arguments(DraftUpdateSchema)
@blp.response(200, VersionSchema)
def update_draft(changes, site, kind, version):
    """Edit a draft. A published version answers 409: it can never change."""
    return service.localised(service.update_draft(site, kind, version, changes), None, base_url())


@blp.route(VERSIONS + "/<int:version>", methods=["DELETE"])
@require_scope(blp, "documents:publish")
@blp.response(204)
def delete_draft(site, kind, version):
    """Delete a draft. A published version answers 409: it can never be deleted."""
    service.delete_draft(site, kind, version)


@blp.route(VERSIONS + "/<int:version>/publish", methods=["POST"])
@require_scope(blp, "documents:publish")
@blp.arguments(PublishSchema)
@blp.response(200, VersionSchema)
def publish_version(data, site, kind, version):
    """Publish a draft now or at ``effective_at`` (it becomes current at that moment). The
    compliance rules run first: an error is a 422 ``compliance_violation``; warnings are named in
    ``Consentry-Compliance-Warnings``."""
    published = service.publish_version(site, kind, version, **data)
    return service.localised(published, None, base_url()), warning_header(lint_site(get_site(site)))


@blp.route(VERSIONS, methods=["GET"])
@public
@blp.response(200, VersionListSchema)
def list_versions(site, kind):
    """Published versions (current, superseded, scheduled), newest first; with an API key
    (documents:publish or audit:read) drafts too."""
    return {"items": service.list_versions(site, kind, include_drafts=key_holder(site))}


@blp.route(VERSIONS + "/<int:version>", methods=["GET"])
@public
@blp.arguments(LocaleQuerySchema, location="query")
@blp.response(200, VersionSchema)
def get_version(query, site, kind, version):
    """One published version (a draft needs an API key), texts in every locale and, in the best
    matching ``locale``, its title and sanitised HTML."""
    state = service.get_version(site, kind, version, include_drafts=key_holder(site))
    return service.localised(state, query.get("locale"), base_url())


@blp.route(VERSIONS + "/<int:version>/diff", methods=["GET"])
@require_scope(blp, "documents:publish", "audit:read")
@blp.arguments(DiffQuerySchema, location="query")
@blp.response(200, DiffSchema)
def diff_versions(query, site, kind, version):
    """What changed from ``against`` (default: the previous version) to this version."""
    diff = service.diff_versions(
        site, kind, version, query.get("against"), include_drafts=True, locale=query.get("locale")
    )
    return diff | {"html": str(render_changes(diff["changes"]))}


# Public


@blp.route("/<site>/documents/<kind>", methods=["GET"])
@public
@blp.arguments(LocaleQuerySchema, location="query")
@blp.response(200, VersionSchema)
def current_document(query, site, kind):
    """The version in force now, in the best matching locale, with sanitised HTML."""
    return service.localised(service.get_current(site, kind), query.get("locale"), base_url())


@blp.route("/<site>/banner", methods=["GET"])
@public
@blp.doc(
    parameters=[LOCALE_PARAMETER, REGION_PARAMETER],
    responses={
        "200": {"description": "The banner config", "content": {"application/json": {
            "schema": BannerConfigSchema}}},
        "304": {"description": "Not modified (If-None-Match matched the revision)"},
        "404": {"description": "Unknown site", "content": {"application/json": {
            "schema": ErrorSchema}}},
        "422": {"description": "Malformed locale or region", "content": {"application/json": {
            "schema": ErrorSchema}}},
    },
)  # fmt: skip
def banner_config(site):
    """Everything the widget shows, with ``revision``; ETag + short cache.

    The hot path of the service: the locale is checked by hand rather than through a schema,
    and the answer comes pre-serialised from the per-process cache (no response schema pass).
    """
    locale = service.check_locale(request.args.get("locale"))
    regions = resolver()
    region = regions.for_request(request.environ, request.args.get("region"))
    entry = banner.banner_entry(site, locale, base_url(), region)
    g.cors_site = entry.site
    if "If-None-Match" in request.headers and request.if_none_match.contains(entry.revision):
        response = Response(status=304, headers=entry.headers)
    else:
        response = Response(entry.body, mimetype="application/json", headers=entry.headers)
    response.vary.update(regions.vary)
    return response
