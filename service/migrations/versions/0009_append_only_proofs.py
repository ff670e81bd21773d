"""append-only checkpoints and erasure log; TRUNCATE refused on every proving table (PostgreSQL)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 18:30:00

The ledger was append-only since 0003, but the tables that prove things about it were not: an
operator could rewrite history, delete the checkpoints that would have caught it, and the ledger
verified again. Checkpoints and erasures now refuse UPDATE and DELETE on both databases, and on
PostgreSQL a statement-level BEFORE TRUNCATE trigger (row triggers never see a TRUNCATE) guards
consent_records, checkpoints and erasures. ledger_heads is rewritten by every append, so it is
only guarded against TRUNCATE.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

APPEND_ONLY_TABLES = ("checkpoints", "erasures")
NO_TRUNCATE_TABLES = ("consent_records", "checkpoints", "erasures", "ledger_heads")


def sqlite_statements():
    for table in APPEND_ONLY_TABLES:
        for verb in ("UPDATE", "DELETE"):
            yield (
                f"CREATE TRIGGER {table}_append_only_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} are append-only'); END"
            )


POSTGRES_FUNCTIONS = [
    """CREATE FUNCTION consentry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION '% are append-only', TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
    END $$""",
    """CREATE FUNCTION consentry_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION '% are append-only: TRUNCATE is refused', TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
    END $$""",
]


def postgres_statements():
    yield from POSTGRES_FUNCTIONS
    for table in APPEND_ONLY_TABLES:
        yield (
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION consentry_append_only()"
        )
    for table in NO_TRUNCATE_TABLES:
        yield (
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION consentry_no_truncate()"
        )


def upgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in postgres_statements() if postgres else sqlite_statements():
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in NO_TRUNCATE_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        for table in APPEND_ONLY_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS consentry_no_truncate()")
        op.execute("DROP FUNCTION IF EXISTS consentry_append_only()")
    else:
        for table in APPEND_ONLY_TABLES:
            for verb in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only_{verb}")
