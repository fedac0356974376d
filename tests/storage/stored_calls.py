"""Calls stored the way the stages store them (archive, Call row, a transcript, an assessment with tags and,
when asked, a review item, each with the audit event that records it, as `verify` expects): real rows and
files, with the storage API only."""
from __future__ import annotations

import math
import struct
import wave
from datetime import datetime
from pathlib import Path

from sqlmodel import Session

from callreview.storage.archive import archive_file
from callreview.storage.audit import record_event
from callreview.storage.calls import add_assessment, add_transcript_version
from callreview.storage.evidence import item_states, transcript_record
from callreview.storage.queue import add_review_item, close_item
from callreview.storage.tables import Call, Disposition, GapRecord, SegmentRecord, TagRecord


def write_wav(path: Path, freq: float, seconds: float = 0.3, rate: int = 8000) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", int(9000 * math.sin(2 * math.pi * freq * i / rate)))
                               for i in range(int(seconds * rate))))
    return path


def store_call(session: Session, settings, src: Path, call_id: str, *, status: str = "assessed",
               review: str | None = None, created_at: datetime | None = None) -> Call:
    """Archive `src` and store a call with 2 segments, 1 gap, 1 tag; `review`: None, "open" or "closed"."""
    archived = archive_file(src, settings.archive_dir, max_bytes=settings.max_file_bytes)
    call = Call(call_id=call_id, sha256=archived.sha256, original_name=src.name, format=src.suffix[1:],
                size_bytes=archived.size, archive_path=archived.relative_path, status=status)
    if created_at is not None:
        call.created_at = created_at
    session.add(call)
    session.flush()
    record_event(session, actor="batch", action="intake", object_type="call", object_id=call_id,
                 detail={"sha256": archived.sha256, "source": str(src), "decision_log": None})
    transcript = add_transcript_version(
        session, call.id, engine="import", model="json", language="en", imported=True,
        segments=[SegmentRecord(idx=0, start=0.0, end=0.1, speaker="ice", text="Knock on the door for us."),
                  SegmentRecord(idx=1, start=0.1, end=0.2, speaker="officer", text="We don't do that.")],
        gaps=[GapRecord(start=0.2, end=0.3, reason="no speech")])
    record_event(session, actor="batch", action="transcribe", object_type="call", object_id=call_id,
                 detail={"version": transcript.version, "transcript": transcript_record(session, transcript.id)})
    assessment = add_assessment(
        session, call_pk=call.id, transcript_pk=transcript.id, rules_version="1", verdict="mismatch",
        reasons=["door_knock_request_dispatched"], counted=["door_knock"], unusable=False,
        tags=[TagRecord(kind="door_knock", segment_idx=0, speaker="ice", start=0.0, end=0.1, char_start=0,
                        char_end=19, text="Knock on the door", rule="door_knock.knock")])
    item = add_review_item(session, assessment) if review is not None else None
    record_event(session, actor="batch", action="assess", object_type="call", object_id=call_id,
                 detail={"verdict": "mismatch", "review_item": item.id if item else None,
                         "review_items": item_states(session, call_pk=call.id)})
    if review == "closed":
        disposition = Disposition(review_item_pk=item.id, reviewer="tester", disposition="confirmed",
                                  note="Door knock confirmed on the recording.")
        session.add(disposition)
        close_item(session, item, "disposition")
        record_event(session, actor="web:tester", action="dispose", object_type="review_item", object_id=item.id,
                     detail={"call_id": call_id, "disposition": "confirmed", "note": disposition.note,
                             "disposition_id": disposition.id, "review_items": item_states(session, item_ids=[item.id])})
    session.commit()
    return call
