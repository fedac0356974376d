"""The stages of one call, as plain functions over settings and paths: intake, transcription, assessment.

Each stage writes its results in one transaction and moves the call's status forward, so a crash between
stages leaves a call that the next run picks up where it stopped, never a half-written one. The Prefect
tasks in `flows.inbox` wrap these one to one.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from review.assessment import assess_call
from review.decisions import DecisionLog, read_decision_log
from review.errors import InvalidDecisionLog
from review.queue import queue_assessment
from review.records import gap_to_row, log_to_fields, mention_to_row, row_to_log, row_to_segment, segment_to_row
from review.rules import Rules
from storage import calls as store
from storage.archive import archive_file, check_size, quarantine_file, sha256_file
from storage.audit import record_event
from storage.db import open_session
from storage.errors import ArchiveError
from storage.settings import StorageSettings
from storage.tables import Call
from transcribe.audio import load_audio
from transcribe.errors import TranscribeError
from transcribe.imports import find_transcript_sidecar, read_transcript
from transcribe.segments import Transcript

logger = logging.getLogger(__name__)
ACTOR = "batch"


@dataclass(frozen=True)
class IntakeResult:
    """`status`: new | resumed | skipped | quarantined."""

    name: str
    status: str
    call_pk: int | None = None
    call_id: str | None = None
    reason: str | None = None


def _quarantine(storage: StorageSettings, path: Path, reason: str, sha: str | None) -> IntakeResult:
    copy = quarantine_file(path, storage.quarantine_dir, reason, max_bytes=storage.max_file_bytes)
    with open_session(storage) as session:
        row = store.add_quarantine(session, sha256=sha, original_name=path.name, source_path=str(path),
                                   quarantine_path=str(copy) if copy else None, reason=reason)
        record_event(session, actor=ACTOR, action="quarantine", object_type="file", object_id=path.name,
                     outcome="refused", detail={"reason": reason, "sha256": sha, "quarantine_id": row.id})
        session.commit()
    logger.warning("quarantined %s", reason)
    return IntakeResult(name=path.name, status="quarantined", reason=reason)


def intake_recording(storage: StorageSettings, recording: Path, log_sidecar: Path | None,
                     refusal: str | None = None) -> IntakeResult:
    """Check, archive and register one recording; quarantine it with a reason when it cannot be used.

    A file whose SHA-256 is already known is skipped (or resumed, when an earlier run stopped before
    assessing it). Nothing is stored for a file that fails any check.
    """
    recording = Path(recording)
    if refusal:
        return _quarantine(storage, recording, refusal, None)
    try:
        check_size(recording, storage.max_file_bytes)
        sha = sha256_file(recording)
    except ArchiveError as exc:
        return _quarantine(storage, recording, str(exc), None)
    except OSError as exc:
        return _quarantine(storage, recording, f"{recording}: cannot read: {exc.strerror or exc}", None)
    with open_session(storage) as session:
        known = store.find_call_by_sha(session, sha)
        if known is not None:
            status = "skipped" if known.status == "assessed" else "resumed"
            return IntakeResult(recording.name, status, known.id, known.call_id)
        if store.find_quarantine_by_sha(session, sha) is not None:
            return IntakeResult(recording.name, "skipped", reason="already quarantined")
    try:
        audio = load_audio(recording)
        log = read_decision_log(log_sidecar) if log_sidecar else None
        transcript_sidecar = find_transcript_sidecar(recording)
        if transcript_sidecar is not None:
            read_transcript(transcript_sidecar)  # refuse a bad transcript now, before anything is stored
    except (TranscribeError, InvalidDecisionLog) as exc:
        return _quarantine(storage, recording, str(exc), sha)
    call_id = (log.call_id if log and log.call_id else recording.stem)
    with open_session(storage) as session:
        clash = store.find_call(session, call_id)
    if clash is not None:
        return _quarantine(storage, recording, f"{log_sidecar or recording}: call_id {call_id!r} is already "
                                               f"used by another recording (sha256 {clash.sha256[:12]}…)", sha)
    try:
        archived = archive_file(recording, storage.archive_dir, max_bytes=storage.max_file_bytes)
    except ArchiveError as exc:
        return _quarantine(storage, recording, str(exc), sha)
    if archived.sha256 != sha:
        # The file changed between hashing and copying: refuse rather than archive bytes we did not check.
        return _quarantine(storage, recording, f"{recording}: file changed while it was being archived", None)
    with open_session(storage) as session:
        call = Call(call_id=call_id, sha256=sha, original_name=recording.name,
                          format=recording.suffix.lower().lstrip("."), size_bytes=archived.size,
                          archive_path=archived.relative_path, duration=audio.duration,
                          channels=audio.original_channels, sample_rate=audio.original_sample_rate,
                          status="archived")
        session.add(call)
        session.flush()
        if log is not None:
            store.save_decision_log(session, call.id, log_to_fields(log, str(log_sidecar)))
        record_event(session, actor=ACTOR, action="intake", object_type="call", object_id=call_id,
                     detail={"sha256": sha, "source": str(recording), "log": str(log_sidecar) if log_sidecar else None})
        session.commit()
        return IntakeResult(recording.name, "new", call.id, call_id)


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
        transcript = engine_factory().transcribe(load_audio(archived))
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
            unusable=result.unusable, tags=[mention_to_row(m) for m in result.mentions])
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
