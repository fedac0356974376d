"""The review queue rule: every mismatch and needs_review becomes a review item, once.

DESIGN.md: "Every mismatch and needs_review becomes a review item, once, idempotently."
"""
from __future__ import annotations

from sqlmodel import Session

from storage.queue import add_review_item, close_item, item_for_assessment, open_items_for_call
from storage.tables import AssessmentRecord, ReviewItem

QUEUED_VERDICTS = ("mismatch", "needs_review")


def needs_item(verdict: str) -> bool:
    return verdict in QUEUED_VERDICTS


def queue_assessment(session: Session, assessment: AssessmentRecord) -> tuple[ReviewItem | None, bool]:
    """Open the review item an assessment calls for, unless it exists; return (item, created).

    Open items from the call's earlier assessments that no longer apply are closed with a reason, so a
    re-check under new rules never leaves a stale item open nor duplicates a current one.
    """
    existing = item_for_assessment(session, assessment.id)
    if existing is not None:
        return existing, False
    for stale in open_items_for_call(session, assessment.call_pk):
        if stale.assessment_pk != assessment.id:
            close_item(session, stale, f"superseded by assessment {assessment.id} "
                                       f"(rules {assessment.rules_version}: {assessment.verdict})")
    if not needs_item(assessment.verdict):
        return None, False
    return add_review_item(session, assessment), True
