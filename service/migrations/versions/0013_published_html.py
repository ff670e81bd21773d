"""document_versions.rendered: a published version's HTML, rendered once at publication

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 21:45:00

Hosted pages and the API serve the stored HTML instead of rendering Markdown on every request
(docs/security.md). Versions published before this migration are rendered here, once, with the
same function as a publication (service.documents.rendered); the immutability trigger of
published versions is lifted for that one UPDATE and put back, in this migration's transaction.
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
SQLITE_NO_UPDATE = """
    CREATE TRIGGER document_versions_published_no_update
    BEFORE UPDATE ON document_versions
    FOR EACH ROW WHEN OLD.status = 'published'
    BEGIN
        SELECT RAISE(ABORT, 'published document versions are immutable');
    END
"""


def upgrade():
    op.add_column('document_versions', sa.Column('rendered', JSON, nullable=True))
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER document_versions_published_no_update")
    else:
        op.execute("ALTER TABLE document_versions DISABLE TRIGGER document_versions_published_immutable")
    render_published_versions()
    if dialect == "sqlite":
        op.execute(SQLITE_NO_UPDATE)
    else:
        op.execute("ALTER TABLE document_versions ENABLE TRIGGER document_versions_published_immutable")


def render_published_versions():
    from service.documents.rendered import Previous, render_publication

    versions = sa.table(
        'document_versions',
        sa.column('id', sa.Integer), sa.column('site_id', sa.String), sa.column('kind', sa.String),
        sa.column('version', sa.Integer), sa.column('status', sa.String),
        sa.column('texts', JSON), sa.column('default_locale', sa.String),
        sa.column('rendered', JSON),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(versions.c.id, versions.c.site_id, versions.c.kind, versions.c.version,
                  versions.c.texts, versions.c.default_locale)
        .where(versions.c.status == 'published')
        .order_by(versions.c.site_id, versions.c.kind, versions.c.version)
    )
    previous, document = None, None
    for row in rows.all():
        if (row.site_id, row.kind) != document:
            previous, document = None, (row.site_id, row.kind)
        connection.execute(
            versions.update().where(versions.c.id == row.id)
            .values(rendered=render_publication(row.texts, previous))
        )
        previous = Previous(row.version, row.texts, row.default_locale)


def downgrade():
    op.execute("ALTER TABLE document_versions DROP COLUMN rendered")
