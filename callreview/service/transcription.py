"""Giving a call its transcript: import the transcript sidecar, or run Whisper on the archived recording.

The transcript version, its segments and gaps, the call's status (`transcribed`) and the `transcribe` audit
event are written in one transaction, after the (possibly hour-long) transcription, during which no
database transaction is held.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from sqlmodel import Session

from callreview.service.audited import commit_event
from callreview.service.records import gap_to_row, segment_to_row
from callreview.storage import calls as store
from callreview.storage.evidence import transcript_record
from callreview.storage.tables import Call
from callreview.transcribe.imports import find_transcript_sidecar, read_transcript
from callreview.transcribe.segments import Transcript


def transcribe_call(session: Session, actor: str, archive_dir: Path, call_pk: int, recording: Path,
                    engine_factory: Callable) -> int:
    """Give the call a current transcript, unless it has one; return the transcript version's primary key.

    Args:
        session: an open session; it is committed here.
        actor: who the audit log names.
        archive_dir: the archive folder (CALLREVIEW_DATA_DIR/archive) the call's recording is in.
        call_pk: the call's primary key.
        recording: the recording in the inbox; a transcript sidecar beside it is imported instead of
            running the engine.
        engine_factory: returns the (process-cached) Whisper engine; called only when there is no sidecar.
    """
    current = store.current_transcript(session, call_pk)
    if current is not None:
        session.commit()  # nothing written: ends the read
        return current.id
    archived = Path(archive_dir) / session.get(Call, call_pk).archive_path
    session.commit()  # nothing written: no transaction stays open while Whisper runs
    sidecar = find_transcript_sidecar(Path(recording))
    if sidecar is not None:
        transcript: Transcript = read_transcript(sidecar)
    else:
        # From the file, window by window: a long recording never sits in memory whole.
        transcript = engine_factory().transcribe_path(archived)
    call = session.get(Call, call_pk)
    record = store.add_transcript_version(
        session, call_pk, engine=transcript.engine, model=transcript.model, language=transcript.language,
        imported=transcript.imported, segments=[segment_to_row(i, s) for i, s in enumerate(transcript.segments)],
        gaps=[gap_to_row(g) for g in transcript.gaps])
    store.set_call_status(session, call, "transcribed")
    commit_event(session, actor=actor, action="transcribe", object_type="call", object_id=call.call_id,
                 detail={"version": record.version, "engine": transcript.engine, "model": transcript.model,
                         "imported": transcript.imported, "source": str(sidecar) if sidecar else None,
                         "transcript": transcript_record(session, record.id)})
    return record.id
