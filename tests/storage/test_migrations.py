"""The Alembic revisions build exactly the schema the table models describe, on both databases."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from callreview.storage.db import make_engine
from callreview.storage.migrate import downgrade, include_object, load_models, upgrade


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


BEFORE_SEARCH_INDEX = "6ac6962b8d45"


def _search_index_exists(engine) -> bool:
    from sqlalchemy import text

    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            return conn.execute(text("SELECT 1 FROM sqlite_master WHERE name = 'segment_fts'")).first() is not None
        return conn.execute(text("SELECT to_regclass('segment_fts_text')")).scalar() is not None


def _store_a_call(engine) -> None:
    from sqlmodel import Session

    from calldata import add_call

    with Session(engine) as session:
        add_call(session, "CR-OLD", [("ice", "We need your officers to knock on the door.")], verdict="mismatch",
                 tags=(("door_knock", 0, None),))
        session.commit()


def _store_before_the_index(engine) -> None:
    """A database at BEFORE_SEARCH_INDEX holding a call (stored at head, where the tables' columns exist)."""
    upgrade(engine)
    _store_a_call(engine)
    downgrade(engine, BEFORE_SEARCH_INDEX)


def test_the_search_index_is_made_by_a_migration_and_holds_calls_stored_before_it(storage_settings):
    from sqlmodel import Session

    from callreview.storage.search import search

    engine = make_engine(storage_settings, migrate=False)
    _store_before_the_index(engine)
    assert not _search_index_exists(engine)
    upgrade(engine)
    assert _search_index_exists(engine)
    with Session(engine) as session:
        assert [h.call_id for h in search(session, "knock", tag="door_knock")] == ["CR-OLD"]


def test_a_search_never_builds_the_index_itself(storage_settings):
    import sqlalchemy
    from sqlmodel import Session

    from callreview.storage.search import search

    engine = make_engine(storage_settings, migrate=False)
    _store_before_the_index(engine)
    with Session(engine) as session:
        try:
            search(session, "knock")  # SQLite: no such table; PostgreSQL: found without the index, slowly
        except sqlalchemy.exc.DBAPIError:
            pass
    assert not _search_index_exists(engine)


def test_downgrading_removes_the_search_index_and_upgrading_refills_it(storage_settings):
    from sqlmodel import Session

    from callreview.storage.search import search

    engine = make_engine(storage_settings)
    _store_a_call(engine)
    downgrade(engine, BEFORE_SEARCH_INDEX)
    assert not _search_index_exists(engine)
    upgrade(engine)
    with Session(engine) as session:
        assert [h.call_id for h in search(session, "door")] == ["CR-OLD"]
