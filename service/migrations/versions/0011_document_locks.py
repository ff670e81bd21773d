"""documents: one row per (site, kind), the lock that orders changes to its versions

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 18:40:00

A draft's number is the document's highest version plus one, taken under this row's lock
(``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's write transaction holds the database's lock), so
concurrent drafts get consecutive numbers instead of a 409. Existing documents get their row.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('documents',
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('privacy', 'terms', 'cookies', 'banner')", name=op.f('ck_documents_kind')),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_documents_site_id_sites')),
    sa.PrimaryKeyConstraint('site_id', 'kind', name=op.f('pk_documents'))
    )
    op.execute(
        "INSERT INTO documents (site_id, kind, created_at) "
        "SELECT site_id, kind, MIN(created_at) FROM document_versions GROUP BY site_id, kind"
    )


def downgrade():
    op.drop_table('documents')
