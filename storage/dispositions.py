"""Writes a reviewer makes on a review item: claim it, release it, record a disposition (which closes it).

Each write is one conditional UPDATE (`... WHERE status = 'open' AND claimed_by ...`), so two reviewers
who act at the same moment cannot both win: the database decides, not a read-then-write in Python.
Functions never commit; the caller commits together with the audit event.
"""
from __future__ import annotations

from sqlalchemy import func, or_, update
from sqlmodel import Session, select

from storage.errors import StorageError
from storage.tables import Call, Disposition, ReviewItem, utcnow

DISPOSITIONS = ("confirmed", "dismissed", "escalated")


class ItemNotAvailable(StorageError):
    """The item is closed, missing, or claimed by someone else."""

    def __init__(self, item_id: int, problem: str):
        self.item_id, self.problem = item_id, problem
        super().__init__(f"review item {item_id}: {problem}")


class InvalidDisposition(StorageError, ValueError):
    def __init__(self, item_id: int, problem: str):
        self.item_id, self.problem = item_id, problem
        super().__init__(f"review item {item_id}: {problem}")


def _why_not(session: Session, item_id: int, reviewer: str) -> str:
    item = session.get(ReviewItem, item_id, populate_existing=True)
    if item is None:
        return "no such item"
    if item.status != "open":
        return f"already {item.status}" + (f" ({item.close_reason})" if item.close_reason else "")
    if item.claimed_by and item.claimed_by != reviewer:
        return f"claimed by {item.claimed_by}"
    return "changed while you were working on it; reload the page"


def call_id_of_item(session: Session, item_id: int) -> str | None:
    """The call_id of a review item's call, or None for an unknown item."""
    return session.exec(select(Call.call_id).join(ReviewItem, ReviewItem.call_pk == Call.id)
                        .where(ReviewItem.id == item_id)).first()


def claim_item(session: Session, item_id: int, reviewer: str) -> ReviewItem:
    """Mark an open item as worked by `reviewer` (claiming one's own item again is a no-op).

    Raises:
        ItemNotAvailable: closed, missing, or claimed by another reviewer.
    """
    result = session.exec(
        update(ReviewItem)
        .where(ReviewItem.id == item_id, ReviewItem.status == "open",
               or_(ReviewItem.claimed_by.is_(None), ReviewItem.claimed_by == reviewer))
        .values(claimed_by=reviewer, claimed_at=utcnow()))
    if result.rowcount != 1:
        raise ItemNotAvailable(item_id, _why_not(session, item_id, reviewer))
    return session.get(ReviewItem, item_id, populate_existing=True)


def release_item(session: Session, item_id: int, reviewer: str) -> None:
    """Give back an item `reviewer` claimed, so a colleague can take it.

    Raises:
        ItemNotAvailable: not open, or not claimed by `reviewer`.
    """
    result = session.exec(
        update(ReviewItem)
        .where(ReviewItem.id == item_id, ReviewItem.status == "open", ReviewItem.claimed_by == reviewer)
        .values(claimed_by=None, claimed_at=None))
    if result.rowcount != 1:
        raise ItemNotAvailable(item_id, _why_not(session, item_id, reviewer))


def add_disposition(session: Session, item_id: int, *, reviewer: str, disposition: str,
                    note: str) -> Disposition:
    """Record a reviewer's disposition and close the item, in the caller's transaction.

    An unclaimed item is claimed by the same statement, so the item always shows who closed it.

    Args:
        item_id: the review item.
        reviewer: who decides (the web app passes the signed-in username).
        disposition: one of DISPOSITIONS.
        note: why; required, surrounding whitespace removed.

    Raises:
        InvalidDisposition: unknown disposition or an empty note.
        ItemNotAvailable: closed, missing, or claimed by another reviewer.
    """
    if disposition not in DISPOSITIONS:
        raise InvalidDisposition(item_id, f"disposition must be one of {', '.join(DISPOSITIONS)}, "
                                          f"got {disposition!r}")
    note = (note or "").strip()
    if not note:
        raise InvalidDisposition(item_id, "a note is required: say why")
    now = utcnow()
    result = session.exec(
        update(ReviewItem)
        .where(ReviewItem.id == item_id, ReviewItem.status == "open",
               or_(ReviewItem.claimed_by.is_(None), ReviewItem.claimed_by == reviewer))
        .values(status="closed", closed_at=now, close_reason=f"disposition: {disposition}",
                claimed_by=reviewer, claimed_at=func.coalesce(ReviewItem.claimed_at, now)))
    if result.rowcount != 1:
        raise ItemNotAvailable(item_id, _why_not(session, item_id, reviewer))
    row = Disposition(review_item_pk=item_id, reviewer=reviewer, disposition=disposition, note=note,
                      created_at=now)
    session.add(row)
    session.flush()
    return row
