"""Recusal: which officers' calls a reviewer may not judge, kept by admins, enforced on every claim and disposition.

Adding and removing a conflict are audited (`conflict_add`, `conflict_remove`, object `user`/USERNAME, the
officer and the reason in the detail); so is listing them (`view_conflicts`). `recusal` is what the queue
service asks before it lets a reviewer claim or dispose of an item.
"""
from __future__ import annotations

from sqlmodel import Session

from callreview.core.errors import ReviewError
from callreview.service.audited import commit_event
from callreview.storage import conflicts as store
from callreview.storage.users import find_user


class ConflictRefused(ReviewError, ValueError):
    def __init__(self, problem: str):
        self.problem = problem
        super().__init__(problem)


def add_conflict(session: Session, actor: str, username: str, officer: str, reason: str) -> store.ReviewerConflict:
    """Recuse `username` from the calls of `officer` (as decision logs name them), for `reason`.

    Raises:
        ConflictRefused: no such user, no officer name, no reason, or the same conflict twice (each audited).
    """
    problem = None
    if find_user(session, username) is None:
        problem = f"no user {username!r}"
    elif not store.officer_key(officer):
        problem = f"officer {officer!r}: give the officer's name as the decision logs write it"
    elif not reason.strip():
        problem = "a reason is required: say what ties the reviewer to the officer"
    elif store.find_conflict(session, username, officer) is not None:
        problem = f"{username} already has a conflict with {officer!r}"
    if problem is not None:
        commit_event(session, actor=actor, action="conflict_add", object_type="user", object_id=username,
                     outcome="refused", detail={"officer": officer, "reason": reason, "problem": problem})
        raise ConflictRefused(problem)
    row = store.add_conflict(session, username=username, officer=officer, reason=reason, created_by=actor)
    commit_event(session, actor=actor, action="conflict_add", object_type="user", object_id=username,
                 detail={"officer": row.officer, "officer_key": row.officer_key, "reason": row.reason})
    return row


def remove_conflict(session: Session, actor: str, username: str, officer: str) -> None:
    """End a recusal (audited with the conflict as it stood).

    Raises:
        ConflictRefused: there is no such conflict (audited).
    """
    row = store.find_conflict(session, username, officer)
    if row is None:
        problem = f"{username} has no conflict with {officer!r}"
        commit_event(session, actor=actor, action="conflict_remove", object_type="user", object_id=username,
                     outcome="not_found", detail={"officer": officer, "problem": problem})
        raise ConflictRefused(problem)
    detail = {"officer": row.officer, "officer_key": row.officer_key, "reason": row.reason,
              "added_by": row.created_by}
    store.remove_conflict(session, row)
    commit_event(session, actor=actor, action="conflict_remove", object_type="user", object_id=username, detail=detail)


def view_conflicts(session: Session, actor: str, username: str | None = None) -> list[store.ReviewerConflict]:
    """Every conflict (or one user's), audited as `view_conflicts`."""
    rows = store.list_conflicts(session, username)
    commit_event(session, actor=actor, action="view_conflicts", object_type="user", object_id=username or "all",
                 detail={"conflicts": len(rows)})
    return rows


def recusal(session: Session, reviewer: str, officer: str | None) -> store.ReviewerConflict | None:
    """The conflict that keeps `reviewer` from a call of `officer`, if any (read only)."""
    return store.find_conflict(session, reviewer, officer)
