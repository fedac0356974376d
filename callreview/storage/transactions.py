"""Transactions that can append to the audit chain without colliding, on SQLite and PostgreSQL.

Appending an audit row reads the chain's head and inserts the next row, so two transactions that append
at once must not both read the same head. Each database serialises appends its own way:
- SQLite: every writing transaction starts with `BEGIN IMMEDIATE`, which takes the database's single
  write lock before the transaction reads anything (waiting up to the busy timeout for it), so the head
  it reads is the newest. pysqlite would otherwise issue a deferred `BEGIN` just before the first write,
  and in WAL mode a transaction that has read an older snapshot cannot take the write lock at all: it
  fails at once with "database is locked", busy timeout or not. `install_sqlite_begin` applies
  SQLAlchemy's documented recipe for this (pysqlite's own BEGIN off, SQLAlchemy's `begin` event issues it).
- PostgreSQL: `lock_audit_chain` takes a transaction-scoped advisory lock just before the head is read;
  under READ COMMITTED the next statement then sees every append committed before the lock was granted.
Read-only sessions (`read_only_options`) begin DEFERRED on SQLite (a snapshot that never blocks writers)
and REPEATABLE READ, READ ONLY on PostgreSQL (one snapshot across many queries, as `verify` needs).

What can still fail is transient: a writer that held SQLite's lock past the busy timeout, a PostgreSQL
deadlock, or an append that lost a race with a writer that bypassed the lock. `is_transient` recognises
these, so a caller can run the whole unit of work again (the web app retries each request, the batch's
Prefect tasks retry each stage).
"""
from __future__ import annotations

import sqlite3

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from callreview.storage.errors import StorageError

READ_ONLY_OPTION = "callreview_read_only"
_BEGUN_AS = "callreview_begun_as"
# pg_advisory_xact_lock takes a bigint: the first 8 bytes of SHA-256("callreview.audit_event"), signed, so
# another application sharing the database is unlikely to pick the same number.
AUDIT_LOCK_ID = 4651099353855419089  # 0x408c06384199e2d1
# SQLSTATEs after which running the same transaction again can succeed.
_RETRYABLE_SQLSTATES = {"40001": "serialization failure", "40P01": "deadlock", "55P03": "lock not available"}
_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6


class AuditConflict(StorageError):
    """Another transaction appended the same chain position (it bypassed the lock); retry the unit of work."""

    def __init__(self, position: int):
        self.position = position
        super().__init__(f"audit_event {position}: another transaction appended this position first")


class ReadOnlySession(StorageError):
    def __init__(self):
        super().__init__("this session is read-only (callreview.storage.db.open_session(read_only=True)); audit events "
                         "are written in a writing session")


def _sqlite_begin(conn: Connection) -> None:
    mode = "DEFERRED" if conn.get_execution_options().get(READ_ONLY_OPTION) else "IMMEDIATE"
    conn.info[_BEGUN_AS] = mode
    conn.exec_driver_sql(f"BEGIN {mode}")


def _sqlite_no_implicit_begin(dbapi_conn, _record) -> None:
    # pysqlite's own transaction handling off: `_sqlite_begin` issues every BEGIN.
    dbapi_conn.isolation_level = None


def install_sqlite_begin(engine: Engine) -> None:
    """Make every transaction on this SQLite engine begin IMMEDIATE, or DEFERRED when read-only."""
    event.listen(engine, "connect", _sqlite_no_implicit_begin)
    event.listen(engine, "begin", _sqlite_begin)


def read_only_options(dialect: str) -> dict:
    """Session execution options for one consistent, read-only snapshot on `dialect`."""
    if dialect == "postgresql":
        return {READ_ONLY_OPTION: True, "isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
    return {READ_ONLY_OPTION: True}


def lock_audit_chain(session: Session) -> None:
    """Hold the audit chain for this transaction, so the head it reads next is the newest committed one.

    Raises:
        ReadOnlySession: the session was opened read-only.
        StorageError: an SQLite engine not made by `callreview.storage.db.make_engine` (its transactions begin
            deferred, and an append could read a stale head).
    """
    conn = session.connection()
    if conn.get_execution_options().get(READ_ONLY_OPTION):
        raise ReadOnlySession()
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": AUDIT_LOCK_ID})
    elif conn.dialect.name == "sqlite" and conn.info.get(_BEGUN_AS) != "IMMEDIATE":
        raise StorageError(f"{conn.engine.url.database}: this transaction did not begin IMMEDIATE; open sessions "
                           "with callreview.storage.db.open_session so audit appends take the write lock first")


def is_transient(exc: BaseException) -> bool:
    """Whether running the failed unit of work again, from the start, can succeed."""
    if isinstance(exc, AuditConflict):
        return True
    if not isinstance(exc, DBAPIError) or exc.connection_invalidated:
        return False
    orig = exc.orig
    if getattr(orig, "sqlstate", None) in _RETRYABLE_SQLSTATES:
        return True
    if isinstance(orig, sqlite3.OperationalError):
        code = getattr(orig, "sqlite_errorcode", None)
        if code is not None:
            return code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)
        return "database is locked" in str(orig) or "database table is locked" in str(orig)
    return False
