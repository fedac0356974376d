"""Taking a recording in: register it as a call, or quarantine it with a reason; either way audited.

`take_in` runs the checks of callreview.service.intake_checks in order and asks the database in between:
1. identify (entry, size, SHA-256); then a file whose SHA-256 is already known is skipped (or resumed, when
   an earlier run stopped before assessing it), and one refused before is skipped;
2. read the sidecars (decision log, transcript, call id); then a call id another recording holds is refused;
3. decode the recording in full;
4. archive it, and in one transaction register the call, its decision log and the `intake` audit event.
A refusal at any step copies the file to the quarantine folder and, in one transaction, records the
quarantine row and the `quarantine` audit event. Nothing else is stored for a refused file.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from callreview.service.audited import commit_event
from callreview.service.inbox_files import display_path
from callreview.service.intake_checks import (IntakeLimits, Refused, Sidecars, decode_recording, identify_recording,
                                              read_sidecars)
from callreview.storage import calls as store
from callreview.storage.archive import archive_file, quarantine_file
from callreview.storage.evidence import decision_log_record
from callreview.storage.errors import ArchiveError
from callreview.storage.settings import StorageSettings
from callreview.storage.tables import Call
from callreview.transcribe.audio import AudioInfo

logger = logging.getLogger(__name__)

# An earlier run took the call in but did not finish it: these go on to transcription and assessment.
_GOES_ON = ("new", "resumed")


@dataclass(frozen=True)
class IntakeResult:
    """`status`: new | resumed | skipped | quarantined."""

    name: str
    status: str
    call_pk: int | None = None
    call_id: str | None = None
    reason: str | None = None

    @property
    def goes_on(self) -> bool:
        """Whether the call is transcribed and assessed next (taken in now, or left unfinished before)."""
        return self.status in _GOES_ON


def take_in(session: Session, actor: str, storage: StorageSettings, recording: Path,
            log_sidecar: Path | None = None, refusal: str | None = None) -> IntakeResult:
    """Check, archive and register one recording; quarantine it with a reason when it cannot be used.

    Args:
        session: an open session; it is committed (or rolled back) here.
        actor: who the audit log names (`batch` for the inbox flow).
        storage: the archive and quarantine folders and the intake limits.
        recording: the recording in the inbox.
        log_sidecar: its decision log, if it has one.
        refusal: why the inbox scan refused the entry (callreview.service.inbox_files), if it did.

    Returns:
        What became of the file (IntakeResult.status), with the call's key and id when it is a call.
    """
    recording = Path(recording)
    limits = IntakeLimits(storage.max_file_bytes, storage.max_duration_seconds)
    sha = identify_recording(recording, limits, refusal)
    if isinstance(sha, Refused):
        return quarantine(session, actor, storage, recording, sha.reason, None)
    known = _seen_before(session, recording, sha)
    if known is not None:
        session.rollback()
        return known
    sidecars = read_sidecars(recording, log_sidecar)
    if isinstance(sidecars, Refused):
        return quarantine(session, actor, storage, recording, sidecars.reason, sha)
    clash = store.find_call(session, sidecars.call_id)
    if clash is not None:
        return quarantine(session, actor, storage, recording, _clash_reason(recording, log_sidecar, clash,
                                                                             sidecars.call_id), sha)
    session.commit()  # nothing was written: this ends the read, so no connection is held while decoding
    audio = decode_recording(recording, limits)
    if isinstance(audio, Refused):
        return quarantine(session, actor, storage, recording, audio.reason, sha)
    return _register(session, actor, storage, recording, log_sidecar, sha, sidecars, audio)


def quarantine(session: Session, actor: str, storage: StorageSettings, recording: Path, reason: str,
               sha: str | None) -> IntakeResult:
    """Copy a refused file to the quarantine folder and record why, with its audit event, in one transaction.

    A file refused before it was hashed (`sha` None: too large, a symlink, an odd name) and refused before
    for the same reason is skipped: the same refusal on the next nightly run is not a new event.
    """
    name, source = display_path(recording.name), display_path(recording)
    if sha is None and store.find_quarantine(session, source, reason) is not None:
        session.rollback()
        return IntakeResult(name=name, status="skipped", reason="already quarantined")
    copy = quarantine_file(recording, storage.quarantine_dir, reason, max_bytes=storage.max_file_bytes)
    row = store.add_quarantine(session, sha256=sha, original_name=name, source_path=source,
                               quarantine_path=str(copy) if copy else None, reason=reason)
    commit_event(session, actor=actor, action="quarantine", object_type="file", object_id=name,
                 outcome="refused", detail={"reason": reason, "sha256": sha, "quarantine_id": row.id})
    logger.warning("quarantined %s", reason)
    return IntakeResult(name=name, status="quarantined", reason=reason)


def _seen_before(session: Session, recording: Path, sha: str) -> IntakeResult | None:
    """What became of these bytes before: a call (skipped once assessed, else resumed) or a refusal."""
    known = store.find_call_by_sha(session, sha)
    if known is not None:
        status = "skipped" if known.status == "assessed" else "resumed"
        return IntakeResult(recording.name, status, known.id, known.call_id)
    if store.find_quarantine_by_sha(session, sha) is not None:
        return IntakeResult(recording.name, "skipped", reason="already quarantined")
    return None


def _register(session: Session, actor: str, storage: StorageSettings, recording: Path, log_sidecar: Path | None,
              sha: str, sidecars: Sidecars, audio: AudioInfo) -> IntakeResult:
    """Archive the checked recording and register its call, decision log and `intake` event in one transaction."""
    try:
        archived = archive_file(recording, storage.archive_dir, max_bytes=storage.max_file_bytes)
    except ArchiveError as exc:
        return quarantine(session, actor, storage, recording, str(exc), sha)
    if archived.sha256 != sha:
        # The file changed between hashing and copying: refuse rather than archive bytes we did not check.
        return quarantine(session, actor, storage, recording,
                          f"{display_path(recording)}: file changed while it was being archived", None)
    call = Call(call_id=sidecars.call_id, sha256=sha, original_name=display_path(recording.name),
                format=recording.suffix.lower().lstrip("."), size_bytes=archived.size,
                archive_path=archived.relative_path, duration=audio.duration,
                channels=audio.original_channels, sample_rate=audio.original_sample_rate, status="archived")
    try:
        session.add(call)
        session.flush()
        if sidecars.log_fields is not None:
            store.save_decision_log(session, call.id, sidecars.log_fields)
        commit_event(session, actor=actor, action="intake", object_type="call", object_id=sidecars.call_id,
                     detail={"sha256": sha, "source": display_path(recording),
                             "log": display_path(log_sidecar) if log_sidecar else None,
                             # what was stored, read back: `verify` compares the row with it
                             "decision_log": decision_log_record(session, call.id)})
    except IntegrityError:
        # Another worker registered the same file or call id since the checks above.
        session.rollback()
        known = store.find_call_by_sha(session, sha)
        if known is not None:
            session.rollback()
            return IntakeResult(recording.name, "skipped", known.id, known.call_id)
        clash = store.find_call(session, sidecars.call_id)
        if clash is None:
            raise
        return quarantine(session, actor, storage, recording,
                          _clash_reason(recording, log_sidecar, clash, sidecars.call_id), sha)
    return IntakeResult(recording.name, "new", call.id, sidecars.call_id)


def _clash_reason(recording: Path, log_sidecar: Path | None, clash: Call, call_id: str) -> str:
    return (f"{display_path(log_sidecar or recording)}: call_id {call_id!r} is already used by another recording "
            f"({clash.original_name}, sha256 {clash.sha256[:12]}…)")
