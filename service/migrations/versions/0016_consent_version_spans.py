"""per site and document version, the seq span of the entries naming it

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 01:30:00

A search by document version walked the whole period the version was in force (half the ledger
for a version in force half the time; docs/performance.md) and missed imported records outside
that period. The ledger writer now widens a version's span when it cuts a checkpoint; this fills
the spans of what the checkpoints cover today, in one pass over the ledger (a GROUP BY over every
record). Written out here (not imported from the writer) so the migration stays what it was when
it ran.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

KINDS = ('privacy', 'terms', 'cookies', 'banner')


def upgrade():
    op.create_table('consent_version_spans',
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('first_seq', sa.Integer(), nullable=False),
    sa.Column('last_seq', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_consent_version_spans_site_id_sites')),
    sa.PrimaryKeyConstraint('site_id', 'kind', 'version', name=op.f('pk_consent_version_spans'))
    )
    if op.get_bind().dialect.name == 'postgresql':
        version = "CAST(r.documents -> kinds.kind ->> 'version' AS INTEGER)"
    else:
        version = "CAST(json_extract(r.documents, '$.' || kinds.kind || '.version') AS INTEGER)"
    kinds = ', '.join(f"('{kind}')" for kind in KINDS)
    op.execute(
        f"WITH kinds(kind) AS (VALUES {kinds}), "
        f"named AS (SELECT r.site_id AS site_id, kinds.kind AS kind, {version} AS version, "
        "r.seq AS seq FROM consent_records AS r "
        "JOIN ledger_heads AS h ON h.site_id = r.site_id, kinds "
        "WHERE r.seq <= h.last_checkpoint_size) "
        "INSERT INTO consent_version_spans (site_id, kind, version, first_seq, last_seq) "
        "SELECT site_id, kind, version, min(seq), max(seq) FROM named "
        "WHERE version IS NOT NULL GROUP BY site_id, kind, version"
    )


def downgrade():
    op.drop_table('consent_version_spans')
