"""Refused requests, as evidence: a role probing another role's pages, a forged form, input the app cannot use.

The edge (the web app) decides that a request is refused; these functions write the one audit row
that says so, and commit it. Each row's object is the path asked for (object type `path`).
"""
from __future__ import annotations

from sqlmodel import Session

from callreview.service.audited import commit_event


def refuse_access(session: Session, actor: str, *, path: str, method: str, role: str, needs: str) -> None:
    """Audit a signed-in user refused for their role: `access_denied`, outcome `denied`.

    Args:
        session: an open session; committed.
        actor: the refused user, as the audit log names them.
        path: the path asked for.
        method: the HTTP method.
        role: the user's role.
        needs: the permission the path needs (e.g. `work_queue`).
    """
    commit_event(session, actor=actor, action="access_denied", object_type="path", object_id=path, outcome="denied",
                 detail={"method": method, "role": role, "needs": needs})


def reject_form(session: Session, actor: str, *, path: str, method: str, role: str, token: str) -> None:
    """Audit a form posted without the session's CSRF token: `csrf_rejected`, outcome `denied`.

    Args:
        token: `missing` or `wrong`.
    """
    commit_event(session, actor=actor, action="csrf_rejected", object_type="path", object_id=path, outcome="denied",
                 detail={"method": method, "role": role, "token": token})


def refuse_bad_input(session: Session, actor: str, *, path: str, method: str, problems: list[dict]) -> None:
    """Audit a request whose input could not be used: `bad_request`, outcome `invalid_<first input>`.

    Args:
        problems: one {"input", "value", "problem"} per bad input, the value cut short by the caller.
    """
    commit_event(session, actor=actor, action="bad_request", object_type="path", object_id=path,
                 outcome=f"invalid_{problems[0]['input']}", detail={"method": method, "problems": problems})
