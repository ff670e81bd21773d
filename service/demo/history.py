"""A month of consent history for the demo site, so the console has something true to show.

Every event goes through :func:`service.consents.service.record_history`, the consent POST's own
checks and append (``check_event``, ``entry_item``, ``append_group``), with its clock set to the
visit's moment: it is checked against the site and the
documents in force then, chained, signed and checkpointed like any other. Document versions are
published on their day of the month the same way (``publish_text(now=...)``).

The month: the policies of ``seed_demo`` from the first day; a non-material cookie policy update
on day 8; a **material** privacy policy change on day 15, after which returning visitors are asked
again and answer again; a non-material terms update on day 22. Visitors come more on weekdays,
in four banner languages (Dutch and Italian readers get the English banner), from a dozen
European regions (a few with none known), about one in eleven sends Global Privacy Control, and
some later withdraw from the preferences dialog.

The plan is drawn from a seeded random generator: the same ``now`` gives the same month. Seeding
runs only on an empty ledger (and each event's ``client_event_id`` is derived from the plan, so
even an interrupted run repeated is answered from the ledger), so ``make demo`` twice records the
month once.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..consents import service as consents
from ..consents.models import ConsentRecord
from ..consents.schemas import ConsentEventSchema
from ..documents import service as documents
from ..documents.banner import build_banner_config
from ..documents.models import DocumentVersion
from ..extensions import db
from ..sites.service import get_site
from ..timeutil import as_utc, utcnow

HISTORY_DAYS = 30
VISITORS_PER_DAY = 100
SEED = 20261128
EVENT_NAMESPACE = uuid.UUID("6c6f6e67-6d6f-6e74-6800-636f6e73656e")

# (share, visitor's language): the config answers de, fr and es in their language, nl and it in
# English (no built-in banner texts for them), so events carry four locales.
LANGUAGES = [(0.45, "en"), (0.20, "de"), (0.15, "fr"), (0.10, "es"), (0.05, "nl"), (0.05, "it")]
USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36",
]
# Where the visitors read from, by language (ISO 3166 codes, all opt-in regions), for the
# overview's breakdown by region; some come through without a region header.
REGIONS = {
    "en": ("GB", "GB", "GB", "IE", "NL", "DE"),
    "de": ("DE", "DE", "DE", "AT", "CH"),
    "fr": ("FR", "FR", "FR", "BE", "CH"),
    "es": ("ES",),
    "nl": ("NL", "NL", "BE"),
    "it": ("IT",),
}
UNKNOWN_REGION_SHARE = 0.06
GPC_SHARE = 0.09
RETURN_AFTER_MATERIAL_SHARE = 0.6
WITHDRAW_SHARE = 0.06  # of the visitors whose last answer granted something
ALL_ON = {"necessary": True, "analytics": True, "marketing": True}
ALL_OFF = {"necessary": True, "analytics": False, "marketing": False}
ANALYTICS_ONLY = {"necessary": True, "analytics": True, "marketing": False}
MARKETING_ONLY = {"necessary": True, "analytics": False, "marketing": True}


@dataclass(frozen=True)
class Publication:
    """A document version published during the month, on ``day`` at ``hour`` (UTC)."""

    day: int
    hour: int
    kind: str
    material: bool
    summary: str
    addition: str


PUBLICATIONS = [
    Publication(
        8,
        10,
        "cookies",
        False,
        "Lists the cookie of our video player.",
        "## Video player\n\n`_vp_pref` (Example Video, 30 days) remembers your volume setting. It "
        "is strictly necessary for the player you start.",
    ),
    Publication(
        15,
        9,
        "privacy",
        True,
        "Audience measurement moves to a new provider, who stores data in the EU.",
        "## Audience measurement provider\n\nFrom this version, Example Stats GmbH measures our "
        "audience for us, under a processing agreement, and stores the data in the EU.",
    ),
    Publication(
        22,
        11,
        "terms",
        False,
        "Clearer wording on comment moderation.",
        "## Moderation\n\nWe may hide a comment while we check it; we tell you when we remove one.",
    ),
]


@dataclass(frozen=True)
class PlannedEvent:
    """One consent event of the month, before the documents in force are known."""

    at: datetime
    subject: str
    action: str
    choices: dict[str, bool]
    method: str
    gpc: bool
    language: str
    user_agent: str
    key: str  # the visitor and the event's place in their story: names its client_event_id
    region: str | None = None  # where the visitor was (None: no region header came)


@dataclass
class HistoryResult:
    recorded: int = 0
    skipped: str | None = None
    published: list[str] = field(default_factory=list)


def month_start(now: datetime) -> datetime:
    """Midnight UTC ``HISTORY_DAYS`` days before today: the month is the 30 whole days before."""
    today = as_utc(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=HISTORY_DAYS)


def publication_time(start: datetime, publication: Publication) -> datetime:
    return start + timedelta(days=publication.day, hours=publication.hour)


# The plan -----------------------------------------------------------------------------------------


def plan_history(
    now: datetime, visitors_per_day: int = VISITORS_PER_DAY, seed: int = SEED
) -> list[PlannedEvent]:
    """Every event of the month in time order (deterministic for a given ``now`` and ``seed``)."""
    rng = random.Random(seed)
    start = month_start(now)
    end = start + timedelta(days=HISTORY_DAYS)
    material_at = next(publication_time(start, p) for p in PUBLICATIONS if p.material)
    events: list[PlannedEvent] = []
    for day in range(HISTORY_DAYS):
        midnight = start + timedelta(days=day)
        weekend = midnight.weekday() >= 5
        count = round(visitors_per_day * (0.75 if weekend else 1.0) * rng.uniform(0.85, 1.15))
        for _ in range(count):
            arrival = midnight + timedelta(seconds=_daytime_seconds(rng))
            events.extend(_visitor(rng, arrival, material_at))
    return sorted((e for e in events if e.at < end), key=lambda e: e.at)


def _daytime_seconds(rng: random.Random) -> float:
    """More reading in the morning and the evening than at night."""
    hour = min(max(rng.gauss(13.5, 4.5), 0.0), 23.99)
    return hour * 3600 + rng.uniform(0, 59)


def _pick_language(rng: random.Random) -> str:
    roll, total = rng.random(), 0.0
    for share, language in LANGUAGES:
        total += share
        if roll < total:
            return language
    return LANGUAGES[0][1]


def _region(subject: str, language: str) -> str | None:
    """The visitor's region, drawn from a generator of their own (the month's plan, drawn from
    the shared one, stays what it was)."""
    rng = random.Random(subject)
    if rng.random() < UNKNOWN_REGION_SHARE:
        return None
    return rng.choice(REGIONS[language])


def _visitor(rng: random.Random, arrival: datetime, material_at: datetime) -> list[PlannedEvent]:
    """A visitor's events: the first answer, maybe a second thought, a re-consent after the
    material change, a withdrawal."""
    subject = f"v_{rng.getrandbits(64):016x}"
    language, agent = _pick_language(rng), rng.choice(USER_AGENTS)
    region = _region(subject, language)

    def event(at: datetime, action: str, choices: dict, method: str, gpc: bool) -> PlannedEvent:
        key = f"{subject}:{at.isoformat()}"
        planned = (at, subject, action, dict(choices), method, gpc, language, agent, key, region)
        return PlannedEvent(*planned)

    if rng.random() < GPC_SHARE:
        # As the widget does: GPC refuses the sale category at once, then the banner asks about
        # the rest; about half answer it.
        events = [event(arrival, "custom", ALL_OFF, "gpc", True)]
        if rng.random() < 0.5:
            later = arrival + timedelta(seconds=rng.uniform(5, 300))
            choice = ("custom", ANALYTICS_ONLY) if rng.random() < 0.4 else ("reject_all", ALL_OFF)
            events.append(event(later, *choice, "banner", True))
        return events
    roll = rng.random()
    if roll < 0.05:
        return []  # read without answering the banner
    if roll < 0.55:
        first = event(arrival, "accept_all", ALL_ON, "banner", False)
    elif roll < 0.82:
        first = event(arrival, "reject_all", ALL_OFF, "banner", False)
    else:
        choices = ANALYTICS_ONLY if rng.random() < 0.7 else MARKETING_ONLY
        first = event(arrival, "custom", choices, "preferences", False)
    events = [first]
    if arrival < material_at and rng.random() < RETURN_AFTER_MATERIAL_SHARE:
        # Asked again after the material change: most answer as before, some change their mind.
        back = material_at + timedelta(hours=rng.expovariate(1 / 60))
        if rng.random() < 0.75:
            events.append(event(back, first.action, first.choices, "banner", False))
        elif first.action == "reject_all":
            events.append(event(back, "accept_all", ALL_ON, "banner", False))
        else:
            events.append(event(back, "reject_all", ALL_OFF, "banner", False))
    last = events[-1]
    if last.action != "reject_all" and rng.random() < WITHDRAW_SHARE:
        gone = last.at + timedelta(days=rng.uniform(1, 10))
        events.append(event(gone, "withdraw", ALL_OFF, "preferences", False))
    return events


# Recording ----------------------------------------------------------------------------------------


def seed_history(
    site_id: str,
    base_url: str,
    now: datetime | None = None,
    visitors_per_day: int = VISITORS_PER_DAY,
) -> HistoryResult:
    """Publish the month's document versions and record its consents, once (see the module)."""
    now = as_utc(now) if now else utcnow()
    start = month_start(now)
    site = get_site(site_id)
    result = HistoryResult()
    if visitors_per_day == 0:
        result.skipped = "no visitors asked for"
        return result
    existing = db.session.scalar(db.select(db.func.count()).where(ConsentRecord.site_id == site_id))
    if existing:
        result.skipped = f"the ledger already holds {existing} records"
        return result
    first_effective = db.session.scalar(
        db.select(db.func.min(DocumentVersion.effective_at)).where(
            DocumentVersion.site_id == site_id
        )
    )
    if first_effective is None or as_utc(first_effective) > start:
        result.skipped = "the site's first documents are newer than the month to seed"
        return result
    plan = plan_history(now, visitors_per_day)
    pending = sorted(PUBLICATIONS, key=lambda p: publication_time(start, p))
    for publication in pending:
        moment = publication_time(start, publication)
        if moment > now:
            break
        result.recorded += _record([e for e in plan if e.at < moment], site, base_url)
        plan = [e for e in plan if e.at >= moment]
        result.published.append(_publish(site_id, publication, start))
        consents.site_context(site_id, refresh=True, at=moment)
    result.recorded += _record(plan, site, base_url)
    consents.cut_checkpoint(site_id)  # a signed tree head over the whole month
    return result


