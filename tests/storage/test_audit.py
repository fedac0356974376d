import pytest
from sqlalchemy import text
from sqlmodel import select

from callreview.storage.audit import record_event, verify_audit_chain
from callreview.storage.tables import AuditEvent


def _three_events(session):
    for i in range(3):
        record_event(session, actor="tester", action="view_call", object_type="call", object_id=f"CR-{i}")
    session.commit()


def test_chain_verifies_when_untouched(session):
    _three_events(session)
    assert verify_audit_chain(session) == []
    rows = session.exec(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert rows[1].prev_hash == rows[0].hash


def test_edited_row_is_detected(session):
    _three_events(session)
    session.exec(text("UPDATE audit_event SET actor='someone else' WHERE id=2"))
    session.commit()
    session.expire_all()
    problems = verify_audit_chain(session)
    assert [p.event_id for p in problems] == [2]
    assert "edited" in problems[0].problem


def test_deleted_row_is_detected(session):
    _three_events(session)
    session.exec(text("DELETE FROM audit_event WHERE id=2"))
    session.commit()
    problems = verify_audit_chain(session)
    assert problems and problems[0].event_id == 3


def _append_in_own_transaction(settings, actor: str) -> int:
    from callreview.storage.db import open_session

    with open_session(settings) as s:
        row = record_event(s, actor=actor, action="view_call", object_type="call", object_id="CR-1")
        s.commit()
        return row.id


def test_appends_from_many_threads_form_one_gap_free_chain(storage_settings):
    import threading

    from callreview.storage.db import open_session

    threads, each = 8, 12
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for _ in range(each):
                _append_in_own_transaction(storage_settings, f"writer-{n}")
        except BaseException as exc:  # reported below, with the chain
            errors.append(exc)

    workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(timeout=120)
    assert errors == []
    with open_session(storage_settings) as s:
        rows = s.exec(select(AuditEvent).order_by(AuditEvent.id)).all()
        assert [r.id for r in rows] == list(range(1, threads * each + 1))
        assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:]))
        assert verify_audit_chain(s) == []


def test_a_second_appender_waits_for_the_first_to_commit(storage_settings):
    import threading

    from callreview.storage.db import open_session

    ids: list[int] = []
    with open_session(storage_settings) as first:
        mine = record_event(first, actor="first", action="view_call", object_type="call", object_id="CR-1").id
        second = threading.Thread(target=lambda: ids.append(_append_in_own_transaction(storage_settings, "second")))
        second.start()
        second.join(timeout=1.0)
        assert second.is_alive() and ids == []  # held: it would otherwise read the same head
        first.commit()
    second.join(timeout=30)
    assert ids == [mine + 1]


def test_a_read_only_session_cannot_append_and_does_not_hold_up_writers(storage_settings):

    from callreview.storage.db import open_session
    from callreview.storage.transactions import ReadOnlySession

    _append_in_own_transaction(storage_settings, "before")
    with open_session(storage_settings, read_only=True) as reader:
        assert len(reader.exec(select(AuditEvent)).all()) == 1  # its snapshot is open from here on
        assert _append_in_own_transaction(storage_settings, "writer") == 2  # not blocked by the reader
        assert len(reader.exec(select(AuditEvent)).all()) == 1  # one snapshot throughout
        with pytest.raises(ReadOnlySession):
            record_event(reader, actor="reader", action="verify", object_type="archive", object_id="x")


def test_a_busy_database_or_a_deadlock_counts_as_transient(storage_settings):
    """The failures a retry can cure, produced for real: SQLite's lock held past the busy timeout, a
    PostgreSQL deadlock between two transactions."""
    import threading

    import sqlalchemy
    from sqlalchemy.exc import OperationalError

    from callreview.storage.db import make_engine
    from callreview.storage.transactions import is_transient

    make_engine(storage_settings)  # the schema
    if storage_settings.url.startswith("sqlite"):
        holder = sqlalchemy.create_engine(storage_settings.url, isolation_level="AUTOCOMMIT")
        impatient = sqlalchemy.create_engine(storage_settings.url, connect_args={"timeout": 0.1},
                                             isolation_level="AUTOCOMMIT")
        with holder.connect() as h, impatient.connect() as i:
            h.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                with pytest.raises(OperationalError) as busy:
                    i.exec_driver_sql("BEGIN IMMEDIATE")
            finally:
                h.exec_driver_sql("ROLLBACK")
        assert is_transient(busy.value)
        holder.dispose()
        impatient.dispose()
        return
    engine = sqlalchemy.create_engine(storage_settings.url)
    with engine.begin() as c:
        c.exec_driver_sql("CREATE TABLE deadlock_demo (id int primary key, n int)")
        c.exec_driver_sql("INSERT INTO deadlock_demo VALUES (1, 0), (2, 0)")
    barrier = threading.Barrier(2)
    caught: list[BaseException] = []

    def crosswise(first: int, second: int) -> None:
        with engine.connect() as c:
            try:
                c.exec_driver_sql(f"UPDATE deadlock_demo SET n = n + 1 WHERE id = {first}")
                barrier.wait()
                c.exec_driver_sql(f"UPDATE deadlock_demo SET n = n + 1 WHERE id = {second}")
                c.commit()
            except OperationalError as exc:
                caught.append(exc)
                c.rollback()

    threads = [threading.Thread(target=crosswise, args=args) for args in ((1, 2), (2, 1))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    engine.dispose()
    assert len(caught) == 1 and is_transient(caught[0])
