"""The schema comes from the migrations, on both databases, and matches the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from service.database import durability_settings
from service.extensions import db


def test_migrations_build_a_schema_identical_to_the_models(app):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection)
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_every_model_table_exists_after_upgrade(app):
    tables = set(inspect(db.engine).get_table_names())
    assert set(db.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_upgrade_from_empty_database_and_downgrade_to_base(backend, tmp_path):
    from flask_migrate import downgrade, upgrade

    from service import create_app

    url = f"sqlite:///{tmp_path}/fresh.db" if backend.name == "sqlite" else backend.database_url
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path), "DATABASE_URL": url})
    with app.app_context():
        downgrade(revision="base")
        assert inspect(db.engine).get_table_names() in ([], ["alembic_version"])
        upgrade()
        assert set(db.metadata.tables) <= set(inspect(db.engine).get_table_names())
        db.engine.dispose()


def test_durability_settings_are_on(app, backend):
    settings = durability_settings()
    if backend.name == "sqlite":
        assert settings == {"journal_mode": "wal", "synchronous": "2"}  # 2 = FULL
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
    else:
        assert settings == {"fsync": "on", "synchronous_commit": "on"}
