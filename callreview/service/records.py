"""Mapping between the core dataclasses (Segment, Mention, DecisionLog) and storage rows."""
from __future__ import annotations

import json

from callreview.core.decisions import DecisionLog
from callreview.core.mentions import Mention
from sqlmodel import Session

from callreview.storage.calls import LogFields, gaps_of, segments_of
from callreview.storage.dates import parse_instant
from callreview.storage.tables import DecisionLogRecord, GapRecord, SegmentRecord, TagRecord, TranscriptRecord
from callreview.transcribe.segments import Gap, Segment, Transcript, Word


def segment_to_row(idx: int, seg: Segment) -> SegmentRecord:
    return SegmentRecord(idx=idx, start=seg.start, end=seg.end, speaker=seg.speaker, text=seg.text,
                         confidence=seg.confidence, avg_logprob=seg.avg_logprob, no_speech_prob=seg.no_speech_prob,
                         compression_ratio=seg.compression_ratio, channel=seg.channel,
                         flags_json=json.dumps(list(seg.flags)),
                         words_json=json.dumps([[w.start, w.end, w.text, w.probability] for w in seg.words]))


def row_to_segment(row: SegmentRecord) -> Segment:
    return Segment(start=row.start, end=row.end, text=row.text, speaker=row.speaker, avg_logprob=row.avg_logprob,
                   no_speech_prob=row.no_speech_prob, compression_ratio=row.compression_ratio,
                   words=tuple(Word(*w) for w in json.loads(row.words_json or "[]")),
                   flags=tuple(json.loads(row.flags_json or "[]")), channel=row.channel)


def record_to_transcript(session: Session, record: TranscriptRecord) -> Transcript:
    """A stored transcript version, segments and gaps, as the core Transcript."""
    segments = tuple(row_to_segment(r) for r in segments_of(session, record.id))
    gaps = tuple(Gap(start=g.start, end=g.end, reason=g.reason, channel=g.channel) for g in gaps_of(session, record.id))
    return Transcript(language=record.language or "en", segments=segments, engine=record.engine,
                      model=record.model, imported=record.imported, gaps=gaps)


def gap_to_row(gap: Gap) -> GapRecord:
    return GapRecord(start=gap.start, end=gap.end, reason=gap.reason, channel=gap.channel)


def mention_to_row(m: Mention) -> TagRecord:
    return TagRecord(kind=m.kind, qualifier=m.qualifier, segment_idx=m.segment, speaker=m.speaker, start=m.start,
                     end=m.end, char_start=m.char_start, char_end=m.char_end, text=m.text, rule=m.rule)


def log_to_fields(log: DecisionLog, source: str) -> LogFields:
    # Stored in UTC so SQLite and PostgreSQL compare dates the same way; a log without an offset is
    # taken as UTC rather than guessed.
    received = parse_instant(log.received_at) if log.received_at else None
    return LogFields(decision=log.decision, basis=list(log.basis), received_at=received,
                     requesting_agency=log.requesting_agency, requester=log.requester,
                     commanding_officer=log.commanding_officer, notes=log.notes, source=source)


def row_to_log(row: DecisionLogRecord, call_id: str) -> DecisionLog:
    return DecisionLog(decision=row.decision, basis=tuple(json.loads(row.basis_json)), call_id=call_id,
                       received_at=row.received_at.isoformat() if row.received_at else None,
                       requesting_agency=row.requesting_agency, requester=row.requester,
                       commanding_officer=row.commanding_officer, notes=row.notes)
