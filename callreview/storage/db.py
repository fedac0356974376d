"""The engine and sessions. Nothing is created at import: callers build an engine from settings."""
from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from callreview.storage import tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from callreview.storage import throttle  # noqa: F401  (the web app's sign-in throttle)
from callreview.storage import conflicts  # noqa: F401  (reviewers' recusals)
from callreview.storage import users  # noqa: F401  (the web app's accounts and sessions)
from callreview.storage.audit import AuditAnchor, bind_anchor, unbind_anchors
from callreview.storage.migrate import upgrade
from callreview.storage.settings import StorageSettings
from callreview.storage.transactions import install_sqlite_begin, read_only_options

_engines: dict[str, Engine] = {}
# The web app makes its engine on the first request, and the first requests come in together: one thread
# builds it (and migrates) while the others wait, instead of each migrating the same database at once.
_engines_lock = threading.Lock()
# PostgreSQL: a session-level advisory lock around the schema set-up, so a web server and a batch started
# together on an empty database do not both create its tables (SQLite's BEGIN IMMEDIATE already queues them).
_SCHEMA_LOCK_ID = 4651099353855419090


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
    with _engines_lock:
        if url in _engines:
            return _engines[url]
        if url.startswith("sqlite"):
            Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
            event.listen(engine, "connect", _sqlite_pragmas)
            install_sqlite_begin(engine)
        else:
            engine = create_engine(url, pool_pre_ping=True)
        bind_anchor(engine, AuditAnchor(settings.audit_key_path, settings.audit_checkpoint_path))
        if migrate:
            with _schema_lock(engine):
                upgrade(engine)
        _engines[url] = engine
        return engine


@contextmanager
def _schema_lock(engine: Engine):
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as conn:
        conn.exec_driver_sql(f"SELECT pg_advisory_lock({_SCHEMA_LOCK_ID})")
        conn.commit()
        try:
            yield
        finally:
            conn.exec_driver_sql(f"SELECT pg_advisory_unlock({_SCHEMA_LOCK_ID})")
            conn.commit()


def open_session(settings: StorageSettings, *, read_only: bool = False) -> Session:
    """A session on the settings' database; the caller commits.

    A writing session (the default) takes SQLite's write lock when each of its transactions begins (see
    `storage.transactions`), so keep its transactions short and do slow work (hashing files, rendering a
    PDF) outside them. `read_only=True` gives one consistent snapshot that never blocks writers, for long
    reads such as `verify`; it cannot write audit events.
    """
    engine = make_engine(settings)
    options = read_only_options(engine.dialect.name) if read_only else {}
    return Session(engine, expire_on_commit=False, execution_options=options)


def dispose_engines() -> None:
    """Close every cached engine (tests and the CLI call this before exiting)."""
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()
    unbind_anchors()
