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
