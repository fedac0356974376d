"""Counters that throttle sign-in attempts: one row per key (a user name, a client address).

Order of events for one attempt (callreview/web/throttle.py drives it):
1. `reserve_attempt` counts the attempt as a failure *before* the password is checked, in one
   conditional UPDATE, and refuses it when the key is locked or already has `limit` failures in its
   window. Counting first is what holds under concurrency: forty simultaneous attempts cannot all read
   "no failures yet" and all be checked; at most `limit` of them get a slot.
2. The caller checks the password (slowly, outside any transaction).
3. A wrong password: `record_failures` locks each key whose failures reached its limit, for a time
   that doubles with each lockout in a row. A right one: `clear` resets the user name's counter and
   `forgive_attempt` gives the client its slot back.
Keys are opaque here; no function commits (the caller commits with its audit rows).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, literal, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, Session, SQLModel, select

from callreview.storage.errors import StorageError
from callreview.storage.dates import as_utc, utcnow

# A lockout doubles each time it recurs: capped at 2**30 times the first, far past any maximum.
_MAX_DOUBLINGS = 30


class SignInThrottle(SQLModel, table=True):
    """Failed (or not yet decided) sign-in attempts of one key within its current window, and its lockout."""

    __tablename__ = "sign_in_throttle"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(index=True, unique=True, max_length=200, description="e.g. user:alice or client:10.0.0.7")
    failures: int = Field(default=0, description="Attempts since window_start not yet known to be right.")
    window_start: datetime = Field(default_factory=utcnow)
    locked_until: datetime | None = Field(default=None, description="No attempt is checked before this.")
    lockouts: int = Field(default=0, description="Lockouts in a row; each doubles the next one.")
    last_failure_at: datetime | None = None


_WINDOW_START = SignInThrottle.__table__.c.window_start


@dataclass(frozen=True)
class Lockout:
    key: str
    until: datetime
    seconds: int
    failures: int
    number: int  # 1 for the first lockout in a row, 2 for the next, ...


def _ensure_row(session: Session, key: str, now: datetime) -> None:
    """Insert the key's row unless it exists (two first attempts at once must not collide)."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        insert = sqlite.insert
    elif dialect == "postgresql":
        insert = postgresql.insert
    else:
        raise StorageError(f"sign-in throttle: database dialect {dialect!r} is not supported (use SQLite or "
                           "PostgreSQL)")
    table = SignInThrottle.__table__
    session.exec(insert(table).values(key=key, failures=0, window_start=now, lockouts=0)
                 .on_conflict_do_nothing(index_elements=[table.c.key]))


def _row(session: Session, key: str) -> SignInThrottle | None:
    return session.exec(select(SignInThrottle).where(SignInThrottle.key == key)
                        .execution_options(populate_existing=True)).first()


def reserve_attempt(session: Session, key: str, *, now: datetime, limit: int, window: timedelta) -> datetime | None:
    """Count one attempt against `key`; None when it may go on, else until when the key must wait.

    Args:
        key: what is throttled (a user name, a client address).
        now: the current time (UTC).
        limit: failures allowed within `window` before a lockout.
        window: how long failures count; an older window starts over.

    Returns:
        None (the attempt holds a slot: `forgive_attempt` or `record_failures` settles it), or the instant
        until which attempts are refused: the lockout's end, or the window's end while `limit` attempts
        are still being checked.
    """
    _ensure_row(session, key, now)
    expired = SignInThrottle.window_start <= now - window
    result = session.exec(
        update(SignInThrottle)
        .where(SignInThrottle.key == key,
               or_(SignInThrottle.locked_until.is_(None), SignInThrottle.locked_until <= now),
               or_(expired, SignInThrottle.failures < limit))
        .values(failures=case((expired, 1), else_=SignInThrottle.failures + 1),
                window_start=case((expired, literal(now, _WINDOW_START.type)), else_=SignInThrottle.window_start)))
    if result.rowcount == 1:
        return None
    row = _row(session, key)
    locked_until = as_utc(row.locked_until)
    if locked_until is not None and locked_until > now:
        return locked_until
    return as_utc(row.window_start) + window


def forgive_attempt(session: Session, key: str) -> None:
    """Give back a slot `reserve_attempt` took, for an attempt that turned out not to be a failure."""
    session.exec(update(SignInThrottle).where(SignInThrottle.key == key, SignInThrottle.failures > 0)
                 .values(failures=SignInThrottle.failures - 1))


def clear(session: Session, key: str) -> None:
    """Forget a key's failures and lockouts (the right password for a user name)."""
    session.exec(update(SignInThrottle).where(SignInThrottle.key == key)
                 .values(failures=0, lockouts=0, locked_until=None))


def record_failures(session: Session, limits: dict[str, int], *, now: datetime, window: timedelta,
                    first_lockout: timedelta, longest_lockout: timedelta) -> list[Lockout]:
    """After a wrong password: lock each key whose failures reached its limit; return the new lockouts.

    A lockout lasts `first_lockout`, doubled for each lockout before it in a row (one that began within
    `window` of the previous one's end), at most `longest_lockout`. A locked key starts a new window.
    """
    keys = sorted(limits)
    # Write first: on PostgreSQL this locks the rows and on SQLite the database, so the reads below see
    # every failure committed before, and two wrong passwords at once cannot both start a lockout.
    session.exec(update(SignInThrottle).where(SignInThrottle.key.in_(keys)).values(last_failure_at=now))
    lockouts = []
    for key in keys:
        row = _row(session, key)
        locked_until = as_utc(row.locked_until) if row else None
        if row is None or row.failures < limits[key] or (locked_until is not None and locked_until > now):
            continue
        failures = row.failures  # read now: the UPDATE below refreshes `row`
        in_a_row = row.lockouts if locked_until is not None and now - locked_until <= window else 0
        seconds = min(first_lockout.total_seconds() * 2 ** min(in_a_row, _MAX_DOUBLINGS),
                      longest_lockout.total_seconds())
        until = now + timedelta(seconds=seconds)
        result = session.exec(
            update(SignInThrottle)
            .where(SignInThrottle.key == key, SignInThrottle.failures >= limits[key],
                   or_(SignInThrottle.locked_until.is_(None), SignInThrottle.locked_until <= now))
            .values(locked_until=until, lockouts=in_a_row + 1, failures=0, window_start=now))
        if result.rowcount == 1:
            lockouts.append(Lockout(key=key, until=until, seconds=int(seconds), failures=failures,
                                    number=in_a_row + 1))
    return lockouts


def forget_idle(session: Session, before: datetime) -> int:
    """Delete counters with no window or lockout since `before` (they would start over anyway)."""
    result = session.exec(delete(SignInThrottle).where(
        SignInThrottle.window_start < before,
        or_(SignInThrottle.locked_until.is_(None), SignInThrottle.locked_until < before)))
    return result.rowcount or 0
