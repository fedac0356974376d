"""Audit sampling: consistent calls of a period drawn into the queue with reason `random_audit`.

The draw itself is `callreview.core.sampling` (reproducible from the recordings alone). Here it is applied:
each drawn call whose current assessment has no review item yet gets one, and the whole draw is one
`sample` audit event (object `period`/FROM..TO) naming the seed, the settings, the calls drawn and the
items made, in the same transaction. A dry run makes no item and is audited with outcome `dry_run`.
Drawing the same period again finds the same calls and makes nothing new.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

from callreview.core.sampling import Candidate, Draw, draw_audit_sample
from callreview.core.vocabulary import Reason
from callreview.service.audited import commit_event
from callreview.storage.dates import DateOutOfRange, check_period
from callreview.storage.evidence import item_states
from callreview.storage.queue import add_review_item
from callreview.storage.reporting import sample_rows
from callreview.storage.tables import AssessmentRecord


@dataclass(frozen=True)
class SampleResult:
    date_from: date
    date_to: date
    rate: float
    minimum: int
    draw: Draw
    created: dict[str, int]  # call id -> the review item made for it now
    already: dict[str, int]  # call id -> the item it already had (an earlier draw of the same period)
    dry_run: bool


def sample_consistent_calls(session: Session, actor: str, date_from: date, date_to: date, rate: float, *,
                            minimum: int = 0, dry_run: bool = False,
                            day_names: tuple[str, str] = ("date_from", "date_to")) -> SampleResult:
    """Draw consistent calls of the period for audit; queue them unless `dry_run`.

    Args:
        session: an open session; committed once, with the `sample` audit event.
        actor: who draws, as the audit log names them (the CLI user, or the batch).
        date_from, date_to: the period, whole UTC days by when calls were received (as in the report).
        rate: the share of consistent calls to draw, 0 < rate <= 1 (APCO/NENA QA: at least 0.02).
        minimum: draw at least this many when there are that many.
        dry_run: show the draw, queue nothing.
        day_names: how the caller names the two days in messages (the CLI's `--from` and `--to`).

    Raises:
        DateOutOfRange: a day outside storage.dates' range (audited, outcome `invalid_date_from`/`_to`).
        ValueError: `date_to` before `date_from`, a rate outside (0, 1], or a negative minimum (audited,
            outcome `invalid`).
    """
    period = f"{date_from}..{date_to}"
    try:
        check_period(date_from, date_to, day_names)
        if date_to < date_from:
            raise ValueError(f"{day_names[1]} {date_to} is before {day_names[0]} {date_from}")
        rows = sample_rows(session, date_from, date_to)
        draw = draw_audit_sample([Candidate(r.call_id, r.sha256, r.received_at, r.officer, r.verdict)
                                  for r in rows], rate, minimum)
    except ValueError as exc:  # DateOutOfRange is one too
        outcome = f"invalid_{exc.field}" if isinstance(exc, DateOutOfRange) else "invalid"
        commit_event(session, actor=actor, action="sample", object_type="period", object_id=period, outcome=outcome,
                     detail={"rate": rate, "minimum": minimum, "error": str(exc)})
        raise
    by_id = {r.call_id: r for r in rows}
    already = {cid: by_id[cid].item_id for cid in draw.chosen if by_id[cid].item_id is not None}
    created: dict[str, int] = {}
    if not dry_run:
        for call_id in draw.chosen:
            if call_id not in already:
                assessment = session.get(AssessmentRecord, by_id[call_id].assessment_pk)
                created[call_id] = add_review_item(session, assessment, [Reason.random_audit]).id
    detail = {"seed": draw.seed, "rate": rate, "minimum": minimum, "calls_in_period": draw.calls_in_period,
              "consistent": draw.consistent, "chosen": list(draw.chosen), "strata": draw.strata,
              "created": created, "already_queued": already}
    if created:  # the new items' states go into the keyed log, which `verify` checks them by
        detail["review_items"] = item_states(session, item_ids=list(created.values()))
    commit_event(session, actor=actor, action="sample", object_type="period", object_id=period,
                 outcome="dry_run" if dry_run else "ok", detail=detail)
    return SampleResult(date_from, date_to, rate, minimum, draw, created, already, dry_run)
