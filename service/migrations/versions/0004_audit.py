"""audit: choices column, erasure log, append-only triggers that also freeze choices and documents

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 10:00:00

The triggers of 0003 are dropped for the backfill of ``choices`` (an UPDATE they would refuse)
and created again with ``choices`` and ``documents`` among the frozen columns: a redaction may
clear the personal fields only, never what was agreed.
"""
import json

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

FROZEN = ("id", "site_id", "seq", "action", "method", "gpc", "recorded_at", "client_event_id",
          "request_sha256", "entry_hash", "prev_hash", "kid", "signature", "choices", "documents")


def _same(column):
    # JSON has no equality operator on SQLite (text) or PostgreSQL json; compare the text form.
    if column in ("choices", "documents"):
        return f"CAST(NEW.{column} AS TEXT) IS CAST(OLD.{column} AS TEXT)"
    return f"NEW.{column} IS OLD.{column}"


SQLITE_TRIGGERS = [
    """CREATE TRIGGER consent_records_append_only_delete BEFORE DELETE ON consent_records
    BEGIN SELECT RAISE(ABORT, 'consent records are append-only'); END""",
    """CREATE TRIGGER consent_records_append_only_update BEFORE UPDATE ON consent_records
    WHEN NOT (NEW.redacted_at IS NOT NULL AND NEW.body IS NULL AND NEW.subject IS NULL AND {same})
    BEGIN SELECT RAISE(ABORT, 'consent records are append-only: only redaction is allowed'); END
    """.format(same=" AND ".join(_same(c) for c in FROZEN)),
]

POSTGRES_TRIGGERS = [
    """CREATE FUNCTION consent_records_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'consent records are append-only' USING ERRCODE = 'integrity_constraint_violation';
      END IF;
      IF NEW.redacted_at IS NULL OR NEW.body IS NOT NULL OR NEW.subject IS NOT NULL OR {changed} THEN
        RAISE EXCEPTION 'consent records are append-only: only redaction is allowed'
          USING ERRCODE = 'integrity_constraint_violation';
      END IF;
      RETURN NEW;
    END $$""".format(changed=" OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in FROZEN)),
    """CREATE TRIGGER consent_records_append_only BEFORE UPDATE OR DELETE ON consent_records
    FOR EACH ROW EXECUTE FUNCTION consent_records_append_only()""",
]

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def create_triggers():
    statements = POSTGRES_TRIGGERS if op.get_bind().dialect.name == "postgresql" else SQLITE_TRIGGERS
    for statement in statements:
        op.execute(statement)


def drop_triggers():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS consent_records_append_only ON consent_records")
        op.execute("DROP FUNCTION IF EXISTS consent_records_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS consent_records_append_only_delete")
        op.execute("DROP TRIGGER IF EXISTS consent_records_append_only_update")


def backfill_choices():
    bind = op.get_bind()
    records = sa.table("consent_records", sa.column("id", sa.String), sa.column("body", sa.LargeBinary),
                       sa.column("choices", JSON_TYPE))
    rows = bind.execute(sa.select(records.c.id, records.c.body).where(records.c.body.is_not(None)))
    for record_id, body in rows.fetchall():
        choices = json.loads(bytes(body))["choices"]
        bind.execute(records.update().where(records.c.id == record_id).values(choices=choices))


def upgrade():
    drop_triggers()
    op.add_column('consent_records', sa.Column('choices', JSON_TYPE, nullable=True))
    backfill_choices()
    op.create_table('erasures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('subject_hmac', sa.String(length=64), nullable=True),
    sa.Column('records_redacted', sa.Integer(), nullable=False),
    sa.Column('redacted_seqs', JSON_TYPE, nullable=False),
    sa.Column('erased_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_erasures_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erasures'))
    )
    with op.batch_alter_table('erasures', schema=None) as batch_op:
        batch_op.create_index('ix_erasures_site_subject', ['site_id', 'subject_hmac'], unique=False)
    create_triggers()


def downgrade():
    import importlib.util
    from pathlib import Path

    drop_triggers()
    with op.batch_alter_table('erasures', schema=None) as batch_op:
        batch_op.drop_index('ix_erasures_site_subject')
    op.drop_table('erasures')
    op.drop_column('consent_records', 'choices')
    path = Path(__file__).with_name("0003_consent_ledger.py")
    spec = importlib.util.spec_from_file_location("ledger_migration_0003", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    statements = module.POSTGRES_TRIGGERS if op.get_bind().dialect.name == "postgresql" else module.SQLITE_TRIGGERS
    for statement in statements:
        op.execute(statement)
