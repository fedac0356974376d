"""The stages of one call, as plain functions over settings and paths: intake, transcription, assessment.

Each stage writes its results in one transaction and moves the call's status forward, so a crash between
stages leaves a call that the next run picks up where it stopped, never a half-written one. The Prefect
tasks in `callreview.flows.inbox` wrap these one to one.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy.exc import IntegrityError

from callreview.flows.inbox_files import display_path, refusal_for
from callreview.core.assessment import assess_call
from callreview.core.decisions import DecisionLog, read_decision_log
from callreview.core.errors import InvalidDecisionLog
from callreview.service.queue import queue_assessment
from callreview.service.records import gap_to_row, log_to_fields, mention_to_row, row_to_log, row_to_segment, segment_to_row
from callreview.core.rules import Rules
from callreview.storage import calls as store
from callreview.storage.archive import archive_file, check_size, quarantine_file, remove_stale_incoming, sha256_file
from callreview.storage.audit import record_event
from callreview.storage.call_ids import call_id_problem
from callreview.storage.calls import LogFields
from callreview.storage.db import open_session
from callreview.storage.errors import ArchiveError
from callreview.storage.settings import StorageSettings
from callreview.storage.tables import Call
from callreview.transcribe.audio import SAMPLE_RATE, AudioInfo, probe_audio, stream_audio
from callreview.transcribe.errors import RecordingTooLong, TranscribeError
from callreview.transcribe.imports import find_transcript_sidecar, read_transcript
from callreview.transcribe.segments import Transcript

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


# A decision log is a few hundred bytes and the transcript of a long call a few MB: a sidecar far larger
# than that is refused before it is parsed, so a hostile one cannot exhaust memory.
_MAX_SIDECAR_BYTES = 32 << 20


class _Refused(Exception):
    """An intake check failed; the message (file, then problem) is the quarantine reason."""


def _quarantine(storage: StorageSettings, path: Path, reason: str, sha: str | None) -> IntakeResult:
    name, source = display_path(path.name), display_path(path)
    if sha is None:
        # Refused before hashing (too large, a symlink, an odd name): the same refusal on the next nightly
        # run is not a new event.
        with open_session(storage) as session:
            if store.find_quarantine(session, source, reason) is not None:
                return IntakeResult(name=name, status="skipped", reason="already quarantined")
    copy = quarantine_file(path, storage.quarantine_dir, reason, max_bytes=storage.max_file_bytes)
    with open_session(storage) as session:
        row = store.add_quarantine(session, sha256=sha, original_name=name, source_path=source,
                                   quarantine_path=str(copy) if copy else None, reason=reason)
        record_event(session, actor=ACTOR, action="quarantine", object_type="file", object_id=name,
                     outcome="refused", detail={"reason": reason, "sha256": sha, "quarantine_id": row.id})
        session.commit()
    logger.warning("quarantined %s", reason)
    return IntakeResult(name=name, status="quarantined", reason=reason)


def _read_sidecar(path: Path, parse):
    """Run a sidecar parser, turning anything a hostile file can make it raise into a refusal."""
    shown = display_path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise _Refused(f"{shown}: cannot read: {exc.strerror or exc}") from None
    if size > _MAX_SIDECAR_BYTES:
        raise _Refused(f"{shown}: sidecar is {size:,} bytes, over the limit of {_MAX_SIDECAR_BYTES:,} bytes")
    try:
        return parse(path)
    except (InvalidDecisionLog, TranscribeError):
        raise
    except OSError as exc:
        raise _Refused(f"{shown}: cannot read: {exc.strerror or exc}") from None
    except (ValueError, RecursionError, OverflowError, TypeError) as exc:
        # The parsers' own errors are caught above; these come from JSON nested thousands deep, numbers
        # thousands of digits long and the like, which must be refused, not crash the batch.
        raise _Refused(f"{shown}: cannot be parsed ({type(exc).__name__}: {exc})") from None


def _decode(recording: Path, max_duration_s: float) -> AudioInfo:
    """Decode the whole recording window by window (bounded memory) and return its facts.

    A recording whose header gives a duration over `max_duration_s` is refused before anything is decoded.

    Raises:
        RecordingTooLong: over `max_duration_s` (by its header, or by what it decodes to).
        AudioError: as `callreview.transcribe.audio.load_audio` (empty, corrupt, truncated, no audio stream).
    """
    info = probe_audio(recording)
    decoded = 0.0
    # One channel is enough to find damage (ffmpeg decodes every channel and then picks one), and short
    # windows keep this check small in memory.
    for window in stream_audio(recording, window_s=60.0, channel=0, max_duration_s=max_duration_s):
        decoded = window.offset + len(window.channels[0]) / SAMPLE_RATE
    return replace(info, duration=decoded)


def _read_log(log_sidecar: Path) -> tuple[DecisionLog, LogFields]:
    log = _read_sidecar(log_sidecar, read_decision_log)
    try:
        # Converting here, before anything is stored, refuses what the parser lets through but the
        # database cannot hold (a received_at whose UTC offset moves it out of the calendar).
        fields = log_to_fields(log, str(log_sidecar))
    except (ValueError, OverflowError) as exc:
        raise _Refused(f'{display_path(log_sidecar)}: "received_at" {json.dumps(log.received_at)} cannot be '
                       f"stored: {exc}") from None
    return log, fields


def _call_id(recording: Path, log_sidecar: Path | None, log: DecisionLog | None) -> str:
    """The call id the sidecar gives, else the file stem; refused unless it is safe (callreview.storage.call_ids)."""
    if log is not None and log.call_id:
        problem = call_id_problem(log.call_id)
        if problem:
            raise _Refused(f'{display_path(log_sidecar)}: "call_id": {problem}')
        return log.call_id
    problem = call_id_problem(recording.stem)
    if problem:
        raise _Refused(f"{display_path(recording)}: {problem} (the call id comes from the file name when the "
                       'sidecar gives none: rename the file or set "call_id" in its sidecar)')
    return recording.stem


def intake_recording(storage: StorageSettings, recording: Path, log_sidecar: Path | None,
                     refusal: str | None = None) -> IntakeResult:
    """Check, archive and register one recording; quarantine it with a reason when it cannot be used.

    In order: the entry is checked again (the inbox may have changed since it was scanned), its size is
    checked without reading it, it is hashed, its sidecars are parsed, its call id must be safe and unused,
    and it is decoded in full (one that lasts over the duration limit by its header is refused first). Only
    then is it archived and registered. A file whose SHA-256 is already known is skipped (or resumed, when an
    earlier run stopped before assessing it). Nothing is stored for a file that fails any check, apart from
    the quarantine record and its audit event.
    """
    recording = Path(recording)
    refusal = refusal or refusal_for(recording)
    if refusal:
        return _quarantine(storage, recording, refusal, None)
    try:
        check_size(recording, storage.max_file_bytes)
        sha = sha256_file(recording)
    except ArchiveError as exc:
        return _quarantine(storage, recording, str(exc), None)
    except OSError as exc:
        return _quarantine(storage, recording, f"{display_path(recording)}: cannot read: {exc.strerror or exc}", None)
    with open_session(storage) as session:
        known = store.find_call_by_sha(session, sha)
        if known is not None:
            status = "skipped" if known.status == "assessed" else "resumed"
            return IntakeResult(recording.name, status, known.id, known.call_id)
        if store.find_quarantine_by_sha(session, sha) is not None:
            return IntakeResult(recording.name, "skipped", reason="already quarantined")
    # The sidecars first: they are cheap to check, decoding is not.
    try:
        log, fields = _read_log(log_sidecar) if log_sidecar else (None, None)
        transcript_sidecar = find_transcript_sidecar(recording)
        if transcript_sidecar is not None:
            _read_sidecar(transcript_sidecar, read_transcript)  # refuse a bad transcript now, before anything is stored
        call_id = _call_id(recording, log_sidecar, log)
    except (TranscribeError, InvalidDecisionLog, _Refused) as exc:
        return _quarantine(storage, recording, str(exc), sha)
    with open_session(storage) as session:
        clash = store.find_call(session, call_id)
    if clash is not None:
        return _quarantine(storage, recording, _clash_reason(recording, log_sidecar, call_id, clash), sha)
    try:
        info = _decode(recording, storage.max_duration_seconds)
    except RecordingTooLong as exc:
        return _quarantine(storage, recording, f"{exc}; CALLREVIEW_MAX_DURATION_SECONDS sets the limit", sha)
    except TranscribeError as exc:
        return _quarantine(storage, recording, str(exc), sha)
    try:
        archived = archive_file(recording, storage.archive_dir, max_bytes=storage.max_file_bytes)
    except ArchiveError as exc:
        return _quarantine(storage, recording, str(exc), sha)
    if archived.sha256 != sha:
        # The file changed between hashing and copying: refuse rather than archive bytes we did not check.
        return _quarantine(storage, recording, f"{display_path(recording)}: file changed while it was being archived",
                           None)
    with open_session(storage) as session:
        call = Call(call_id=call_id, sha256=sha, original_name=display_path(recording.name),
                    format=recording.suffix.lower().lstrip("."), size_bytes=archived.size,
                    archive_path=archived.relative_path, duration=info.duration,
                    channels=info.original_channels, sample_rate=info.original_sample_rate, status="archived")
        try:
            session.add(call)
            session.flush()
            if fields is not None:
                store.save_decision_log(session, call.id, fields)
            record_event(session, actor=ACTOR, action="intake", object_type="call", object_id=call_id,
                         detail={"sha256": sha, "source": display_path(recording),
                                 "log": display_path(log_sidecar) if log_sidecar else None})
            session.commit()
        except IntegrityError:
            # Another worker registered the same file or call id since the checks above.
            session.rollback()
            known = store.find_call_by_sha(session, sha)
            if known is not None:
                return IntakeResult(recording.name, "skipped", known.id, known.call_id)
            clash = store.find_call(session, call_id)
            if clash is None:
                raise
            return _quarantine(storage, recording, _clash_reason(recording, log_sidecar, call_id, clash), sha)
        return IntakeResult(recording.name, "new", call.id, call_id)


def _clash_reason(recording: Path, log_sidecar: Path | None, call_id: str, clash: Call) -> str:
    return (f"{display_path(log_sidecar or recording)}: call_id {call_id!r} is already used by another recording "
            f"({clash.original_name}, sha256 {clash.sha256[:12]}…)")


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
