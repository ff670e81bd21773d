"""signed erasure log; redaction clears request_sha256 and changes nothing else

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 22:00:00

A row could be redacted by hand (body and subject cleared) and verification accepted it. Each
erasure now signs its log entry (``visible_sha256``, ``kid``, ``signature``: the seqs it redacted
and a digest of what they still show), and verification refuses a redaction no signed entry
names. Entries logged before this migration keep NULL there: verification reports them as
``redaction_unsigned`` (nothing proves they were erasures), never accepts them silently
(docs/security.md, "Erasures logged before signing").

The append-only trigger of consent_records allows exactly one UPDATE: the redaction of a row not
redacted before, which sets ``redacted_at`` and clears ``body``, ``subject`` and
``request_sha256`` (an unkeyed hash of the request, which confirms a guessed subject), and leaves
every other column, ``region`` and ``mode`` now included, as it was. ``request_sha256`` becomes
nullable for that, and is cleared on the rows redacted before this migration.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

FROZEN = ("id", "site_id", "seq", "action", "method", "gpc", "recorded_at", "client_event_id",
          "entry_hash", "prev_hash", "kid", "signature", "choices", "documents", "region", "mode")
JSON_COLUMNS = ("choices", "documents")


def _same(column):
    # JSON has no equality operator on SQLite (text) or PostgreSQL json; compare the text form.
    if column in JSON_COLUMNS:
        return f"CAST(NEW.{column} AS TEXT) IS CAST(OLD.{column} AS TEXT)"
    return f"NEW.{column} IS OLD.{column}"


REDACTION = ("OLD.redacted_at IS NULL AND NEW.redacted_at IS NOT NULL AND NEW.body IS NULL "
             "AND NEW.subject IS NULL AND NEW.request_sha256 IS NULL")

SQLITE_TRIGGERS = [
    """CREATE TRIGGER consent_records_append_only_delete BEFORE DELETE ON consent_records
    BEGIN SELECT RAISE(ABORT, 'consent records are append-only'); END""",
    """CREATE TRIGGER consent_records_append_only_update BEFORE UPDATE ON consent_records
    WHEN NOT ({redaction} AND {same})
    BEGIN SELECT RAISE(ABORT, 'consent records are append-only: only redaction is allowed'); END
    """.format(redaction=REDACTION, same=" AND ".join(_same(c) for c in FROZEN)),
]

POSTGRES_TRIGGERS = [
    """CREATE OR REPLACE FUNCTION consent_records_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'consent records are append-only' USING ERRCODE = 'integrity_constraint_violation';
      END IF;
      IF NOT ({redaction}) OR {changed} THEN
        RAISE EXCEPTION 'consent records are append-only: only redaction is allowed'
          USING ERRCODE = 'integrity_constraint_violation';
      END IF;
      RETURN NEW;
    END $$""".format(
        redaction=REDACTION,
        changed=" OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in FROZEN),
    ),
    """CREATE TRIGGER consent_records_append_only BEFORE UPDATE OR DELETE ON consent_records
    FOR EACH ROW EXECUTE FUNCTION consent_records_append_only()""",
]

ERASURE_COLUMNS = (("visible_sha256", 64), ("kid", 64), ("signature", 100))


def drop_triggers(postgres):
    if postgres:
        op.execute("DROP TRIGGER IF EXISTS consent_records_append_only ON consent_records")
    else:
        op.execute("DROP TRIGGER IF EXISTS consent_records_append_only_delete")
        op.execute("DROP TRIGGER IF EXISTS consent_records_append_only_update")


def upgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    drop_triggers(postgres)
    with op.batch_alter_table('consent_records', schema=None) as batch_op:
        batch_op.alter_column('request_sha256', existing_type=sa.String(length=64), nullable=True)
    op.execute("UPDATE consent_records SET request_sha256 = NULL WHERE redacted_at IS NOT NULL")
    for statement in POSTGRES_TRIGGERS if postgres else SQLITE_TRIGGERS:
        op.execute(statement)
    # Adding columns is not an UPDATE: the erasure log's append-only triggers stay as they are.
    for name, length in ERASURE_COLUMNS:
        op.add_column('erasures', sa.Column(name, sa.String(length=length), nullable=True))


def downgrade():
    import importlib.util
    from pathlib import Path

    postgres = op.get_bind().dialect.name == "postgresql"
    for name, _length in reversed(ERASURE_COLUMNS):
        # In place on both databases (SQLite >= 3.35): a copied table would lose its triggers.
        op.execute(f"ALTER TABLE erasures DROP COLUMN {name}")
    drop_triggers(postgres)
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS consent_records_append_only()")
    # Cleared hashes cannot come back: a placeholder that matches no request.
    op.execute("UPDATE consent_records SET request_sha256 = '' WHERE request_sha256 IS NULL")
    with op.batch_alter_table('consent_records', schema=None) as batch_op:
        batch_op.alter_column('request_sha256', existing_type=sa.String(length=64), nullable=False)
    path = Path(__file__).with_name("0004_audit.py")
    spec = importlib.util.spec_from_file_location("ledger_migration_0004", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for statement in module.POSTGRES_TRIGGERS if postgres else module.SQLITE_TRIGGERS:
        op.execute(statement)
