"""The stages of one call after intake (callreview.service.intake), as plain functions over settings and paths:
transcription and assessment.

Each stage writes its results in one transaction and moves the call's status forward, so a crash between
stages leaves a call that the next run picks up where it stopped, never a half-written one. The Prefect
tasks in `callreview.flows.inbox` wrap these one to one.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from callreview.core.assessment import assess_call
from callreview.core.decisions import DecisionLog
from callreview.service.queue import queue_assessment
from callreview.service.records import gap_to_row, mention_to_row, row_to_log, row_to_segment, segment_to_row
from callreview.core.rules import Rules
from callreview.storage import calls as store
from callreview.storage.archive import remove_stale_incoming
from callreview.storage.audit import record_event
from callreview.storage.db import open_session
from callreview.storage.settings import StorageSettings
from callreview.storage.tables import Call
from callreview.transcribe.imports import find_transcript_sidecar, read_transcript
from callreview.transcribe.segments import Transcript

logger = logging.getLogger(__name__)
ACTOR = "batch"


def transcribe_call(storage: StorageSettings, call_pk: int, recording: Path, engine_factory) -> int:
    """Give the call a current transcript: import its sidecar, or run the engine on the archived audio.

    `engine_factory()` returns the (process-cached) Whisper engine; it is only called when needed.
    Returns the transcript version's primary key.
    """
    with open_session(storage) as session:
        call = session.get(Call, call_pk)
        current = store.current_transcript(session, call_pk)
        if current is not None:
            return current.id
        archived = storage.archive_dir / call.archive_path
    sidecar = find_transcript_sidecar(Path(recording))
    if sidecar is not None:
        transcript: Transcript = read_transcript(sidecar)
    else:
        # From the file, window by window: a long recording never sits in memory whole.
        transcript = engine_factory().transcribe_path(archived)
    with open_session(storage) as session:
        call = session.get(Call, call_pk)
        record = store.add_transcript_version(
            session, call_pk, engine=transcript.engine, model=transcript.model, language=transcript.language,
            imported=transcript.imported, segments=[segment_to_row(i, s) for i, s in enumerate(transcript.segments)],
            gaps=[gap_to_row(g) for g in transcript.gaps])
        store.set_call_status(session, call, "transcribed")
        record_event(session, actor=ACTOR, action="transcribe", object_type="call", object_id=call.call_id,
                     detail={"version": record.version, "engine": transcript.engine, "model": transcript.model,
                             "imported": transcript.imported, "source": str(sidecar) if sidecar else None})
        session.commit()
        return record.id


@dataclass(frozen=True)
class AssessResult:
    call_id: str
    verdict: str
    reasons: tuple[str, ...]
    queued: bool


def assess_stored_call(storage: StorageSettings, call_pk: int, rules: Rules) -> AssessResult:
    """Tag the current transcript, apply the policy check, store both, and queue the call if needed.

    Re-running with the same transcript and rules version adds nothing.
    """
    with open_session(storage) as session:
        call = session.get(Call, call_pk)
        transcript = store.current_transcript(session, call_pk)
        existing = store.find_assessment(session, transcript.id, rules.version)
        if existing is not None:
            # Same transcript, same rules: the answer is already stored (a rules file rolled back to an
            # earlier version makes that assessment current again rather than adding a twin).
            if not existing.is_current:
                store.make_assessment_current(session, existing)
            item, created = queue_assessment(session, existing)
            store.set_call_status(session, call, "assessed")
            session.commit()
            return AssessResult(call.call_id, existing.verdict, tuple(json.loads(existing.reasons_json)), created)
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
        record_event(session, actor=ACTOR, action="assess", object_type="call", object_id=call.call_id,
                     detail={"verdict": record.verdict, "reasons": list(result.verdict.reasons),
                             "rules_version": record.rules_version, "review_item": item.id if item else None})
        session.commit()
        return AssessResult(call.call_id, record.verdict, tuple(result.verdict.reasons), created)


def mark_failed(storage: StorageSettings, call_pk: int, error: str) -> None:
    """Keep the error on the call; its status stays short of `assessed`, so the next run retries it."""
    with open_session(storage) as session:
        call = session.get(Call, call_pk)
        call.error = error
        session.add(call)
        record_event(session, actor=ACTOR, action="stage_failed", object_type="call", object_id=call.call_id,
                     outcome="error", detail={"error": error})
        session.commit()


def current_verdict(storage: StorageSettings, call_pk: int) -> str | None:
    with open_session(storage) as session:
        record = store.current_assessment(session, call_pk)
        return record.verdict if record else None


def clean_archive_leftovers(storage: StorageSettings) -> int:
    """Remove temp files that killed archive copies left behind (audited); return how many."""
    removed = remove_stale_incoming(storage.archive_dir)
    if removed:
        with open_session(storage) as session:
            record_event(session, actor=ACTOR, action="archive_cleanup", object_type="archive",
                         object_id=str(storage.archive_dir), detail={"removed": [p.name for p in removed]})
            session.commit()
    return len(removed)
