"""The review queue as reviewers see it: severity, age, filters and sort order over `callreview.storage.queue` rows.

Severity ranks what internal affairs should open first (documented in docs/web.md):
- high: officers went where policy forbids (`door_knock_request_dispatched`, `dispatch_without_basis`)
  or stayed away from a danger (`declined_despite_emergency`);
- medium: the record cannot support the decision (`basis_not_in_transcript`, `missing_log`,
  `transcript_unusable`: someone must listen to the call);
- low: paperwork (`basis_not_logged`).
An item's severity is that of its worst reason.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo

from callreview.core.policy import REASON_TEXT
from callreview.core.vocabulary import REASON_INFO
from callreview.storage.dispositions import claim_expired
from callreview.storage.queue import QueueRow
from callreview.storage.dates import as_utc

SEVERITY_OF_REASON = {reason: info.severity for reason, info in REASON_INFO.items()}
SEVERITY_RANK = {"high": 3, "medium": 2, "low": 1}
SORTS = {
    "severity": "severity, then oldest first",
    "age": "oldest first",
    "call_time": "call time, newest first",
    "officer": "officer",
}


def item_severity(reasons: list[str]) -> str:
    """The worst severity among `reasons` (an unknown reason counts as medium: a human must look)."""
    ranks = [SEVERITY_RANK[SEVERITY_OF_REASON.get(r, "medium")] for r in reasons] or [SEVERITY_RANK["medium"]]
    return {v: k for k, v in SEVERITY_RANK.items()}[max(ranks)]


def format_age(since: datetime, now: datetime) -> str:
    """`3 d`, `5 h` or `12 min`: how long an item has waited."""
    delta = now - as_utc(since)
    if delta >= timedelta(days=1):
        return f"{delta.days} d"
    if delta >= timedelta(hours=1):
        return f"{delta.seconds // 3600} h"
    return f"{max(delta.seconds // 60, 0)} min"


@dataclass(frozen=True)
class QueueFilters:
    """What the queue page was asked for; every field comes from the query string, already checked."""

    status: str = "open"  # open | closed | all
    reason: str | None = None
    officer: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    severity: str | None = None
    sort: str = "severity"


@dataclass(frozen=True)
class QueueEntry:
    row: QueueRow
    severity: str
    age: str
    reasons_text: list[str]
    claim_expired: bool = False  # claimed, but so long ago that anyone may claim it now
    recused: bool = False  # the viewer has a conflict with the call's officer: not theirs to take


def _local_day(value: datetime | None, zone: tzinfo) -> date | None:
    return as_utc(value).astimezone(zone).date() if value else None


def sql_filters(filters: QueueFilters, zone: tzinfo) -> dict:
    """The filters the database applies (`callreview.storage.queue.list_items` keywords): reason, officer
    (ASCII only: SQLite folds the case of no other letters) and the days, as UTC instants of `zone`'s
    midnights. Severity is the worst reason's, so it stays with `queue_entries`, which checks all of them."""
    officer = (filters.officer or "").strip()
    out: dict = {"reason": filters.reason or None, "officer": officer if officer and officer.isascii() else None}
    if filters.date_from:
        out["received_from"] = _midnight(filters.date_from, zone)
    if filters.date_to:
        out["received_before"] = _midnight(filters.date_to + timedelta(days=1), zone)
    return out


def _midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(timezone.utc)


def queue_entries(rows: list[QueueRow], filters: QueueFilters, *, now: datetime, zone: tzinfo,
                  stale_before: datetime | None = None) -> list[QueueEntry]:
    """Filter and sort queue rows; dates are compared as days in the app's time zone.

    Claims made before `stale_before` are marked expired.
    """
    officer = (filters.officer or "").strip().lower()
    entries = []
    for row in rows:
        if filters.reason and filters.reason not in row.reasons:
            continue
        if officer and officer not in (row.commanding_officer or "").lower():
            continue
        day = _local_day(row.received_at, zone)
        if filters.date_from and (day is None or day < filters.date_from):
            continue
        if filters.date_to and (day is None or day > filters.date_to):
            continue
        severity = item_severity(row.reasons)
        if filters.severity and severity != filters.severity:
            continue
        entries.append(QueueEntry(row=row, severity=severity, age=format_age(row.created_at, now),
                                  reasons_text=[REASON_TEXT.get(r, r) for r in row.reasons],
                                  claim_expired=bool(row.claimed_by) and claim_expired(row.claimed_at, stale_before)))
    return sort_entries(entries, filters.sort)


def sort_entries(entries: list[QueueEntry], sort: str) -> list[QueueEntry]:
    """Order entries by one of SORTS (unknown sorts fall back to severity)."""
    oldest = sorted(entries, key=lambda e: (as_utc(e.row.created_at), e.row.item_id))
    if sort == "age":
        return oldest
    if sort == "call_time":
        dated = [e for e in oldest if e.row.received_at]
        return (sorted(dated, key=lambda e: as_utc(e.row.received_at), reverse=True)
                + [e for e in oldest if not e.row.received_at])
    if sort == "officer":
        return sorted(oldest, key=lambda e: ((e.row.commanding_officer or "\uffff").lower()))
    return sorted(oldest, key=lambda e: -SEVERITY_RANK[e.severity])

