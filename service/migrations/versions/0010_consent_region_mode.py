"""consents record the visitor's region and the banner's mode

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 20:30:00

Both are also in each entry's signed body; the columns are for queries by region, and
verification compares them with the body.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('consent_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('region', sa.String(length=6), nullable=True))
        batch_op.add_column(sa.Column('mode', sa.String(length=8), nullable=True))
        batch_op.create_index('ix_consent_records_site_region', ['site_id', 'region', 'seq'])


def downgrade():
    with op.batch_alter_table('consent_records', schema=None) as batch_op:
        batch_op.drop_index('ix_consent_records_site_region')
        batch_op.drop_column('mode')
        batch_op.drop_column('region')
