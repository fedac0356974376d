"""Recusal: the officers a reviewer must not judge (a personal tie, a close working relationship).

A conflict names a reviewer and an officer as the decision logs write them; they are compared by
`officer_key` (case, punctuation and rank words ignored), so "Sgt. P. Lowry" in a log matches a conflict
entered as "p lowry". Rows are deleted when a conflict is removed; the audit log keeps who added and
removed it, and why.
"""
from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, Session, SQLModel, select

from callreview.storage.dates import utcnow
from callreview.storage.errors import StorageError

# Ranks and titles as commanding officers' names carry them in decision logs; they say nothing of who.
_RANKS = frozenset({"sgt", "sergeant", "lt", "lieutenant", "capt", "captain", "cpt", "officer", "ofc", "po", "det",
                    "detective", "cmdr", "commander", "chief", "deputy", "major", "maj", "col", "colonel", "insp",
                    "inspector", "supervisor", "supv", "cpl", "corporal"})


class ReviewerConflict(SQLModel, table=True):
    __tablename__ = "reviewer_conflict"
    __table_args__ = (UniqueConstraint("username", "officer_key"),)

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(index=True, max_length=64)
    officer: str  # as entered
    officer_key: str = Field(index=True)
    reason: str
    created_by: str
    created_at: datetime = Field(default_factory=utcnow)


class ConflictExists(StorageError, ValueError):
    def __init__(self, username: str, officer: str):
        self.username, self.officer = username, officer
        super().__init__(f"{username} already has a conflict with {officer!r}")


def officer_key(name: str | None) -> str:
    """A name as compared: lower case, letters and digits only, rank words dropped ("Sgt. P. Lowry" -> "p lowry")."""
    words = re.findall(r"[a-z0-9]+", (name or "").lower())
    return " ".join(w for w in words if w not in _RANKS)


def add_conflict(session: Session, *, username: str, officer: str, reason: str, created_by: str) -> ReviewerConflict:
    key = officer_key(officer)
    if find_conflict(session, username, officer) is not None:
        raise ConflictExists(username, officer)
    row = ReviewerConflict(username=username, officer=officer.strip(), officer_key=key, reason=reason.strip(),
                           created_by=created_by)
    session.add(row)
    session.flush()
    return row


def find_conflict(session: Session, username: str, officer: str | None) -> ReviewerConflict | None:
    key = officer_key(officer)
    if not key:
        return None
    return session.exec(select(ReviewerConflict).where(ReviewerConflict.username == username,
                                                       ReviewerConflict.officer_key == key)).first()


def list_conflicts(session: Session, username: str | None = None) -> list[ReviewerConflict]:
    stmt = select(ReviewerConflict).order_by(ReviewerConflict.username, ReviewerConflict.officer_key)
    if username is not None:
        stmt = stmt.where(ReviewerConflict.username == username)
    return list(session.exec(stmt))


def remove_conflict(session: Session, row: ReviewerConflict) -> None:
    session.delete(row)
    session.flush()
