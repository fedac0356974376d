"""Queries and writes for review items and dispositions."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, func, select

from callreview.storage.tables import AssessmentRecord, Call, DecisionLogRecord, Disposition, ReviewItem, utcnow


def item_for_assessment(session: Session, assessment_pk: int) -> ReviewItem | None:
    return session.exec(select(ReviewItem).where(ReviewItem.assessment_pk == assessment_pk)).first()


def add_review_item(session: Session, assessment: AssessmentRecord, reasons: list[str] | None = None) -> ReviewItem:
    """An open item for `assessment`, with its reasons, or `reasons` (an audit draw's `random_audit`)."""
    item = ReviewItem(call_pk=assessment.call_pk, assessment_pk=assessment.id, verdict=assessment.verdict,
                      reasons_json=assessment.reasons_json if reasons is None else json.dumps(reasons),
                      status="open")
    session.add(item)
    session.flush()
    return item


def open_items_for_call(session: Session, call_pk: int) -> list[ReviewItem]:
    return list(session.exec(select(ReviewItem).where(ReviewItem.call_pk == call_pk, ReviewItem.status == "open")))


def close_item(session: Session, item: ReviewItem, reason: str) -> None:
    item.status, item.closed_at, item.close_reason = "closed", utcnow(), reason
    session.add(item)
    session.flush()


@dataclass(frozen=True)
class QueueRow:
    item_id: int
    call_id: str
    verdict: str
    reasons: list[str]
    status: str
    claimed_by: str | None
    claimed_at: datetime | None
    created_at: datetime
    received_at: datetime | None
    commanding_officer: str | None
    decision: str | None


def list_items(session: Session, *, status: str | None = "open", reason: str | None = None,
               officer: str | None = None, received_from: datetime | None = None,
               received_before: datetime | None = None) -> list[QueueRow]:
    """Review items in the order they were queued, filtered in the database.

    Args:
        status: open or closed; None for both.
        reason: only items with this reason.
        officer: only items whose commanding officer's name contains this, ignoring case (ASCII letters:
            SQLite's lower() folds no others, so the caller checks other letters itself).
        received_from, received_before: only calls received in [from, before) (UTC instants); a call
            with no logged time is left out when either is given.
    """
    stmt = (select(ReviewItem, Call, DecisionLogRecord)
            .join(Call, Call.id == ReviewItem.call_pk)
            .join(DecisionLogRecord, DecisionLogRecord.call_pk == Call.id, isouter=True)
            .order_by(ReviewItem.created_at, ReviewItem.id))
    if status:
        stmt = stmt.where(ReviewItem.status == status)
    if reason:
        # reasons_json is a JSON list of vocabulary words, so the quoted word matches only that reason
        stmt = stmt.where(ReviewItem.reasons_json.contains(json.dumps(reason), autoescape=True))
    if officer:
        stmt = stmt.where(func.lower(DecisionLogRecord.commanding_officer).contains(officer.lower(), autoescape=True))
    if received_from is not None:
        stmt = stmt.where(DecisionLogRecord.received_at >= received_from)
    if received_before is not None:
        stmt = stmt.where(DecisionLogRecord.received_at < received_before)
    return [QueueRow(item_id=item.id, call_id=call.call_id, verdict=item.verdict,
                     reasons=json.loads(item.reasons_json), status=item.status, claimed_by=item.claimed_by,
                     claimed_at=item.claimed_at, created_at=item.created_at,
                     received_at=log.received_at if log else None,
                     commanding_officer=log.commanding_officer if log else None,
                     decision=log.decision if log else None)
            for item, call, log in session.exec(stmt)]


def queue_officers(session: Session, *, status: str | None = "open") -> list[str]:
    """Every commanding officer named by an item of `status` (None: any), sorted: the queue's filter list."""
    stmt = (select(DecisionLogRecord.commanding_officer).distinct()
            .join(ReviewItem, ReviewItem.call_pk == DecisionLogRecord.call_pk)
            .where(DecisionLogRecord.commanding_officer.is_not(None), DecisionLogRecord.commanding_officer != ""))
    if status:
        stmt = stmt.where(ReviewItem.status == status)
    return sorted(session.exec(stmt))


def items_for_call(session: Session, call_pk: int) -> list[ReviewItem]:
    return list(session.exec(select(ReviewItem).where(ReviewItem.call_pk == call_pk).order_by(ReviewItem.id)))


def dispositions_for_call(session: Session, call_pk: int) -> list[Disposition]:
    stmt = (select(Disposition).join(ReviewItem, ReviewItem.id == Disposition.review_item_pk)
            .where(ReviewItem.call_pk == call_pk).order_by(Disposition.created_at))
    return list(session.exec(stmt))
