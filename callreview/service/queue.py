"""The review queue: the rule that fills it, and what people do with its items.

DESIGN.md: "Every mismatch and needs_review becomes a review item, once, idempotently." (`queue_assessment`,
used by the batch runs). Below it, a person's actions: view the queue, claim, release, dispose; each
writes its audit event in the same transaction as the action, and refusals are audited too.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone, tzinfo

from sqlmodel import Session

from callreview.core.vocabulary import Disposition, Reason
from callreview.service.audited import commit_event, commit_refusal
from callreview.service.conflicts import recusal
from callreview.service.queue_view import QueueEntry, QueueFilters, item_severity, queue_entries, sql_filters
from callreview.storage import conflicts
from callreview.storage import dispositions as items
from callreview.storage.evidence import item_states
from callreview.storage.queue import (add_review_item, close_item, item_for_assessment, list_items, queue_officers,
                                      open_items_for_call)
from callreview.storage.tables import AssessmentRecord, ReviewItem, utcnow

QUEUED_VERDICTS = ("mismatch", "needs_review")
DISPOSITIONS = tuple(Disposition)


def needs_item(verdict: str) -> bool:
    return verdict in QUEUED_VERDICTS


def queue_assessment(session: Session, assessment: AssessmentRecord) -> tuple[ReviewItem | None, bool]:
    """Make the call's open review items match its current assessment; return (item, created).

    - an item already made for this assessment is returned as is;
    - an open item from an earlier assessment with the same verdict and reasons carries over (a re-check
      under new rules that finds the same problem keeps the reviewer's claim and history);
    - an open audit item (`random_audit`) stays open while the call is still consistent;
    - any other open item no longer applies and is closed with the reason;
    - a new item is opened only when the verdict calls for one and none carried over.
    """
    existing = item_for_assessment(session, assessment.id)
    if existing is not None:
        return existing, False
    carried = None
    for item in open_items_for_call(session, assessment.call_pk):
        if json.loads(item.reasons_json) == [Reason.random_audit] and assessment.verdict == "consistent":
            continue  # drawn for audit and still consistent: the audit stands, under any rules
        same = item.verdict == assessment.verdict and item.reasons_json == assessment.reasons_json
        if same and carried is None and needs_item(assessment.verdict):
            carried = item
        else:
            close_item(session, item, f"no longer applies: assessment {assessment.id} under rules "
                                      f"{assessment.rules_version} is {assessment.verdict}"
                                      + (f" ({', '.join(json.loads(assessment.reasons_json))})"
                                         if assessment.reasons_json != "[]" else ""))
    if carried is not None:
        return carried, False
    if not needs_item(assessment.verdict):
        return None, False
    return add_review_item(session, assessment), True


# --- a person's actions on the queue -------------------------------------------------------------------
# Each writes one audit event (also for a refusal: the conflict is evidence too) and commits once.

@dataclass(frozen=True)
class QueuePage:
    """The review items shown, and every officer named by an item of the asked status (for the filter list)."""

    entries: list[QueueEntry]
    officers: list[str]


def view_queue(session: Session, actor: str, status: str = "open", *, filters: QueueFilters | None = None,
               zone: tzinfo = timezone.utc, claim_lifetime: timedelta | None = None,
               viewer: str | None = None) -> QueuePage:
    """List review items, audited as `view_queue` (object `queue`/STATUS).

    Shared by the queue page and `callreview queue`. Without `filters` every item of `status` is listed
    in the order it was queued and the audit detail is `{"items": N}` (the CLI's row); with them (the
    web page) the items are filtered and sorted and the detail is `{"filters": {...}, "items": N}`.

    Args:
        session: an open session; committed once, with the audit event.
        actor: who looks, as the audit log names them.
        status: open, closed or all; must equal `filters.status` when filters are given.
        filters: reason, severity, officer, days and sort order (`callreview.service.queue_view`).
        zone: the time zone whose days the date filters mean.
        claim_lifetime: claims older than this are shown as expired; None: claims never expire.
        viewer: the reviewer looking; items of officers they are recused from are marked `recused`.
    """
    if filters is not None and filters.status != status:
        raise ValueError(f"view_queue: status {status!r} differs from the filters' {filters.status!r}")
    asked = None if status == "all" else status
    # the database does the filtering it can (reason, officer, days); queue_entries checks every filter
    rows = list_items(session, status=asked, **({} if filters is None else sql_filters(filters, zone)))
    now = utcnow()
    stale_before = now - claim_lifetime if claim_lifetime is not None else None
    if filters is None:
        # Oldest first is the order items were queued in (list_items' order).
        entries = queue_entries(rows, QueueFilters(status=status, sort="age"), now=now, zone=zone,
                                stale_before=stale_before)
        detail = {"items": len(entries)}
    else:
        entries = queue_entries(rows, filters, now=now, zone=zone, stale_before=stale_before)
        detail = {"filters": {k: str(v) for k, v in vars(filters).items() if v}, "items": len(entries)}
    if viewer is not None:
        # one read of the viewer's conflicts, not one per item shown
        barred = {c.officer_key for c in conflicts.list_conflicts(session, viewer)}
        entries = [replace(e, recused=True) if barred and conflicts.officer_key(e.row.commanding_officer) in barred
                   else e for e in entries]
    commit_event(session, actor=actor, action="view_queue", object_type="queue", object_id=status, detail=detail)
    return QueuePage(entries=entries, officers=queue_officers(session, status=asked))


class Recused(items.ItemNotAvailable):
    """The reviewer may not judge calls of this officer (callreview.service.conflicts)."""

    def __init__(self, item_id: int, reviewer: str, officer: str, reason: str):
        self.reviewer, self.officer, self.reason = reviewer, officer, reason
        super().__init__(item_id, f"{reviewer} is recused from calls of {officer} ({reason}); another reviewer "
                                  "must take it")


def _check_recusal(session: Session, actor: str, action: str, item_id: int, reviewer: str, detail: dict) -> None:
    """Refuse, audited with outcome `recused`, when `reviewer` has a conflict with the call's officer."""
    officer = items.officer_of_item(session, item_id)
    conflict = recusal(session, reviewer, officer)
    if conflict is not None:
        exc = Recused(item_id, reviewer, officer, conflict.reason)
        _refused(session, actor, action, item_id, "recused", {**detail, "officer": officer, "problem": exc.problem})
        raise exc


def _refused(session: Session, actor: str, action: str, item_id: int, outcome: str, detail: dict) -> None:
    """Undo the failed write, then audit the refusal in a transaction of its own."""
    commit_refusal(session, actor=actor, action=action, object_type="review_item", object_id=item_id,
                   outcome=outcome, detail=detail)


def _stale_before(claim_lifetime: timedelta | None) -> datetime | None:
    return utcnow() - claim_lifetime if claim_lifetime is not None else None


def claim_item(session: Session, actor: str, item_id: int, *, reviewer: str,
               claim_lifetime: timedelta | None = None) -> str:
    """Claim an open review item for `reviewer`, audited as `claim_item`; return the item's call id.

    Claiming one's own item again renews the claim; a claim older than `claim_lifetime` is taken over,
    and the audit detail then names whose claim it replaced (`expired_claim_of`).

    Raises:
        Recused: the reviewer has a conflict with the call's officer (audited with outcome `recused`).
        ItemNotAvailable: closed, missing, or claimed by someone else (audited with outcome `conflict`).
    """
    call_id = items.call_id_of_item(session, item_id)
    _check_recusal(session, actor, "claim_item", item_id, reviewer, {"call_id": call_id})
    try:
        taken = items.claim_item(session, item_id, reviewer, stale_before=_stale_before(claim_lifetime))
    except items.ItemNotAvailable as exc:
        _refused(session, actor, "claim_item", item_id, "conflict", {"call_id": call_id, "problem": exc.problem})
        raise
    detail = {"call_id": call_id}
    if taken.expired_claim_of:
        detail["expired_claim_of"] = taken.expired_claim_of
    # the item's new state goes into the keyed log, which `verify` checks the row by
    detail["review_items"] = item_states(session, item_ids=[item_id])
    commit_event(session, actor=actor, action="claim_item", object_type="review_item", object_id=item_id,
                 detail=detail)
    return call_id


def release_item(session: Session, actor: str, item_id: int, *, reviewer: str) -> str:
    """Give back an item `reviewer` claimed, audited as `release_item`; return the item's call id.

    Raises:
        ItemNotAvailable: not open, or not claimed by `reviewer` (audited with outcome `conflict`).
    """
    call_id = items.call_id_of_item(session, item_id)
    try:
        items.release_item(session, item_id, reviewer)
    except items.ItemNotAvailable as exc:
        _refused(session, actor, "release_item", item_id, "conflict", {"call_id": call_id, "problem": exc.problem})
        raise
    commit_event(session, actor=actor, action="release_item", object_type="review_item", object_id=item_id,
                 detail={"call_id": call_id, "review_items": item_states(session, item_ids=[item_id])})
    return call_id


def release_claim(session: Session, actor: str, item_id: int) -> str:
    """Release whoever's claim an open item has (an admin's action), audited as `release_item`.

    The audit detail names whose claim it was and why (`admin`). Returns that reviewer's name.

    Raises:
        ItemNotAvailable: closed, missing, or not claimed (audited with outcome `conflict`).
    """
    call_id = items.call_id_of_item(session, item_id)
    try:
        holder = items.release_claim(session, item_id)
    except items.ItemNotAvailable as exc:
        _refused(session, actor, "release_item", item_id, "conflict", {"call_id": call_id, "problem": exc.problem})
        raise
    commit_event(session, actor=actor, action="release_item", object_type="review_item", object_id=item_id,
                 detail={"call_id": call_id, "claimed_by": holder, "why": "admin",
                         "review_items": item_states(session, item_ids=[item_id])})
    return holder


def dispose_item(session: Session, actor: str, item_id: int, *, reviewer: str, disposition: str, note: str,
                 claim_lifetime: timedelta | None = None, double_review: frozenset[str] = frozenset()) -> str:
    """Record `reviewer`'s disposition, audited as `dispose`; return the item's call id.

    An item whose severity is in `double_review` needs two reviewers' findings, given blind: the first
    leaves the item open (and unclaimed) for a second reviewer, who must be someone else; when the two
    agree the item closes with their finding, when they differ it awaits a lead's adjudication
    (`adjudicate_item`). Any other item closes with the one disposition.
    The note goes into the hash-chained audit detail too, so a later edit of the disposition row shows.

    Args:
        disposition: confirmed, dismissed or escalated.
        note: why; required.
        claim_lifetime: another reviewer's claim older than this no longer keeps `reviewer` out.
        double_review: the severities (high, medium, low) whose items need two findings.

    Raises:
        Recused: the reviewer has a conflict with the call's officer (audited with outcome `recused`).
        InvalidDisposition: unknown disposition or an empty note (audited with outcome `invalid`).
        ItemNotAvailable: closed, missing, claimed by someone else, or this reviewer gave the first finding
            (audited with outcome `conflict`).
    """
    call_id = items.call_id_of_item(session, item_id)
    _check_recusal(session, actor, "dispose", item_id, reviewer, {"call_id": call_id, "disposition": disposition})
    stage = None
    try:
        _check_disposition(item_id, disposition)
        item = session.get(ReviewItem, item_id)
        if item is not None and double_review and item_severity(json.loads(item.reasons_json)) in double_review:
            found = items.findings_of(session, item_id)
            if any(f.reviewer == reviewer for f in found):
                raise items.ItemNotAvailable(item_id, "you gave the first finding; a second reviewer must give "
                                                      "the other")
            stage = "second" if found else "first"
            outcome = ("open" if not found else "closed" if found[0].disposition == disposition
                       else "adjudication")
            row = items.add_finding(session, item_id, reviewer=reviewer, disposition=disposition, note=note,
                                    stage=stage, outcome=outcome, stale_before=_stale_before(claim_lifetime))
        else:
            row = items.add_disposition(session, item_id, reviewer=reviewer, disposition=disposition, note=note,
                                        stale_before=_stale_before(claim_lifetime))
    except (items.ItemNotAvailable, items.InvalidDisposition) as exc:
        _refused(session, actor, "dispose", item_id,
                 "conflict" if isinstance(exc, items.ItemNotAvailable) else "invalid",
                 {"call_id": call_id, "disposition": disposition, "problem": exc.problem})
        raise
    detail = {"call_id": call_id, "disposition": disposition, "note": row.note, "disposition_id": row.id,
              "review_items": item_states(session, item_ids=[item_id])}
    if stage is not None:
        detail["stage"] = stage
    commit_event(session, actor=actor, action="dispose", object_type="review_item", object_id=item_id, detail=detail)
    return call_id


def _check_disposition(item_id: int, disposition: str) -> None:
    if disposition not in DISPOSITIONS:
        raise items.InvalidDisposition(item_id, f"disposition must be one of {', '.join(DISPOSITIONS)}, "
                                                f"got {disposition!r}")


def item_status(session: Session, item_id: int) -> str | None:
    """open, adjudication or closed (None: no such item); read only."""
    item = session.get(ReviewItem, item_id)
    return item.status if item is not None else None


def adjudicate_item(session: Session, actor: str, item_id: int, *, lead: str, disposition: str, note: str) -> str:
    """The lead's finding on an item two reviewers disagreed on; it closes the item (audited as `adjudicate`).

    Raises:
        Recused: the lead has a conflict with the call's officer (audited with outcome `recused`).
        InvalidDisposition: unknown disposition or an empty note (audited with outcome `invalid`).
        ItemNotAvailable: the item is not awaiting adjudication (audited with outcome `conflict`).
    """
    call_id = items.call_id_of_item(session, item_id)
    _check_recusal(session, actor, "adjudicate", item_id, lead, {"call_id": call_id, "disposition": disposition})
    try:
        _check_disposition(item_id, disposition)
        row = items.add_adjudication(session, item_id, lead=lead, disposition=disposition, note=note)
    except (items.ItemNotAvailable, items.InvalidDisposition) as exc:
        _refused(session, actor, "adjudicate", item_id,
                 "conflict" if isinstance(exc, items.ItemNotAvailable) else "invalid",
                 {"call_id": call_id, "disposition": disposition, "problem": exc.problem})
        raise
    commit_event(session, actor=actor, action="adjudicate", object_type="review_item", object_id=item_id,
                 detail={"call_id": call_id, "disposition": disposition, "note": row.note, "disposition_id": row.id,
                         "review_items": item_states(session, item_ids=[item_id])})
    return call_id
