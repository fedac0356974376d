"""Writes on a review item: claim it, release it, record a disposition (which closes it).

Each write is one conditional UPDATE (`... WHERE status = 'open' AND claimed_by ...`), so two reviewers
who act at the same moment cannot both win: the database decides, not a read-then-write in Python.
Functions never commit; the caller commits together with the audit event.

A claim made before `stale_before` (the caller's clock minus the claim lifetime, a web setting) has
expired: it no longer keeps anyone else from claiming or disposing of the item. Admins release claims
(`release_claim`), and deactivating a user releases all of theirs (`release_claims_of`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, or_, update
from sqlmodel import Session, select

from callreview.storage.errors import StorageError
from callreview.storage.tables import Call, DecisionLogRecord, Disposition, ReviewItem, utcnow


class ItemNotAvailable(StorageError):
    """The item is closed, missing, or claimed by someone else."""

    def __init__(self, item_id: int, problem: str):
        self.item_id, self.problem = item_id, problem
        super().__init__(f"review item {item_id}: {problem}")


class InvalidDisposition(StorageError, ValueError):
    def __init__(self, item_id: int, problem: str):
        self.item_id, self.problem = item_id, problem
        super().__init__(f"review item {item_id}: {problem}")


def _why_not(session: Session, item_id: int, reviewer: str | None) -> str:
    item = session.get(ReviewItem, item_id, populate_existing=True)
    if item is None:
        return "no such item"
    if item.status != "open":
        return f"already {item.status}" + (f" ({item.close_reason})" if item.close_reason else "")
    if reviewer is None and not item.claimed_by:
        return "not claimed by anyone"
    if item.claimed_by and item.claimed_by != reviewer:
        return f"claimed by {item.claimed_by}"
    return "changed while you were working on it; reload the page"


def _free_for(reviewer: str, stale_before: datetime | None):
    """SQL: the item is unclaimed, claimed by `reviewer`, or claimed before `stale_before` (expired)."""
    free = [ReviewItem.claimed_by.is_(None), ReviewItem.claimed_by == reviewer]
    if stale_before is not None:
        free.append(ReviewItem.claimed_at < stale_before)
    return or_(*free)


def claim_expired(claimed_at: datetime | None, stale_before: datetime | None) -> bool:
    """Whether a claim made at `claimed_at` has expired (a claim with no time never expires)."""
    if claimed_at is None or stale_before is None:
        return False
    if claimed_at.tzinfo is None:  # SQLite hands back naive UTC
        claimed_at = claimed_at.replace(tzinfo=stale_before.tzinfo)
    return claimed_at < stale_before


def _claimant(session: Session, item_id: int) -> str | None:
    return session.exec(select(ReviewItem.claimed_by).where(ReviewItem.id == item_id)).first()


def call_id_of_item(session: Session, item_id: int) -> str | None:
    """The call_id of a review item's call, or None for an unknown item."""
    return session.exec(select(Call.call_id).join(ReviewItem, ReviewItem.call_pk == Call.id)
                        .where(ReviewItem.id == item_id)).first()


def officer_of_item(session: Session, item_id: int) -> str | None:
    """The commanding officer the decision log of a review item's call names, or None."""
    return session.exec(select(DecisionLogRecord.commanding_officer)
                        .join(ReviewItem, ReviewItem.call_pk == DecisionLogRecord.call_pk)
                        .where(ReviewItem.id == item_id)).first()


@dataclass(frozen=True)
class Claim:
    item: ReviewItem
    expired_claim_of: str | None  # whose expired claim this one replaced, if any


def claim_item(session: Session, item_id: int, reviewer: str, *, stale_before: datetime | None = None) -> Claim:
    """Mark an open item as worked by `reviewer` (claiming one's own item again renews the claim).

    Args:
        stale_before: claims made before this instant have expired and are taken over; None: never.

    Raises:
        ItemNotAvailable: closed, missing, or claimed by another reviewer whose claim has not expired.
    """
    before = _claimant(session, item_id)
    result = session.exec(
        update(ReviewItem)
        .where(ReviewItem.id == item_id, ReviewItem.status == "open", _free_for(reviewer, stale_before))
        .values(claimed_by=reviewer, claimed_at=utcnow()))
    if result.rowcount != 1:
        raise ItemNotAvailable(item_id, _why_not(session, item_id, reviewer))
    item = session.get(ReviewItem, item_id, populate_existing=True)
    return Claim(item=item, expired_claim_of=before if before not in (None, reviewer) else None)


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


def release_claim(session: Session, item_id: int) -> str:
    """Release whoever's claim an open item has (an admin's action); return whose it was.

    Raises:
        ItemNotAvailable: closed, missing, or not claimed.
    """
    holder = _claimant(session, item_id)
    if holder is not None:
        # Only the claim just read: a claim someone took a moment ago is theirs, not this release's.
        result = session.exec(
            update(ReviewItem)
            .where(ReviewItem.id == item_id, ReviewItem.status == "open", ReviewItem.claimed_by == holder)
            .values(claimed_by=None, claimed_at=None))
        if result.rowcount == 1:
            return holder
    raise ItemNotAvailable(item_id, _why_not(session, item_id, None))


