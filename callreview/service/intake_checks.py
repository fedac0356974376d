"""The checks a recording must pass before it is taken in: files in, plain data out, no database.

`callreview.service.intake.take_in` runs them in this order, asking the database in between what it
already knows (so a file taken in before is never parsed or decoded again):
1. `identify_recording`: the entry is checked again (the inbox may have changed since it was scanned),
   its size is checked without reading it, and it is hashed;
2. `read_sidecars`: its decision log and transcript sidecars parse, and its call id is safe;
3. `decode_recording`: it decodes in full, window by window (one whose header gives a duration over the
   limit is refused before anything is decoded).
Each returns its facts, or a `Refused` whose reason (the file, then the problem) is the quarantine reason.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, TypeVar

from callreview.core.decisions import DecisionLog, read_decision_log
from callreview.core.errors import InvalidDecisionLog
from callreview.service.inbox_files import display_path, refusal_for
from callreview.service.records import log_to_fields
from callreview.storage.archive import check_size, sha256_file
from callreview.storage.call_ids import call_id_problem
from callreview.storage.calls import LogFields
from callreview.storage.errors import ArchiveError
from callreview.transcribe.audio import SAMPLE_RATE, AudioInfo, probe_audio, stream_audio
from callreview.transcribe.errors import RecordingTooLong, TranscribeError
from callreview.transcribe.imports import find_transcript_sidecar, read_transcript

T = TypeVar("T")

# A decision log is a few hundred bytes and the transcript of a long call a few MB: a sidecar far larger
# than that is refused before it is parsed, so a hostile one cannot exhaust memory.
MAX_SIDECAR_BYTES = 32 << 20


@dataclass(frozen=True)
class IntakeLimits:
    """What intake accepts (CALLREVIEW_MAX_FILE_BYTES, CALLREVIEW_MAX_DURATION_SECONDS)."""

    max_file_bytes: int
    max_duration_seconds: float


@dataclass(frozen=True)
class Refused:
    """A check failed; `reason` (the file, then the problem) is the quarantine reason."""

    reason: str


@dataclass(frozen=True)
class Sidecars:
    """What the sidecars say: the call id (the sidecar's, else the file stem) and the decision log, if any."""

    call_id: str
    log_fields: LogFields | None


def identify_recording(recording: Path, limits: IntakeLimits, refusal: str | None = None) -> str | Refused:
    """The recording's SHA-256, or why it must be refused before it is read in full.

    Args:
        recording: a recording in the inbox.
        limits: the size limit applies here, before a byte is read.
        refusal: the refusal the inbox scan found (callreview.service.inbox_files), if any; without one the
            entry is checked again here.
    """
    refusal = refusal or refusal_for(recording)
    if refusal:
        return Refused(refusal)
    try:
        check_size(recording, limits.max_file_bytes)
        return sha256_file(recording)
    except ArchiveError as exc:
        return Refused(str(exc))
    except OSError as exc:
        return Refused(f"{display_path(recording)}: cannot read: {exc.strerror or exc}")


def read_sidecars(recording: Path, log_sidecar: Path | None) -> Sidecars | Refused:
    """Parse the decision log and the transcript sidecar, and find the call id; refuse what cannot be used.

    The transcript is only checked here (it is read again when the call is transcribed): a bad one is
    refused now, before anything is stored.
    """
    log: DecisionLog | None = None
    fields: LogFields | None = None
    if log_sidecar is not None:
        log = _parse_sidecar(log_sidecar, read_decision_log)
        if isinstance(log, Refused):
            return log
        fields = _storable_fields(log, log_sidecar)
        if isinstance(fields, Refused):
            return fields
    transcript_sidecar = find_transcript_sidecar(recording)
    if transcript_sidecar is not None:
        transcript = _parse_sidecar(transcript_sidecar, read_transcript)
        if isinstance(transcript, Refused):
            return transcript
    return _call_id(recording, log_sidecar, log, fields)


def decode_recording(recording: Path, limits: IntakeLimits) -> AudioInfo | Refused:
    """Decode the whole recording window by window (bounded memory) and return its facts, or why not.

    A recording whose header gives a duration over the limit is refused before anything is decoded;
    one that is empty, corrupt, truncated or has no audio stream is refused with ffmpeg's reason.
    """
    try:
        info = probe_audio(recording)
        decoded = 0.0
        # One channel is enough to find damage (ffmpeg decodes every channel and then picks one), and
        # short windows keep this check small in memory.
        for window in stream_audio(recording, window_s=60.0, channel=0, max_duration_s=limits.max_duration_seconds):
            decoded = window.offset + len(window.channels[0]) / SAMPLE_RATE
    except RecordingTooLong as exc:
        return Refused(f"{exc}; CALLREVIEW_MAX_DURATION_SECONDS sets the limit")
    except TranscribeError as exc:
        return Refused(str(exc))
    return replace(info, duration=decoded)


def _parse_sidecar(path: Path, parse: Callable[[Path], T]) -> T | Refused:
    """Run a sidecar parser, turning anything a hostile file can make it raise into a refusal."""
    shown = display_path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        return Refused(f"{shown}: cannot read: {exc.strerror or exc}")
    if size > MAX_SIDECAR_BYTES:
        return Refused(f"{shown}: sidecar is {size:,} bytes, over the limit of {MAX_SIDECAR_BYTES:,} bytes")
    try:
        return parse(path)
    except (InvalidDecisionLog, TranscribeError) as exc:
        return Refused(str(exc))
    except OSError as exc:
        return Refused(f"{shown}: cannot read: {exc.strerror or exc}")
    except (ValueError, RecursionError, OverflowError, TypeError) as exc:
        # The parsers' own errors are caught above; these come from JSON nested thousands deep, numbers
        # thousands of digits long and the like, which must be refused, not crash the batch.
        return Refused(f"{shown}: cannot be parsed ({type(exc).__name__}: {exc})")


def _storable_fields(log: DecisionLog, log_sidecar: Path) -> LogFields | Refused:
    """The log as the database stores it, refusing what the parser lets through but the database cannot hold
    (a received_at whose UTC offset moves it out of the calendar)."""
    try:
        return log_to_fields(log, str(log_sidecar))
    except (ValueError, OverflowError) as exc:
        return Refused(f'{display_path(log_sidecar)}: "received_at" {json.dumps(log.received_at)} cannot be '
                       f"stored: {exc}")


def _call_id(recording: Path, log_sidecar: Path | None, log: DecisionLog | None,
             fields: LogFields | None) -> Sidecars | Refused:
    """The call id the sidecar gives, else the file stem; refused unless it is safe (callreview.storage.call_ids)."""
    if log is not None and log.call_id:
        problem = call_id_problem(log.call_id)
        if problem:
            return Refused(f'{display_path(log_sidecar)}: "call_id": {problem}')
        return Sidecars(log.call_id, fields)
    problem = call_id_problem(recording.stem)
    if problem:
        return Refused(f"{display_path(recording)}: {problem} (the call id comes from the file name when the "
                       'sidecar gives none: rename the file or set "call_id" in its sidecar)')
    return Sidecars(recording.stem, fields)
