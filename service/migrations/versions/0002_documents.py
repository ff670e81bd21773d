"""documents: versioned legal documents, immutable once published; sites.config_version

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 18:20:28.166571

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

# A published version is never changed or deleted: the service refuses, and so does the database.
# Row triggers only: TRUNCATE (used by the test fixtures and by a deliberate wipe) is not a row edit.
SQLITE_TRIGGERS = [
    """
    CREATE TRIGGER document_versions_published_no_update
    BEFORE UPDATE ON document_versions
    FOR EACH ROW WHEN OLD.status = 'published'
    BEGIN
        SELECT RAISE(ABORT, 'published document versions are immutable');
    END
    """,
    """
    CREATE TRIGGER document_versions_published_no_delete
    BEFORE DELETE ON document_versions
    FOR EACH ROW WHEN OLD.status = 'published'
    BEGIN
        SELECT RAISE(ABORT, 'published document versions cannot be deleted');
    END
    """,
]

POSTGRESQL_TRIGGERS = [
    """
    CREATE FUNCTION document_versions_immutable() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'published document versions are immutable (% of version %)',
            TG_OP, OLD.version
            USING ERRCODE = 'restrict_violation';
    END
    $$
    """,
    """
    CREATE TRIGGER document_versions_published_immutable
    BEFORE UPDATE OR DELETE ON document_versions
    FOR EACH ROW WHEN (OLD.status = 'published')
    EXECUTE FUNCTION document_versions_immutable()
    """,
]


def upgrade():
    op.create_table('document_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('texts', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('default_locale', sa.String(length=35), nullable=False),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('material', sa.Boolean(), nullable=False),
    sa.Column('summary', sa.String(length=1000), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('effective_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('privacy', 'terms', 'cookies', 'banner')", name=op.f('ck_document_versions_kind')),
    sa.CheckConstraint("status IN ('draft', 'published')", name=op.f('ck_document_versions_status')),
    sa.CheckConstraint('version >= 1', name=op.f('ck_document_versions_version')),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_document_versions_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document_versions')),
    sa.UniqueConstraint('site_id', 'kind', 'version', name=op.f('uq_document_versions_site_id_kind_version'))
    )
    with op.batch_alter_table('document_versions', schema=None) as batch_op:
        batch_op.create_index('ix_document_versions_site_effective', ['site_id', 'status', 'effective_at'], unique=False)

    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.add_column(sa.Column('config_version', sa.Integer(), server_default='1', nullable=False))

    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_TRIGGERS, "postgresql": POSTGRESQL_TRIGGERS}.get(dialect, []):
        op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS document_versions_published_no_update")
        op.execute("DROP TRIGGER IF EXISTS document_versions_published_no_delete")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS document_versions_published_immutable ON document_versions")
        op.execute("DROP FUNCTION IF EXISTS document_versions_immutable()")

    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.drop_column('config_version')

    with op.batch_alter_table('document_versions', schema=None) as batch_op:
        batch_op.drop_index('ix_document_versions_site_effective')

    op.drop_table('document_versions')