def _publish(site_id: str, publication: Publication, start: datetime) -> str:
    current = documents.get_current(site_id, publication.kind).document
    texts = {
        locale: {**text, "body": f"{text['body']}\n\n{publication.addition}"}
        for locale, text in current.texts.items()
    }
    state, _created = documents.publish_text(
        site_id,
        publication.kind,
        texts,
        material=publication.material,
        summary=publication.summary,
        now=publication_time(start, publication),
    )
    return f"{publication.kind} v{state.document.version}"


def _record(plan: list[PlannedEvent], site: Any, base_url: str) -> int:
    """Record the events as the widget would send them, through the consent POST's checks and
    group append (``record_history``)."""
    revisions: dict[tuple[str, str], tuple[str, str]] = {}
    schema = ConsentEventSchema()

    def past_events():
        for planned in plan:
            refs = consents.site_context(site.id, at=planned.at).document_refs
            key = (planned.language, planned.region, repr(sorted(refs.items())))
            if key not in revisions:
                config = build_banner_config(
                    site, planned.language, base_url, planned.at, planned.region
                )
                revisions[key] = (config["locale"], config["revision"])
            locale, revision = revisions[key]
            event = {
                "subject": planned.subject,
                "client_event_id": str(uuid.uuid5(EVENT_NAMESPACE, planned.key)),
                "action": planned.action,
                "choices": planned.choices,
                "documents": refs,
                "revision": revision,
                "method": planned.method,
                "gpc": planned.gpc,
                "locale": locale,
                "page": f"{base_url}/demo",
            }
            yield consents.PastEvent(
                schema.load(event), base_url, planned.user_agent, planned.at, planned.region
            )

    return consents.record_history(site.id, past_events())
