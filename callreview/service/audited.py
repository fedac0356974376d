"""The one way a use case ends: its audit event, then one commit for the action and the event together.

Every service function that changes or reads something on a person's behalf finishes through
`commit_event`; a refused action undoes its partial writes and records the refusal with
`commit_refusal`, so the refusal is on file even though the action is not.
"""
from __future__ import annotations

from sqlmodel import Session

from callreview.storage.audit import record_event
from callreview.storage.tables import AuditEvent


def commit_event(session: Session, *, actor: str, action: str, object_type: str, object_id: str | int,
                 outcome: str = "ok", detail: dict | None = None) -> AuditEvent:
    """Append the audit event for what this transaction did and commit both at once."""
    event = record_event(session, actor=actor, action=action, object_type=object_type, object_id=object_id,
                         outcome=outcome, detail=detail)
    session.commit()
    return event


def commit_refusal(session: Session, *, actor: str, action: str, object_type: str, object_id: str | int,
                   outcome: str, detail: dict | None = None) -> AuditEvent:
    """Roll back the refused action's writes, then record the refusal in a transaction of its own."""
    session.rollback()
    return commit_event(session, actor=actor, action=action, object_type=object_type, object_id=object_id,
                        outcome=outcome, detail=detail)
