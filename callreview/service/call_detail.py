"""Everything a reviewer sees about one call, gathered from storage into one plain dict."""
from __future__ import annotations

import json

from sqlmodel import Session

from callreview.core.policy import REASON_TEXT
from callreview.service.queue_view import item_severity
from callreview.storage import calls as store
from callreview.storage.queue import dispositions_for_call, items_for_call


def call_detail(session: Session, call_id: str) -> dict | None:
    """The call, its logged decision, current transcript (segments, gaps, tags), verdict and review items."""
    call = store.find_call(session, call_id)
    if call is None:
        return None
    log = store.decision_log_for(session, call.id)
    transcript = store.current_transcript(session, call.id)
    assessment = store.current_assessment(session, call.id)
    tags = store.tags_of(session, assessment.id) if assessment else []
    segments = store.segments_of(session, transcript.id) if transcript else []
    reasons = json.loads(assessment.reasons_json) if assessment else []
    return {
        "call_id": call.call_id,
        "sha256": call.sha256,
        "original_name": call.original_name,
        "format": call.format,
        "duration": call.duration,
        "channels": call.channels,
        "sample_rate": call.sample_rate,
        "status": call.status,
        "error": call.error,
        "archive_path": call.archive_path,
        "log": None if log is None else {
            "decision": log.decision, "basis": json.loads(log.basis_json),
            "received_at": log.received_at.isoformat() if log.received_at else None,
            "requesting_agency": log.requesting_agency, "requester": log.requester,
            "commanding_officer": log.commanding_officer, "notes": log.notes, "source": log.source},
        "transcript": None if transcript is None else {
            "version": transcript.version, "versions": len(store.transcript_versions(session, call.id)),
            "engine": transcript.engine, "model": transcript.model, "language": transcript.language,
            "imported": transcript.imported,
            "segments": [{"index": s.idx, "start": s.start, "end": s.end, "speaker": s.speaker, "text": s.text,
                          "confidence": s.confidence, "flags": json.loads(s.flags_json)} for s in segments],
            "gaps": [{"start": g.start, "end": g.end, "reason": g.reason}
                     for g in store.gaps_of(session, transcript.id)]},
        "assessment": None if assessment is None else {
            "verdict": assessment.verdict, "reasons": reasons,
            "reasons_text": [REASON_TEXT[r] for r in reasons if r in REASON_TEXT],
            "counted": json.loads(assessment.counted_json), "unusable": assessment.unusable,
            "doubts": json.loads(assessment.doubts_json),
            "rules_version": assessment.rules_version},
        "tags": [{"kind": t.kind, "qualifier": t.qualifier, "segment": t.segment_idx, "speaker": t.speaker,
                  "start": t.start, "end": t.end, "char_start": t.char_start, "char_end": t.char_end,
                  "text": t.text, "rule": t.rule} for t in tags],
        "review_items": [{"id": i.id, "status": i.status, "verdict": i.verdict,
                          "reasons": json.loads(i.reasons_json), "claimed_by": i.claimed_by,
                          "claimed_at": i.claimed_at.isoformat() if i.claimed_at else None,
                          "created_at": i.created_at.isoformat(), "close_reason": i.close_reason,
                          "severity": item_severity(json.loads(i.reasons_json))}
                         for i in items_for_call(session, call.id)],
        "dispositions": [{"reviewer": d.reviewer, "disposition": d.disposition, "note": d.note,
                          "at": d.created_at.isoformat(), "item": d.review_item_pk, "stage": d.stage}
                         for d in dispositions_for_call(session, call.id)],
    }
