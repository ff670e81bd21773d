"""consents: no index by region; every append paid for it

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 21:45:00

The index on (site_id, region, seq) was a fifth B-tree written by every consent append (its cost:
docs/performance.md). A query by region walks the site's seq index and
filters instead; a breakdown by region reads every record of its period either way.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index('ix_consent_records_site_region', table_name='consent_records')


def downgrade():
    op.create_index(
        'ix_consent_records_site_region', 'consent_records', ['site_id', 'region', 'seq']
    )
