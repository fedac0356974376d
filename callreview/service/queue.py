"""The review queue rule: every mismatch and needs_review becomes a review item, once.

DESIGN.md: "Every mismatch and needs_review becomes a review item, once, idempotently."
"""
from __future__ import annotations

import json

from sqlmodel import Session

from callreview.storage.queue import add_review_item, close_item, item_for_assessment, open_items_for_call
from callreview.storage.tables import AssessmentRecord, ReviewItem

QUEUED_VERDICTS = ("mismatch", "needs_review")


def needs_item(verdict: str) -> bool:
    return verdict in QUEUED_VERDICTS


def queue_assessment(session: Session, assessment: AssessmentRecord) -> tuple[ReviewItem | None, bool]:
    """Make the call's open review items match its current assessment; return (item, created).

    - an item already made for this assessment is returned as is;
    - an open item from an earlier assessment with the same verdict and reasons carries over (a re-check
      under new rules that finds the same problem keeps the reviewer's claim and history);
    - any other open item no longer applies and is closed with the reason;
    - a new item is opened only when the verdict calls for one and none carried over.
    """
    existing = item_for_assessment(session, assessment.id)
    if existing is not None:
        return existing, False
    carried = None
    for item in open_items_for_call(session, assessment.call_pk):
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
