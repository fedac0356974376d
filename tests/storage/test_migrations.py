"""The Alembic revisions build exactly the schema the table models describe, on both databases."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from callreview.storage.db import make_engine
from callreview.storage.migrate import include_object, load_models, upgrade


def test_migrated_database_matches_the_models(storage_settings):
    load_models()
    engine = make_engine(storage_settings)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"include_object": include_object, "compare_type": False})
        diff = compare_metadata(ctx, SQLModel.metadata)
    assert diff == [], "table models changed without a migration: run python -m callreview.storage.migrate revision '...'"


def test_upgrading_twice_is_harmless(storage_settings):
    engine = make_engine(storage_settings)
    upgrade(engine)
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() is not None


def test_assessments_stored_before_doubts_read_as_having_none(storage_settings):
    from sqlalchemy import text

    engine = make_engine(storage_settings, migrate=False)
    upgrade(engine, "d80bf0cc564a")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO call (call_id, sha256, original_name, format, size_bytes, archive_path, status, "
                          "created_at, updated_at) VALUES ('C-1', :sha, 'a.wav', 'wav', 1, 'x', 'assessed', "
                          "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"), {"sha": "a" * 64})
        conn.execute(text("INSERT INTO transcript (call_pk, version, engine, model, language, imported, is_current, "
                          "created_at) SELECT id, 1, 'e', 'm', 'en', false, true, CURRENT_TIMESTAMP FROM call"))
        conn.execute(text("INSERT INTO assessment (call_pk, transcript_pk, rules_version, verdict, reasons_json, "
                          "counted_json, unusable, is_current, created_at) SELECT call_pk, id, '1', 'consistent', "
                          "'[]', '[]', false, true, CURRENT_TIMESTAMP FROM transcript"))
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT doubts_json FROM assessment")).scalar_one() == "[]"
