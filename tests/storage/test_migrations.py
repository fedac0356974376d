"""The Alembic revisions build exactly the schema the table models describe, on both databases."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from storage.db import make_engine
from storage.migrate import include_object, load_models, upgrade


def test_migrated_database_matches_the_models(storage_settings):
    load_models()
    engine = make_engine(storage_settings)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"include_object": include_object, "compare_type": False})
        diff = compare_metadata(ctx, SQLModel.metadata)
    assert diff == [], "table models changed without a migration: run python -m storage.migrate revision '...'"


def test_upgrading_twice_is_harmless(storage_settings):
    engine = make_engine(storage_settings)
    upgrade(engine)
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() is not None
