"""Read-only queries behind the transparency report and the disposition export.

A call belongs to a period by its logged `received_at` (UTC); a call with no log has no received time,
so it is counted by when it was taken in (`call.created_at`) and listed as `missing_log`. Each query
returns plain rows; `callreview.service.report` turns them into tables and a chart.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, or_
from sqlmodel import Session, select

from callreview.storage.dates import as_utc, check_period, day_start
from callreview.storage.tables import AssessmentRecord, Call, DecisionLogRecord, Disposition, ReviewItem


def period_bounds(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    """[start, end) in UTC for whole days `date_from`..`date_to`, both included.

    Raises:
        DateOutOfRange: a day lies outside callreview.storage.dates.FIRST_DAY..LAST_DAY.
    """
    check_period(date_from, date_to)
    return day_start(date_from), day_start(date_to) + timedelta(days=1)


@dataclass(frozen=True)
class PeriodCall:
    """One call of the period with what the report counts about it."""

    call_id: str
    at: datetime
    decision: str | None
    basis: tuple[str, ...]
    verdict: str | None
    reasons: tuple[str, ...]
    notes: str | None
    people: tuple[str, ...]  # names the log gives (officer, requester), for redacting quotes


def _period(session: Session, date_from: date, date_to: date):
    """(call, its log or None, its current assessment or None) for each call of the period."""
    start, end = period_bounds(date_from, date_to)
    return session.exec(
        select(Call, DecisionLogRecord, AssessmentRecord)
        .join(DecisionLogRecord, DecisionLogRecord.call_pk == Call.id, isouter=True)
        .join(AssessmentRecord, and_(AssessmentRecord.call_pk == Call.id,
                                     AssessmentRecord.is_current == True), isouter=True)  # noqa: E712
        .where(or_(and_(DecisionLogRecord.received_at >= start, DecisionLogRecord.received_at < end),
                   and_(DecisionLogRecord.id.is_(None), Call.created_at >= start, Call.created_at < end)))
        .order_by(Call.id))


def calls_in_period(session: Session, date_from: date, date_to: date) -> list[PeriodCall]:
    """Every call received (or, with no log, taken in) in the period, oldest first."""
    rows = []
    for call, log, assessment in _period(session, date_from, date_to):
        at = log.received_at if log is not None else call.created_at
        rows.append(PeriodCall(
            call_id=call.call_id, at=as_utc(at), decision=log.decision if log else None,
            basis=tuple(json.loads(log.basis_json)) if log else (), verdict=assessment.verdict if assessment else None,
            reasons=tuple(json.loads(assessment.reasons_json)) if assessment else (),
            notes=log.notes if log else None,
            people=tuple(p for p in ((log.commanding_officer, log.requester) if log else ()) if p)))
    return sorted(rows, key=lambda r: (r.at, r.call_id))


@dataclass(frozen=True)
class SampleRow:
    """A call of the period as the audit draw needs it (callreview.core.sampling.Candidate, plus where it is)."""

    call_pk: int
    call_id: str
    sha256: str
    received_at: datetime
    officer: str | None
    verdict: str | None
    assessment_pk: int | None
    item_id: int | None  # the review item already made for the current assessment, if any


def sample_rows(session: Session, date_from: date, date_to: date) -> list[SampleRow]:
    """Every call of the period (as `calls_in_period` counts them) with its recording hash and review item."""
    rows = [(call, log, assessment) for call, log, assessment in _period(session, date_from, date_to)]
    assessed = [a.id for _, _, a in rows if a is not None]
    items = dict(session.exec(select(ReviewItem.assessment_pk, ReviewItem.id)
                              .where(ReviewItem.assessment_pk.in_(assessed))).all()) if assessed else {}
    return [SampleRow(call_pk=call.id, call_id=call.call_id, sha256=call.sha256,
                      received_at=as_utc(log.received_at if log is not None else call.created_at),
                      officer=log.commanding_officer if log is not None else None,
                      verdict=assessment.verdict if assessment is not None else None,
                      assessment_pk=assessment.id if assessment is not None else None,
                      item_id=items.get(assessment.id) if assessment is not None else None)
            for call, log, assessment in rows]


def finding_pairs(session: Session, call_ids: list[str]) -> list[tuple[str, str]]:
    """(first finding, second finding) of every double-reviewed item of these calls that has both."""
    if not call_ids:
        return []
    stmt = (select(Disposition.review_item_pk, Disposition.stage, Disposition.disposition)
            .join(ReviewItem, ReviewItem.id == Disposition.review_item_pk).join(Call, Call.id == ReviewItem.call_pk)
            .where(Call.call_id.in_(call_ids), Disposition.stage.in_(("first", "second")))
            .order_by(Disposition.review_item_pk, Disposition.id))
    found: dict[int, dict[str, str]] = {}
    for item_id, stage, disposition in session.exec(stmt):
        found.setdefault(item_id, {})[stage] = disposition
    return [(f["first"], f["second"]) for _, f in sorted(found.items()) if "first" in f and "second" in f]


@dataclass(frozen=True)
class DispositionRow:
    """A reviewer's disposition of a review item, with the item's call and reasons."""

    disposition_id: int
    item_id: int
    call_id: str
    verdict: str
    reasons: tuple[str, ...]
    item_status: str
    reviewer: str
    disposition: str
    note: str
    at: datetime


def list_dispositions(session: Session, date_from: date | None = None,
                      date_to: date | None = None) -> list[DispositionRow]:
    """Dispositions, oldest first; with dates, only those recorded in that period (UTC days, inclusive)."""
    stmt = (select(Disposition, ReviewItem, Call)
            .join(ReviewItem, ReviewItem.id == Disposition.review_item_pk)
            .join(Call, Call.id == ReviewItem.call_pk)
            .order_by(Disposition.created_at, Disposition.id))
    if date_from is not None and date_to is not None:
        start, end = period_bounds(date_from, date_to)
        stmt = stmt.where(Disposition.created_at >= start, Disposition.created_at < end)
    return [DispositionRow(disposition_id=d.id, item_id=item.id, call_id=call.call_id, verdict=item.verdict,
                           reasons=tuple(json.loads(item.reasons_json)), item_status=item.status,
                           reviewer=d.reviewer, disposition=d.disposition, note=d.note, at=as_utc(d.created_at))
            for d, item, call in session.exec(stmt)]


def dispositions_of_calls(session: Session, call_ids: list[str]) -> Counter:
    """How reviewers disposed of the review items of these calls: {(reason, disposition): count}.

    Only the items of each call's current assessment count (a re-check closes and replaces earlier ones).
    An item with several dispositions counts its latest; an item not yet disposed counts as "pending".
    """
    if not call_ids:
        return Counter()
    stmt = (select(ReviewItem, Call).join(Call, Call.id == ReviewItem.call_pk)
            .join(AssessmentRecord, AssessmentRecord.id == ReviewItem.assessment_pk)
            .where(Call.call_id.in_(call_ids), AssessmentRecord.is_current == True)  # noqa: E712
            .order_by(ReviewItem.id))
    items = list(session.exec(stmt))
    latest: dict[int, str] = {}
    if items:
        for d in session.exec(select(Disposition).where(Disposition.review_item_pk.in_([i.id for i, _ in items]))
                              .order_by(Disposition.created_at, Disposition.id)):
            latest[d.review_item_pk] = d.disposition
    counts: Counter = Counter()
    for item, _call in items:
        for reason in json.loads(item.reasons_json) or ["(none)"]:
            counts[(reason, latest.get(item.id, "pending"))] += 1
    return counts


