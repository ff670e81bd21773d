"""The banner revisions served: what each revision showed, kept once per site and revision so a
consent's ``revision`` can be shown and proven later (proof bundles, receipts)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..database import write_transaction
from ..extensions import db
from .models import BannerRevision


def remember_revision(site_id: str, revision: str, config: bytes, now: datetime) -> None:
    """Keep what ``revision`` showed, once per site and revision (any worker may serve it
    first; the unique constraint keeps one row)."""
    write_transaction()  # served by a GET, whose own transaction only reads
    table = BannerRevision.__table__
    dialect = db.engine.dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(table)
        .values(site_id=site_id, revision=revision, config=config, first_served_at=now)
        .on_conflict_do_nothing(index_elements=["site_id", "revision"])
    )
    db.session.execute(statement)
    db.session.commit()


def revision_configs(site_id: str, revisions: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The banner configs of ``revisions`` that were served (revision: config)."""
    wanted = sorted(set(revisions))
    if not wanted:
        return {}
    rows = db.session.execute(
        db.select(BannerRevision.revision, BannerRevision.config).where(
            BannerRevision.site_id == site_id, BannerRevision.revision.in_(wanted)
        )
    )
    return {revision: json.loads(config) for revision, config in rows}
