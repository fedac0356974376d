"""The engine and sessions. Nothing is created at import: callers build an engine from settings."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from callreview.storage import tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from callreview.storage import throttle  # noqa: F401  (the web app's sign-in throttle)
from callreview.storage import users  # noqa: F401  (the web app's accounts and sessions)
from callreview.storage.migrate import upgrade
from callreview.storage.settings import StorageSettings

_engines: dict[str, Engine] = {}


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets the web app read while a batch writes; foreign keys are off by default in SQLite.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def make_engine(settings: StorageSettings, *, migrate: bool = True) -> Engine:
    """Return the (cached per URL) engine for these settings, creating the data folder and the schema.

    `migrate=False` gives an engine on the database as it is (for generating a migration).
    """
    url = settings.url
    if url in _engines:
        return _engines[url]
    if url.startswith("sqlite"):
        Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    if migrate:
        upgrade(engine)  # the search index too (an Alembic revision)
    _engines[url] = engine
    return engine


def open_session(settings: StorageSettings) -> Session:
    return Session(make_engine(settings), expire_on_commit=False)


def dispose_engines() -> None:
    """Close every cached engine (tests and the CLI call this before exiting)."""
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()
