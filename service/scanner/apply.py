"""``scan --apply``: the cookie declarations a scan suggests, as a diff, applied on request.

Each cookie seen but not declared is proposed in the site category of the kind the Open Cookie
Database gives it (the site's analytics category for ``_ga``), with provider, duration and purpose
from the database. The widget's own ``consentry`` cookie goes in the required category. Cookies
nothing classifies are listed for a person to place. Applying goes through the API's validation.
"""

from __future__ import annotations

import copy
import difflib
import json
from dataclasses import dataclass, field
from typing import Any

from .findings import WIDGET_COOKIE, Classifier

WIDGET_DECLARATION = {
    "provider": "Consentry",
    "duration": "as long as the consent lasts",
    "purpose": "Remembers the visitor's cookie choices.",
}


@dataclass
class Proposal:
    categories: list[dict[str, Any]]  # the site's categories with the additions
    added: list[tuple[str, str]] = field(default_factory=list)  # (category, cookie name)
    unplaced: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.added


def _duration(cookie: dict[str, Any], database: dict[str, Any] | None) -> str:
    if database and database.get("retention"):
        return str(database["retention"])[:100]
    return "Session" if cookie.get("expires") is None else ""


def propose(categories: list[dict[str, Any]], report: dict[str, Any]) -> Proposal:
    """Declarations for the report's undeclared cookies, added to a copy of ``categories``."""
    proposed = copy.deepcopy(categories)
    by_id = {category["id"]: category for category in proposed}
    classifier = Classifier(categories)
    required = next((c["id"] for c in categories if c.get("required")), None)
    proposal = Proposal(proposed)
    for cookie in report["cookies"]:
        name = cookie["name"]
        if classifier.declared_category(name) is not None or any(
            name == added for _c, added in proposal.added
        ):
            continue
        placement = classifier.place_cookie(name, cookie["domain"])
        target = required if name == WIDGET_COOKIE else placement.category
        if target is None or target not in by_id:
            proposal.unplaced.append(name)
            continue
        database = placement.database
        declaration = {"name": name} | (
            WIDGET_DECLARATION
            if name == WIDGET_COOKIE
            else {
                "provider": (database["controller"] or database["platform"])[:200],
                "duration": _duration(cookie, database),
                "purpose": database["description"][:1000],
            }
        )
        by_id[target].setdefault("cookies", []).append(declaration)
        proposal.added.append((target, name))
    return proposal


def render_diff(site_id: str, before: list[dict[str, Any]], after: list[dict[str, Any]]) -> str:
    """A unified diff of the categories as indented JSON."""
    old = json.dumps(before, indent=2, ensure_ascii=False).splitlines(keepends=True)
    new = json.dumps(after, indent=2, ensure_ascii=False).splitlines(keepends=True)
    return "".join(
        difflib.unified_diff(old, new, f"{site_id} categories", f"{site_id} categories (proposed)")
    )


def apply_proposal(site_id: str, proposal: Proposal) -> None:
    """Save the proposed categories through the same validation as ``PATCH /sites/{site}``."""
    from ..sites import service as sites_service
    from ..sites.schemas import SiteSettingsSchema

    changes = SiteSettingsSchema(partial=True).load({"categories": proposal.categories})
    sites_service.update_site(site_id, changes)
