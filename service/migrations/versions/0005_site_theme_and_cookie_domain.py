"""sites: theme and cookie_domain (widget v2)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 19:30:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('sites') as batch_op:
        batch_op.add_column(sa.Column(
            'theme', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
            nullable=False, server_default='{}'))
        batch_op.add_column(sa.Column('cookie_domain', sa.String(length=253), nullable=True))


def downgrade():
    with op.batch_alter_table('sites') as batch_op:
        batch_op.drop_column('cookie_domain')
        batch_op.drop_column('theme')
