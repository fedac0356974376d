"""A call whose transcription or assessment failed: the error is kept on the call, and audited.

Its status stays short of `assessed`, so the next run takes it up again (callreview.service.intake
resumes it).
"""
from __future__ import annotations

from sqlmodel import Session

from callreview.service.audited import commit_event
from callreview.storage.tables import Call


def mark_failed(session: Session, actor: str, call_pk: int, error: str) -> None:
    """Keep `error` on the call with its `stage_failed` audit event, in one transaction."""
    call = session.get(Call, call_pk)
    call.error = error
    session.add(call)
    commit_event(session, actor=actor, action="stage_failed", object_type="call", object_id=call.call_id,
                 outcome="error", detail={"error": error})