def release_claims_of(session: Session, reviewer: str) -> list[tuple[int, str]]:
    """Release every open item `reviewer` holds; return (item id, call id) of each, in id order."""
    held = list(session.exec(select(ReviewItem.id, Call.call_id).join(Call, Call.id == ReviewItem.call_pk)
                             .where(ReviewItem.status == "open", ReviewItem.claimed_by == reviewer)
                             .order_by(ReviewItem.id)))
    if held:
        session.exec(update(ReviewItem)
                     .where(ReviewItem.id.in_([item_id for item_id, _ in held]), ReviewItem.status == "open",
                            ReviewItem.claimed_by == reviewer)
                     .values(claimed_by=None, claimed_at=None))
    return [(item_id, call_id) for item_id, call_id in held]


def add_finding(session: Session, item_id: int, *, reviewer: str, disposition: str, note: str, stage: str,
                outcome: str, stale_before: datetime | None = None) -> Disposition:
    """Record one of the two blind findings of a double review, in the caller's transaction.

    `outcome` is what the item becomes: `open` after the first finding (claim released, so a second
    reviewer may take it), `closed` when the second agrees, `adjudication` when it does not.

    Raises:
        InvalidDisposition: an empty note.
        ItemNotAvailable: closed, missing, awaiting adjudication, or claimed by another reviewer.
    """
    note = (note or "").strip()
    if not note:
        raise InvalidDisposition(item_id, "a note is required: say why")
    now = utcnow()
    closing = {"closed_at": now, "close_reason": f"disposition: {disposition} (two reviewers agreed)"} \
        if outcome == "closed" else {}
    result = session.exec(
        update(ReviewItem)
        .where(ReviewItem.id == item_id, ReviewItem.status == "open", _free_for(reviewer, stale_before))
        .values(status=outcome, claimed_by=None, claimed_at=None, **closing))
    if result.rowcount != 1:
        raise ItemNotAvailable(item_id, _why_not(session, item_id, reviewer))
    row = Disposition(review_item_pk=item_id, reviewer=reviewer, disposition=disposition, note=note,
                      created_at=now, stage=stage)
    session.add(row)
    session.flush()
    return row


def add_adjudication(session: Session, item_id: int, *, lead: str, disposition: str, note: str) -> Disposition:
    """Record the lead's finding on an item the two reviewers disagreed on, and close it.

    Raises:
        InvalidDisposition: an empty note.
        ItemNotAvailable: the item is not awaiting adjudication.
    """
    note = (note or "").strip()
    if not note:
        raise InvalidDisposition(item_id, "a note is required: say why")
    now = utcnow()
    result = session.exec(
        update(ReviewItem).where(ReviewItem.id == item_id, ReviewItem.status == "adjudication")
        .values(status="closed", closed_at=now, close_reason=f"disposition: {disposition} (adjudicated)",
                claimed_by=lead, claimed_at=now))
    if result.rowcount != 1:
        item = session.get(ReviewItem, item_id, populate_existing=True)
        raise ItemNotAvailable(item_id, "no such item" if item is None else f"is {item.status}, not awaiting adjudication")
    row = Disposition(review_item_pk=item_id, reviewer=lead, disposition=disposition, note=note, created_at=now,
                      stage="adjudication")
    session.add(row)
    session.flush()
    return row


def findings_of(session: Session, item_id: int) -> list[Disposition]:
    """The double-review findings recorded on an item so far, first one first."""
    return list(session.exec(select(Disposition).where(Disposition.review_item_pk == item_id,
                                                       Disposition.stage.in_(("first", "second")))
                             .order_by(Disposition.id)))


def add_disposition(session: Session, item_id: int, *, reviewer: str, disposition: str,
                    note: str, stale_before: datetime | None = None) -> Disposition:
    """Record a reviewer's disposition and close the item, in the caller's transaction.

    An unclaimed item is claimed by the same statement, so the item always shows who closed it.

    Args:
        item_id: the review item.
        reviewer: who decides (the web app passes the signed-in username).
        disposition: the outcome (the service checks it is one of core.vocabulary.Disposition).
        note: why; required, surrounding whitespace removed.
        stale_before: claims made before this instant have expired (see `claim_item`); None: never.

    Raises:
        InvalidDisposition: an empty note.
        ItemNotAvailable: closed, missing, or claimed by another reviewer.
    """
    note = (note or "").strip()
    if not note:
        raise InvalidDisposition(item_id, "a note is required: say why")
    now = utcnow()
    result = session.exec(
        update(ReviewItem)
        .where(ReviewItem.id == item_id, ReviewItem.status == "open", _free_for(reviewer, stale_before))
        .values(status="closed", closed_at=now, close_reason=f"disposition: {disposition}",
                claimed_by=reviewer,
                # keep the reviewer's own claim time; an unclaimed or taken-over item is claimed now
                claimed_at=case((ReviewItem.claimed_by == reviewer, func.coalesce(ReviewItem.claimed_at, now)),
                                else_=now)))
    if result.rowcount != 1:
        raise ItemNotAvailable(item_id, _why_not(session, item_id, reviewer))
    row = Disposition(review_item_pk=item_id, reviewer=reviewer, disposition=disposition, note=note,
                      created_at=now)
    session.add(row)
    session.flush()
    return row
