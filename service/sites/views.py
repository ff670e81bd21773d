from __future__ import annotations

from ..auth.guard import key_site_scope, require_scope
from ..errors import Forbidden
from ..extensions import Blueprint
from . import service
from .compliance import lint_site, warning_header
from .schemas import (
    SITE_SETTINGS,
    ComplianceReportSchema,
    SiteCreateSchema,
    SiteListSchema,
    SiteSchema,
    SiteSettingsSchema,
)

blp = Blueprint("sites", __name__, url_prefix="/api/v1/sites", description="Manage sites")


@blp.route("", methods=["POST"])
@require_scope(blp, "sites:admin")
@blp.arguments(SiteCreateSchema)
@blp.response(201, SiteSchema)
def create_site(data):
    """Create a site. The compliance rules run first: an error is a 422
    ``compliance_violation``; warnings are named in ``Consentry-Compliance-Warnings``."""
    if key_site_scope() is not None:
        raise Forbidden("A key bound to one site cannot create sites.")
    site = service.create_site(data)
    return site, warning_header(lint_site(site))


@blp.route("", methods=["GET"])
@require_scope(blp, "sites:admin")
@blp.response(200, SiteListSchema)
def list_sites():
    """List the sites this key can manage."""
    return {"items": service.list_sites(key_site_scope())}


@blp.route("/<site>", methods=["GET"])
@require_scope(blp, "sites:admin")
@blp.response(200, SiteSchema)
def get_site(site):
    """One site."""
    return service.get_site(site)


@blp.route("/<site>", methods=["PATCH"])
@require_scope(blp, "sites:admin")
@blp.arguments(SiteSettingsSchema(partial=SITE_SETTINGS))
@blp.response(200, SiteSchema)
def update_site(changes, site):
    """Change a site's settings (the id cannot change). The compliance rules run first, as on
    create."""
    updated = service.update_site(site, changes)
    return updated, warning_header(lint_site(updated))


@blp.route("/<site>/compliance", methods=["GET"])
@require_scope(blp, "sites:admin", "audit:read")
@blp.response(200, ComplianceReportSchema)
def compliance_report(site):
    """Every rule's findings for the site as it is; ``ok`` is false when a rule fails."""
    findings = lint_site(service.get_site(site))
    return {
        "site": site,
        "ok": not any(finding.severity == "error" for finding in findings),
        "rules": [finding.to_dict() for finding in findings],
    }
