"""jurisdictions: region rules, the default pack switch, the controller and the first layer's
buttons of each site; the banner revisions served

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 18:20:00

A site's ``mode`` column stays: the API names it ``default_mode`` now, the mode where no region
rule applies. Existing sites keep it and get the built-in region pack.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade():
    op.create_table('banner_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('revision', sa.String(length=64), nullable=False),
    sa.Column('config', sa.LargeBinary(), nullable=False),
    sa.Column('first_served_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_banner_revisions_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_banner_revisions')),
    sa.UniqueConstraint('site_id', 'revision', name=op.f('uq_banner_revisions_site_id_revision'))
    )
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.add_column(sa.Column('regions', JSON, nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('use_default_regions', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))
        batch_op.add_column(sa.Column('controller', JSON, nullable=False, server_default='{}'))
        batch_op.add_column(sa.Column('first_layer', JSON, nullable=False,
                                      server_default='["accept_all", "reject_all", "settings"]'))


def downgrade():
    op.drop_table('banner_revisions')
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.drop_column('first_layer')
        batch_op.drop_column('controller')
        batch_op.drop_column('use_default_regions')
        batch_op.drop_column('regions')
