"""console users keep the time step of their last accepted TOTP code

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 21:45:00

A TOTP code is accepted once: a sign-in must name a later time step than the last one accepted
(null: none yet), so a code seen over a shoulder or in a log cannot be used again in its window.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('console_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_last_step', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('console_users', schema=None) as batch_op:
        batch_op.drop_column('totp_last_step')
