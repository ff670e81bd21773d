"""console users, hash-chained activity log with append-only triggers, daily stats cache

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 18:30:00

The activity log is append-only like the ledger: no row may change or go, on either database.
``console_daily_stats`` is derived data (closed UTC days of the consent ledger, summed once for
the console's overview) and may be rebuilt at any time.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')

SQLITE_TRIGGERS = [
    """CREATE TRIGGER activity_log_append_only_delete BEFORE DELETE ON activity_log
    BEGIN SELECT RAISE(ABORT, 'the activity log is append-only'); END""",
    """CREATE TRIGGER activity_log_append_only_update BEFORE UPDATE ON activity_log
    BEGIN SELECT RAISE(ABORT, 'the activity log is append-only'); END""",
]

POSTGRES_TRIGGERS = [
    """CREATE FUNCTION activity_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'the activity log is append-only' USING ERRCODE = 'integrity_constraint_violation';
    END $$""",
    """CREATE TRIGGER activity_log_append_only BEFORE UPDATE OR DELETE ON activity_log
    FOR EACH ROW EXECUTE FUNCTION activity_log_append_only()""",
]


def upgrade():
    op.create_table('console_users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('site_id', sa.String(length=64), nullable=True),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('totp_secret', sa.String(length=64), nullable=True),
    sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('session_epoch', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_console_users_site_id_sites'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_users')),
    sa.UniqueConstraint('email', name=op.f('uq_console_users_email'))
    )
    op.create_table('activity_log',
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=300), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('object', sa.String(length=300), nullable=False),
    sa.Column('site_id', sa.String(length=64), nullable=True),
    sa.Column('details', JSON_TYPE, nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('entry_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_activity_log'))
    )
    with op.batch_alter_table('activity_log', schema=None) as batch_op:
        batch_op.create_index('ix_activity_log_site_seq', ['site_id', 'seq'], unique=False)
    op.create_table('console_daily_stats',
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('counts', JSON_TYPE, nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_console_daily_stats_site_id_sites'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('site_id', 'day', name=op.f('pk_console_daily_stats'))
    )
    statements = POSTGRES_TRIGGERS if op.get_bind().dialect.name == "postgresql" else SQLITE_TRIGGERS
    for statement in statements:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS activity_log_append_only ON activity_log")
        op.execute("DROP FUNCTION IF EXISTS activity_log_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS activity_log_append_only_delete")
        op.execute("DROP TRIGGER IF EXISTS activity_log_append_only_update")
    op.drop_table('console_daily_stats')
    with op.batch_alter_table('activity_log', schema=None) as batch_op:
        batch_op.drop_index('ix_activity_log_site_seq')
    op.drop_table('activity_log')
    op.drop_table('console_users')
