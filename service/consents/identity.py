"""Who may record a consent, and for which subject.

- **The caller.** A request with an ``Origin`` is a browser's: the origin must be one of the
  site's (checked with the choices, :func:`.service.check_event`). A request without one is a
  server's: it needs an API key with the scope ``consents:write`` for the site.
- **The subject.** A consent for a subject that already has records must carry that subject's
  token (``subject_token`` in the body, as returned with every receipt): only the visitor who
  holds it can add to their history. A subject without records needs none (its first consent
  returns the token). The lookup is one indexed read (``ix_consent_records_site_subject``) on
  the thread's direct connection, made only when no valid token came with the event.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import current_app
from sqlalchemy import bindparam, exists, select

from ..auth.guard import check_grant
from ..auth.service import authenticate
from ..database import BatchStatement, Compiled, direct_connections
from ..errors import Forbidden, Unauthorized
from ..extensions import db
from ..signing import subject_of_token
from .models import ConsentRecord

if TYPE_CHECKING:
    from sqlalchemy.engine import Dialect

    from .service import SiteContext

WRITE_SCOPE = "consents:write"


class SubjectTokenRequired(Forbidden):
    code = "subject_token_required"


def check_server_caller(site_id: str, authorization: str | None) -> None:
    """A request without ``Origin`` needs an API key with ``consents:write`` for the site: 401
    without a valid key, 403 without the scope, 404 for a key bound to another site."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "A consent without an Origin header (recorded by a server) needs an API key with "
            f"the scope {WRITE_SCOPE} as 'Authorization: Bearer <key>'."
        )
    key = authenticate(token.strip())
    check_grant(key.scopes, key.site_id, (WRITE_SCOPE,), site_id, holder="API key")


def check_subject(site: SiteContext, event: dict[str, Any]) -> None:
    """The event's subject is new, or the event carries its token; else 403
    ``subject_token_required``. A retry of the subject's very first event (its answer was lost)
    is let through: the append answers it with its first recording."""
    subject = event["subject"]
    if subject_of_token(site.id, event.get("subject_token"), site.token_max_age) == subject:
        return
    if not has_other_records(site.id, subject, str(event["client_event_id"])):
        return
    raise SubjectTokenRequired(
        "This subject already has consent records: send its subject_token (returned with its "
        "first receipt) to add to them, or record the consent for a new subject.",
    )


PROBE = select(
    exists().where(
        ConsentRecord.site_id == bindparam("site_id"),
        ConsentRecord.subject == bindparam("subject"),
        ConsentRecord.client_event_id != bindparam("client_event_id"),
    )
)
PROBE_PREPARED_AS = "consentry_subject_probe"
_probes: dict[tuple[str, bool], Compiled | BatchStatement] = {}


def subject_probe(dialect: Dialect, prepare: bool) -> Compiled | BatchStatement:
    probe = _probes.get((dialect.name, prepare))
    if probe is None:
        probe = Compiled(PROBE, dialect)
        if dialect.name == "postgresql":
            probe = BatchStatement(probe, PROBE_PREPARED_AS if prepare else None)
        _probes[dialect.name, prepare] = probe
    return probe


def has_other_records(site_id: str, subject: str, client_event_id: str) -> bool:
    """Whether ``subject`` has entries on the site other than ``client_event_id``'s (redacted
    entries have no subject: an erased subject starts again)."""
    engine = db.engine
    probe = subject_probe(engine.dialect, current_app.config["PREPARED_STATEMENTS"])
    values = {"site_id": site_id, "subject": subject, "client_event_id": client_event_id}
    try:
        cursor = direct_connections.query(engine, probe, values)
        row = cursor.fetchone()
        cursor.close()
    except Exception:
        direct_connections.discard()
        raise
    return bool(row[0])
