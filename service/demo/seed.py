"""The demo's data: a news site with categories, declared cookies, policies and an admin key."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app

from ..auth import service as auth_service
from ..auth.service import SCOPES
from ..documents import service as documents_service
from ..documents.cli import split_title
from ..extensions import db
from ..ledger.vocabulary import DOCUMENT_KINDS
from ..sites import service as sites_service
from ..sites.models import Site
from ..timeutil import utcnow
from .history import month_start

DEMO_SITE = "news-example"
POLICY_DIR = Path(__file__).resolve().parent / "policies"

DEMO_CONTROLLER = {
    "name": "The Daily Example Ltd",
    "address": "1 Example Street, 75001 Paris, France",
    "email": "privacy@news.example.com",
    "contact": "https://news.example.com/contact",
    "dpo": "Data Protection Officer, dpo@news.example.com",
}

DEMO_CATEGORIES = [
    {
        "id": "necessary",
        "title": "Strictly necessary",
        "description": "Keeps you signed in, protects forms and remembers this choice.",
        "required": True,
        "sale_or_sharing": False,
        "purposes": ["dpv:ServiceProvision", "Keep you signed in and remember your choices"],
        "personal_data": ["pd:UID"],
        "retention": "6 months",
        "recipients": [],
        "legal_basis": "legitimate_interest",
        "cookies": [
            {
                "name": "session",
                "provider": "The Daily Example",
                "duration": "Session",
                "purpose": "Keeps you signed in.",
            },
            {
                "name": "consentry",
                "provider": "The Daily Example",
                "duration": "6 months",
                "purpose": "Remembers your cookie choices.",
            },
        ],
    },
    {
        "id": "analytics",
        "title": "Audience measurement",
        "description": "Counts visits and reading time so we know which stories matter to you.",
        "required": False,
        "sale_or_sharing": False,
        "purposes": ["dpv:ServiceUsageAnalytics", "Count readers and reading time"],
        "personal_data": ["pd:UID", "pd:BrowsingBehavior"],
        "retention": "13 months",
        "recipients": ["Example Stats (processor)"],
        "legal_basis": "consent",
        "cookies": [
            {
                "name": "_dx_stats",
                "provider": "Example Stats",
                "duration": "13 months",
                "purpose": "Tells visits apart to count unique readers.",
            },
        ],
    },
    {
        "id": "marketing",
        "title": "Personalised advertising",
        "description": "Lets our advertising partners show ads based on your interests.",
        "required": False,
        "sale_or_sharing": True,
        "purposes": ["dpv:PersonalisedAdvertising", "Show ads based on your interests"],
        "personal_data": ["pd:UID", "pd:BrowsingBehavior", "pd:Interest"],
        "retention": "1 year",
        "recipients": ["Example Ads (third party)"],
        "legal_basis": "consent",
        "cookies": [
            {
                "name": "_adx_id",
                "provider": "Example Ads",
                "duration": "1 year",
                "purpose": "Builds an interest profile across sites.",
            },
        ],
    },
]


def demo_texts(kind: str) -> dict[str, dict[str, str]]:
    """``{kind}.md`` in English and ``{kind}.{locale}.md`` for each translation there is."""
    texts = {}
    for path in sorted(
        POLICY_DIR.glob(f"{kind}.*md"), key=lambda p: (p.name != f"{kind}.md", p.name)
    ):
        locale = path.name.removeprefix(f"{kind}.").removesuffix("md").rstrip(".") or "en"
        title, body = split_title(path.read_text(encoding="utf-8"))
        texts[locale] = {"title": title, "body": body}
    return texts


def seed_demo(base_url: str, now: datetime | None = None) -> Path:
    """Create the demo site, its policies (version 1 each) and an all-scope admin key once;
    return the key file's path. The policies are published the day before the month of history
    (``history.month_start``), so that month can be recorded against them."""
    published_at = month_start(now or utcnow()) - timedelta(days=1)
    origins = sorted({base_url, base_url.replace("127.0.0.1", "localhost")})
    if db.session.get(Site, DEMO_SITE) is None:
        sites_service.create_site(
            {
                "id": DEMO_SITE,
                "name": "The Daily Example",
                "allowed_origins": origins,
                # Opt-in in Europe and opt-out in the US states with privacy laws (the built-in
                # pack); elsewhere the seed's notice banner, which is lawful there.
                "default_mode": "notice",
                "controller": DEMO_CONTROLLER,
                "categories": DEMO_CATEGORIES,
                "consent_mode": {"enabled": True, **sites_service.DEFAULT_CONSENT_MODE},
            }
        )
    for kind in DOCUMENT_KINDS:
        if documents_service.current_version(DEMO_SITE, kind) is not None:
            continue  # idempotent; later versions come from the history or from people
        documents_service.publish_text(
            DEMO_SITE,
            kind,
            demo_texts(kind),
            summary="First version",
            now=published_at,
        )
    key_file = Path(current_app.instance_path) / "demo-admin-key"
    if not key_file.exists():
        _key, plaintext = auth_service.create_api_key(SCOPES, None, "demo admin")
        key_file.touch(mode=0o600)
        key_file.write_text(plaintext + "\n")
    return key_file
