"""callreview.storage.throttle: sign-in counters on SQLite and PostgreSQL, one attempt at a time and many at once."""
from __future__ import annotations

import threading
from datetime import timedelta

from sqlmodel import select

from callreview.storage.db import open_session
from callreview.storage.tables import utcnow
from callreview.storage.throttle import (SignInThrottle, clear, forget_idle, forgive_attempt, record_failures,
                              reserve_attempt)

WINDOW = timedelta(minutes=15)
FIRST, LONGEST = timedelta(seconds=60), timedelta(minutes=60)


def _fail(session, key: str, now, limit: int = 3):
    """One checked, wrong attempt: reserve a slot, then record the failure; the lockouts it started."""
    assert reserve_attempt(session, key, now=now, limit=limit, window=WINDOW) is None
    locks = record_failures(session, {key: limit}, now=now, window=WINDOW, first_lockout=FIRST,
                            longest_lockout=LONGEST)
    session.commit()
    return locks


def test_the_limit_th_failure_locks_and_the_lock_refuses_everything(session):
    now = utcnow()
    assert _fail(session, "user:a", now) == [] and _fail(session, "user:a", now) == []
    [lock] = _fail(session, "user:a", now)
    assert (lock.key, lock.seconds, lock.failures, lock.number) == ("user:a", 60, 3, 1)
    assert reserve_attempt(session, "user:a", now=now + timedelta(seconds=59), limit=3, window=WINDOW) == lock.until
    assert reserve_attempt(session, "user:b", now=now, limit=3, window=WINDOW) is None  # other keys are free


def test_lockouts_in_a_row_double_and_stop_at_the_longest(session):
    now, seconds = utcnow(), []
    for _ in range(8):
        for _ in range(3):
            locks = _fail(session, "user:a", now)
        seconds.append(locks[0].seconds)
        now = locks[0].until + timedelta(seconds=1)
    assert seconds == [60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_a_lockout_long_past_starts_the_doubling_over(session):
    now = utcnow()
    for _ in range(3):
        locks = _fail(session, "user:a", now)
    later = locks[0].until + WINDOW + timedelta(seconds=1)
    for _ in range(3):
        locks = _fail(session, "user:a", later)
    assert locks[0].seconds == 60 and locks[0].number == 1


def test_failures_older_than_the_window_do_not_count(session):
    now = utcnow()
    _fail(session, "user:a", now)
    _fail(session, "user:a", now)
    assert _fail(session, "user:a", now + WINDOW + timedelta(seconds=1)) == []


def test_attempts_being_checked_hold_their_slots(session):
    now = utcnow()
    for _ in range(3):
        assert reserve_attempt(session, "client:x", now=now, limit=3, window=WINDOW) is None
    assert reserve_attempt(session, "client:x", now=now, limit=3, window=WINDOW) == now + WINDOW
    forgive_attempt(session, "client:x")  # one turned out right
    assert reserve_attempt(session, "client:x", now=now, limit=3, window=WINDOW) is None


def test_clear_forgets_failures_and_lockouts(session):
    now = utcnow()
    _fail(session, "user:a", now)
    _fail(session, "user:a", now)
    clear(session, "user:a")
    assert _fail(session, "user:a", now) == [] and _fail(session, "user:a", now) == []


def test_forget_idle_deletes_only_quiet_counters(session):
    now = utcnow()
    _fail(session, "user:old", now - timedelta(hours=2))
    _fail(session, "user:new", now)
    for _ in range(3):
        _fail(session, "user:locked", now - timedelta(hours=2))
    assert forget_idle(session, now - WINDOW) == 2
    session.commit()
    assert [r.key for r in session.exec(select(SignInThrottle))] == ["user:new"]


def test_concurrent_reservations_never_exceed_the_limit(storage_settings):
    with open_session(storage_settings) as s:  # create the schema before the threads race
        s.commit()
    now, granted, barrier = utcnow(), [], threading.Barrier(20)

    def one() -> None:
        with open_session(storage_settings) as s:
            barrier.wait()
            if reserve_attempt(s, "user:a", now=now, limit=5, window=WINDOW) is None:
                granted.append(1)
            s.commit()

    threads = [threading.Thread(target=one) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(granted) == 5
