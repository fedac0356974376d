"""Exports as text: a call's current transcript as WebVTT or SRT, the review queue and dispositions as CSV.

`transcript_vtt`, `transcript_srt`, `queue_csv` and `dispositions_csv` return the whole document as a string.
The use cases `export_call_transcript`, `export_queue` and `export_dispositions` build it, hand it to the
caller's `write` (a file, for the CLI), and then record the export as one audit event in the same
transaction: an export whose write failed is not recorded as done.
"""
from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Callable

from sqlmodel import Session

from callreview.core.errors import ReviewError
from callreview.service.audited import commit_event
from callreview.service.records import record_to_transcript
from callreview.storage import calls as store
from callreview.storage.queue import list_items
from callreview.storage.reporting import list_dispositions
from callreview.transcribe.segments import Transcript
from callreview.transcribe.vtt import cue_stamp, write_vtt

FORMATS = ("vtt", "srt")


class ExportError(ReviewError, LookupError):
    def __init__(self, call_id: str, problem: str):
        self.call_id, self.problem = call_id, problem
        super().__init__(f"call {call_id}: {problem}")


def current_transcript_of(session: Session, call_id: str) -> Transcript:
    """The call's current transcript version as a core Transcript (segments, gaps, language)."""
    call = store.find_call(session, call_id)
    if call is None:
        raise ExportError(call_id, "no such call; `callreview queue --status all` lists calls under review")
    record = store.current_transcript(session, call.id)
    if record is None:
        raise ExportError(call_id, "has no transcript yet (it has not been transcribed)")
    return record_to_transcript(session, record)


def transcript_vtt(session: Session, call_id: str) -> str:
    """WebVTT of the call's current transcript: one `<v speaker>` cue per segment (callreview.transcribe.vtt)."""
    return write_vtt(current_transcript_of(session, call_id))


def transcript_srt(session: Session, call_id: str) -> str:
    """SubRip of the call's current transcript.

    SRT has no voice tags, so each cue starts with the speaker label in brackets ("[officer] ...");
    flagged segments end with their flags, as the VTT export notes them.
    """
    transcript = current_transcript_of(session, call_id)
    blocks = []
    for n, seg in enumerate(transcript.segments, 1):
        flags = f" [flagged: {', '.join(seg.flags)}]" if seg.flags else ""
        blocks.append(f"{n}\n{_srt_stamp(seg.start)} --> {_srt_stamp(seg.end)}\n[{seg.speaker}] "
                      f"{' '.join(seg.text.split())}{flags}\n")
    return "\n".join(blocks)


def with_audit_note(vtt: str, head: str) -> str:
    """The WebVTT document with a NOTE block after its header naming the audit log's head (SRT and CSV
    have no comments: the CLI prints the head beside them instead)."""
    header, sep, rest = vtt.partition("\n\n")
    return f"{header}\n\nNOTE audit log: {head}\n\n{rest}" if sep else f"{vtt.rstrip()}\n\nNOTE audit log: {head}\n"


def export_transcript(session: Session, call_id: str, fmt: str) -> str:
    """`transcript_vtt` or `transcript_srt` by format name."""
    if fmt not in FORMATS:
        raise ExportError(call_id, f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    return transcript_vtt(session, call_id) if fmt == "vtt" else transcript_srt(session, call_id)


Write = Callable[[str], None]


def export_call_transcript(session: Session, actor: str, call_id: str, fmt: str, destination: str,
                           write: Write | None = None) -> str:
    """Export a call's current transcript (`export_transcript`), audited as one `export_transcript` event.

    Args:
        session: an open session; it is committed here.
        actor: who the audit log names.
        call_id: the call.
        fmt: vtt or srt.
        destination: where the document goes, as the audit log names it (a file, or "stdout").
        write: delivers the document before the export is recorded; None when the caller prints it after.

    Raises:
        ExportError: no such call, or no transcript yet (recorded with outcome `not_found`).
    """
    try:
        text = export_transcript(session, call_id, fmt)
    except ExportError:
        _record(session, actor, "export_transcript", "call", call_id, "not_found", format=fmt)
        raise
    if write is not None:
        write(text)
    _record(session, actor, "export_transcript", "call", call_id, format=fmt, out=destination)
    return text


def export_queue(session: Session, actor: str, status: str, destination: str, write: Write) -> str:
    """Export the review items with `status` (open, closed or all) as CSV, audited as one `export_queue` event."""
    text = queue_csv(session, None if status == "all" else status)
    write(text)
    _record(session, actor, "export_queue", "queue", status, out=destination, rows=_rows(text))
    return text


def export_dispositions(session: Session, actor: str, destination: str, write: Write) -> str:
    """Export every disposition as CSV, audited as one `export_dispositions` event."""
    text = dispositions_csv(session)
    write(text)
    _record(session, actor, "export_dispositions", "dispositions", "all", out=destination, rows=_rows(text))
    return text


def _record(session: Session, actor: str, action: str, object_type: str, object_id: str, outcome: str = "ok",
            **detail) -> None:
    commit_event(session, actor=actor, action=action, object_type=object_type, object_id=object_id,
                 outcome=outcome, detail=detail)


def _rows(text: str) -> int:
    """Data rows in a CSV document (its lines, less the header)."""
    return text.count("\n") - 1


QUEUE_COLUMNS = ("item", "call_id", "status", "verdict", "reasons", "received_at", "commanding_officer",
                 "decision", "claimed_by", "created_at")
DISPOSITION_COLUMNS = ("disposition_id", "item", "call_id", "verdict", "reasons", "item_status", "reviewer",
                       "disposition", "note", "at")


def queue_csv(session: Session, status: str | None = None) -> str:
    """Every review item (or those with `status`), one row each; reasons `;`-separated like the log CSVs."""
    rows = [(r.item_id, r.call_id, r.status, r.verdict, ";".join(r.reasons), _iso(r.received_at),
             r.commanding_officer, r.decision, r.claimed_by, _iso(r.created_at))
            for r in list_items(session, status=status)]
    return _csv(QUEUE_COLUMNS, rows)


def dispositions_csv(session: Session) -> str:
    """Every disposition reviewers recorded, oldest first, with the item's call, verdict and reasons."""
    rows = [(d.disposition_id, d.item_id, d.call_id, d.verdict, ";".join(d.reasons), d.item_status, d.reviewer,
             d.disposition, d.note, _iso(d.at)) for d in list_dispositions(session)]
    return _csv(DISPOSITION_COLUMNS, rows)


def _csv(columns: tuple[str, ...], rows: list[tuple]) -> str:
    out = io.StringIO()
    # CRLF rows (RFC 4180): the csv module quotes a field only for the line terminator's characters, so
    # with "\n" rows a note holding a bare "\r" was left unquoted and split its row in two.
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


# What makes spreadsheet programs read a cell as a formula (OWASP "CSV injection"); notes and sidecar
# fields are text from people and files, so a cell that could start one is prefixed with "'".
_FORMULA_START = ("=", "+", "-", "@")
_FORMULA_CONTROL = ("\t", "\r")


def _cell(value) -> str:
    if value is None:
        return ""
    text = str(value)
    # Spreadsheets skip leading whitespace before a formula: " =cmd" and "\n+1" run as surely as "=cmd".
    if text[:1] in _FORMULA_CONTROL or text.lstrip()[:1] in _FORMULA_START:
        return "'" + text
    return text


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _srt_stamp(seconds: float) -> str:
    return cue_stamp(seconds, ",")
