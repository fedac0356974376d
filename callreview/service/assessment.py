"""Assessing a stored call: tag its current transcript, check it against its logged decision, queue it.

The assessment, its tags and doubts, the review queue's change (callreview.service.queue), the call's
status (`assessed`) and the `assess` audit event are written in one transaction. Re-running with the same
transcript and rules version adds nothing (and writes no audit event: nothing was decided).
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from sqlmodel import Session

from callreview.core.assessment import assess_call
from callreview.core.decisions import DecisionLog
from callreview.core.rules import Rules
from callreview.service.audited import commit_event
from callreview.service.queue import queue_assessment
from callreview.service.records import mention_to_row, row_to_log, row_to_segment
from callreview.storage import calls as store
from callreview.storage.tables import Call
from callreview.storage.audit import record_event
from callreview.storage.evidence import item_states


@dataclass(frozen=True)
class AssessResult:
    call_id: str
    verdict: str
    reasons: tuple[str, ...]
    queued: bool


@dataclass(frozen=True)
class Reassessment:
    """A call assessed again (callreview recheck): its verdict before (None: never assessed) and now."""

    before: str | None
    result: AssessResult

    @property
    def changed(self) -> bool:
        return self.before != self.result.verdict


def assess_stored_call(session: Session, actor: str, call_pk: int, rules: Rules) -> AssessResult:
    """Tag the current transcript, apply the policy check, store both, and queue the call if needed.

    Args:
        session: an open session; it is committed here.
        actor: who the audit log names.
        call_pk: the call's primary key; the call has a current transcript.
        rules: the rules in force (their version keys the assessment).
    """
    call = session.get(Call, call_pk)
    transcript = store.current_transcript(session, call_pk)
    existing = store.find_assessment(session, transcript.id, rules.version)
    if existing is not None:
        # Same transcript, same rules: the answer is already stored (a rules file rolled back to an
        # earlier version makes that assessment current again rather than adding a twin).
        was_current, before = existing.is_current, item_states(session, call_pk=call_pk)
        if not was_current:
            store.make_assessment_current(session, existing)
        item, created = queue_assessment(session, existing)
        store.set_call_status(session, call, "assessed")
        after = item_states(session, call_pk=call_pk)
        if not was_current or after != before:
            # the review items changed: their new states go into the keyed log, which `verify` checks them by
            record_event(session, actor=actor, action="assess", object_type="call", object_id=call.call_id,
                         detail={"verdict": existing.verdict, "reasons": json.loads(existing.reasons_json),
                                 "rules_version": existing.rules_version, "review_item": item.id if item else None,
                                 "reused_assessment": existing.id, "review_items": after})
        session.commit()
        return AssessResult(call.call_id, existing.verdict, tuple(json.loads(existing.reasons_json)), created)
    result, detail = assess_current_transcript(session, call_pk, rules)
    commit_event(session, actor=actor, action="assess", object_type="call", object_id=call.call_id, detail=detail)
    return result


def assess_current_transcript(session: Session, call_pk: int, rules: Rules) -> tuple[AssessResult, dict]:
    """Tag and check the call's current transcript, store the assessment, update the queue; no commit.

    Returns the result and what the audit event that the caller writes must record of it (the verdict, the
    rules version and the review items' new states, which `verify` checks the rows by).
    """
    call = session.get(Call, call_pk)
    transcript = store.current_transcript(session, call_pk)
    log_row = store.decision_log_for(session, call_pk)
    log: DecisionLog | None = row_to_log(log_row, call.call_id) if log_row else None
    segments = [row_to_segment(r) for r in store.segments_of(session, transcript.id)]
    result = assess_call(log, segments, transcript.language, rules)
    record = store.add_assessment(
        session, call_pk=call_pk, transcript_pk=transcript.id, rules_version=result.rules_version,
        verdict=result.verdict.verdict, reasons=list(result.verdict.reasons), counted=list(result.counted),
        unusable=result.unusable, tags=[mention_to_row(m) for m in result.mentions],
        doubts=[d.to_dict() for d in result.doubts])
    item, created = queue_assessment(session, record)
    store.set_call_status(session, call, "assessed")
    detail = {"verdict": record.verdict, "reasons": list(result.verdict.reasons), "rules_version": record.rules_version,
              "review_item": item.id if item else None, "review_items": item_states(session, call_pk=call_pk)}
    return AssessResult(call.call_id, record.verdict, tuple(result.verdict.reasons), created), detail


def reassess_call(session: Session, actor: str, call_pk: int, rules: Rules) -> Reassessment:
    """Assess a stored call under `rules` (as assess_stored_call), noting the verdict it had before."""
    current = store.current_assessment(session, call_pk)
    before = current.verdict if current else None
    return Reassessment(before, assess_stored_call(session, actor, call_pk, rules))
