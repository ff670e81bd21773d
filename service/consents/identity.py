"""Who may record a consent, and for which subject.

- **The caller.** A request with an ``Origin`` is a browser's: the origin must be one of the
  site's (checked with the choices, :func:`.service.check_event`). A request without one is a
  server's: it needs an API key with the scope ``consents:write`` for the site.
- **The subject.** A consent for a subject that already has records must carry that subject's
  token (``subject_token`` in the body, as returned with every receipt): only the visitor who
  holds it can add to their history. A subject without records needs none (its first consent
  returns the token). Whether the subject has records is asked only when no valid token came,
  by the ledger writer's locking read (:meth:`.writer.LedgerTransaction.lock`): one indexed
  ``EXISTS`` (``ix_consent_records_site_subject``) in the same round trip as the lock, and under
  it, so two first consents of one new subject cannot both pass.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..auth.guard import check_grant
from ..auth.service import authenticate
from ..errors import Forbidden, Unauthorized
from ..signing import subject_of_token

if TYPE_CHECKING:
    from .service import SiteContext

WRITE_SCOPE = "consents:write"


class SubjectTokenRequired(Forbidden, code="subject_token_required"): ...


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


def subject_proven(site: SiteContext, event: dict[str, Any]) -> bool:
    """Whether the event carries its subject's valid token (nothing read from the database)."""
    token = event.get("subject_token")
    return subject_of_token(site.id, token, site.token_max_age) == event["subject"]


def subject_token_required() -> SubjectTokenRequired:
    """The refusal of an event without its token, for a subject that has other records."""
    return SubjectTokenRequired(
        "This subject already has consent records: send its subject_token (returned with its "
        "first receipt) to add to them, or record the consent for a new subject.",
    )
