"""The compliance report of a site (the same rules as ``consentry lint``)."""

from __future__ import annotations

from ..auth.guard import require_scope
from ..extensions import Blueprint
from . import compliance
from .schemas import ComplianceReportSchema

blp = Blueprint(
    "compliance",
    __name__,
    url_prefix="/api/v1/sites",
    description="Compliance rules per region, and their findings for a site",
)


@blp.route("/<site>/compliance", methods=["GET"])
@require_scope(blp, "sites:admin", "audit:read")
@blp.response(200, ComplianceReportSchema)
def compliance_report(site):
    """Every rule's findings for the site as it is; ``ok`` is false when a rule fails."""
    findings = compliance.lint_site(site)
    return {
        "site": site,
        "ok": not any(finding.severity == "error" for finding in findings),
        "rules": [finding.to_dict() for finding in findings],
    }
