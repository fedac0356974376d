"""Reading the audit log (admins): every page read is itself a row of the log."""
from __future__ import annotations

from sqlmodel import Session

from callreview.service.audited import commit_event
from callreview.storage.audit import list_audit_events
from callreview.storage.tables import AuditEvent


def view_audit(session: Session, actor: str, *, page: int = 1, per_page: int = 50, actor_filter: str | None = None,
               action_filter: str | None = None) -> tuple[list[AuditEvent], int]:
    """One page of the audit log, newest first, and the number of matching rows; audited as `view_audit`.

    The row names the page (object `audit_log`/PAGE) and the filters as they were sent (detail
    `{"actor": ..., "action": ...}`, None when not sent).

    Args:
        session: an open session; committed once, with the audit event.
        actor: who reads, as the audit log names them.
        page: 1-based page number.
        per_page: rows per page.
        actor_filter: only rows by this actor (exact); empty means all.
        action_filter: only rows with this action (exact); empty means all.
    """
    rows, total = list_audit_events(session, page=page, per_page=per_page, actor=actor_filter or None,
                                    action=action_filter or None)
    commit_event(session, actor=actor, action="view_audit", object_type="audit_log", object_id=str(page),
                 detail={"actor": actor_filter, "action": action_filter})
    return rows, total
