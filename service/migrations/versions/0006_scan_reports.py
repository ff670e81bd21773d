"""scan reports: signed, append-only

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 18:30:00

Like the ledger, rows are refused any UPDATE or DELETE by triggers on both databases: a stored
report is evidence of what a site did on a given day.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

SQLITE_TRIGGERS = [
    """CREATE TRIGGER scan_reports_append_only_delete BEFORE DELETE ON scan_reports
    BEGIN SELECT RAISE(ABORT, 'scan reports are append-only'); END""",
    """CREATE TRIGGER scan_reports_append_only_update BEFORE UPDATE ON scan_reports
    BEGIN SELECT RAISE(ABORT, 'scan reports are append-only'); END""",
]

POSTGRES_TRIGGERS = [
    """CREATE FUNCTION scan_reports_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'scan reports are append-only' USING ERRCODE = 'integrity_constraint_violation';
    END $$""",
    """CREATE TRIGGER scan_reports_append_only BEFORE UPDATE OR DELETE ON scan_reports
    FOR EACH ROW EXECUTE FUNCTION scan_reports_append_only()""",
]


def upgrade():
    op.create_table('scan_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('verdict', sa.String(length=16), nullable=False),
    sa.Column('pages', sa.Integer(), nullable=False),
    sa.Column('findings', sa.Integer(), nullable=False),
    sa.Column('stopped', sa.String(length=16), nullable=True),
    sa.Column('report', sa.Text(), nullable=False),
    sa.Column('report_sha256', sa.String(length=64), nullable=False),
    sa.Column('kid', sa.String(length=64), nullable=False),
    sa.Column('signature', sa.String(length=128), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_scan_reports_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scan_reports'))
    )
    with op.batch_alter_table('scan_reports', schema=None) as batch_op:
        batch_op.create_index('ix_scan_reports_site_created', ['site_id', 'id'], unique=False)
    statements = POSTGRES_TRIGGERS if op.get_bind().dialect.name == "postgresql" else SQLITE_TRIGGERS
    for statement in statements:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS scan_reports_append_only ON scan_reports")
        op.execute("DROP FUNCTION IF EXISTS scan_reports_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS scan_reports_append_only_delete")
        op.execute("DROP TRIGGER IF EXISTS scan_reports_append_only_update")
    with op.batch_alter_table('scan_reports', schema=None) as batch_op:
        batch_op.drop_index('ix_scan_reports_site_created')
    op.drop_table('scan_reports')
