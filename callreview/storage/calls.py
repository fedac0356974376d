"""Queries and writes for calls, their logs, transcript versions and assessments.

Functions take the session as their first argument and never commit unless their name says so: the
caller decides the transaction, so one call's stage is written whole or not at all.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, select

from callreview.storage.tables import (AssessmentRecord, Call, DecisionLogRecord, GapRecord, Quarantine, SegmentRecord,
                            TagRecord, TranscriptRecord, utcnow)


def find_call_by_sha(session: Session, sha256: str) -> Call | None:
    return session.exec(select(Call).where(Call.sha256 == sha256)).first()


def find_call(session: Session, call_id: str) -> Call | None:
    return session.exec(select(Call).where(Call.call_id == call_id)).first()


def find_quarantine_by_sha(session: Session, sha256: str) -> Quarantine | None:
    return session.exec(select(Quarantine).where(Quarantine.sha256 == sha256)).first()


def find_quarantine(session: Session, source_path: str, reason: str) -> Quarantine | None:
    """The earlier refusal of the same path for the same reason (for refusals made before hashing)."""
    return session.exec(select(Quarantine).where(Quarantine.source_path == source_path,
                                                 Quarantine.reason == reason)).first()


def add_quarantine(session: Session, *, sha256: str | None, original_name: str, source_path: str,
                   quarantine_path: str | None, reason: str) -> Quarantine:
    row = Quarantine(sha256=sha256, original_name=original_name, source_path=source_path,
                     quarantine_path=quarantine_path, reason=reason)
    session.add(row)
    session.flush()
    return row


def set_call_status(session: Session, call: Call, status: str, error: str | None = None) -> None:
    call.status, call.error, call.updated_at = status, error, utcnow()
    session.add(call)
    session.flush()


@dataclass(frozen=True)
class LogFields:
    decision: str
    basis: list[str]
    received_at: datetime | None
    requesting_agency: str | None
    requester: str | None
    commanding_officer: str | None
    notes: str | None
    source: str


def save_decision_log(session: Session, call_pk: int, fields: LogFields) -> DecisionLogRecord:
    row = DecisionLogRecord(call_pk=call_pk, decision=fields.decision, basis_json=json.dumps(fields.basis),
                            received_at=fields.received_at, requesting_agency=fields.requesting_agency,
                            requester=fields.requester, commanding_officer=fields.commanding_officer,
                            notes=fields.notes, source=fields.source)
    session.add(row)
    session.flush()
    return row


def decision_log_for(session: Session, call_pk: int) -> DecisionLogRecord | None:
    return session.exec(select(DecisionLogRecord).where(DecisionLogRecord.call_pk == call_pk)).first()


def add_transcript_version(session: Session, call_pk: int, *, engine: str, model: str, language: str,
                           imported: bool, segments: list[SegmentRecord], gaps: list[GapRecord],
                           corrected_by: str | None = None, correction_reason: str | None = None) -> TranscriptRecord:
    """Add a new current transcript version; earlier versions stay, marked not current."""
    previous = session.exec(select(TranscriptRecord).where(TranscriptRecord.call_pk == call_pk)).all()
    for old in previous:
        if old.is_current:
            old.is_current = False
            session.add(old)
    version = max((t.version for t in previous), default=0) + 1
    record = TranscriptRecord(call_pk=call_pk, version=version, engine=engine, model=model, language=language,
                              imported=imported, is_current=True, corrected_by=corrected_by,
                              correction_reason=correction_reason)
    session.add(record)
    session.flush()
    for seg in segments:
        seg.transcript_pk = record.id
        session.add(seg)
    for gap in gaps:
        gap.transcript_pk = record.id
        session.add(gap)
    session.flush()
    return record


def current_transcript(session: Session, call_pk: int) -> TranscriptRecord | None:
    return session.exec(select(TranscriptRecord).where(TranscriptRecord.call_pk == call_pk,
                                                       TranscriptRecord.is_current == True)).first()  # noqa: E712


def transcript_versions(session: Session, call_pk: int) -> list[TranscriptRecord]:
    return list(session.exec(select(TranscriptRecord).where(TranscriptRecord.call_pk == call_pk)
                             .order_by(TranscriptRecord.version)))


def segments_of(session: Session, transcript_pk: int) -> list[SegmentRecord]:
    return list(session.exec(select(SegmentRecord).where(SegmentRecord.transcript_pk == transcript_pk)
                             .order_by(SegmentRecord.idx)))


def gaps_of(session: Session, transcript_pk: int) -> list[GapRecord]:
    return list(session.exec(select(GapRecord).where(GapRecord.transcript_pk == transcript_pk)
                             .order_by(GapRecord.start)))


def find_assessment(session: Session, transcript_pk: int, rules_version: str) -> AssessmentRecord | None:
    return session.exec(select(AssessmentRecord).where(AssessmentRecord.transcript_pk == transcript_pk,
                                                       AssessmentRecord.rules_version == rules_version)).first()


def add_assessment(session: Session, *, call_pk: int, transcript_pk: int, rules_version: str, verdict: str,
                   reasons: list[str], counted: list[str], unusable: bool, tags: list[TagRecord],
                   doubts: list[dict] | None = None) -> AssessmentRecord:
    """Store an assessment as the call's current one, with its tags (and the doubts it hinges on)."""
    _retire_current_assessment(session, call_pk)
    record = AssessmentRecord(call_pk=call_pk, transcript_pk=transcript_pk, rules_version=rules_version,
                              verdict=verdict, reasons_json=json.dumps(reasons), counted_json=json.dumps(counted),
                              unusable=unusable, doubts_json=json.dumps(doubts or [], ensure_ascii=False),
                              is_current=True)
    session.add(record)
    session.flush()
    for tag in tags:
        tag.assessment_pk = record.id
        session.add(tag)
    session.flush()
    return record


def _retire_current_assessment(session: Session, call_pk: int) -> None:
    for old in session.exec(select(AssessmentRecord).where(AssessmentRecord.call_pk == call_pk,
                                                           AssessmentRecord.is_current == True)):  # noqa: E712
        old.is_current = False
        session.add(old)


def make_assessment_current(session: Session, assessment: AssessmentRecord) -> None:
    _retire_current_assessment(session, assessment.call_pk)
    assessment.is_current = True
    session.add(assessment)
    session.flush()


def calls_to_recheck(session: Session, since: datetime | None = None) -> list[int]:
    """Primary keys of calls with a current transcript, received (or, unlogged, archived) on or after `since`."""
    stmt = (select(Call.id).join(TranscriptRecord, TranscriptRecord.call_pk == Call.id)
            .join(DecisionLogRecord, DecisionLogRecord.call_pk == Call.id, isouter=True)
            .where(TranscriptRecord.is_current == True)  # noqa: E712
            .order_by(Call.id))
    if since is not None:
        stmt = stmt.where(func.coalesce(DecisionLogRecord.received_at, Call.created_at) >= since)
    return list(session.exec(stmt))


def current_assessment(session: Session, call_pk: int) -> AssessmentRecord | None:
    return session.exec(select(AssessmentRecord).where(AssessmentRecord.call_pk == call_pk,
                                                       AssessmentRecord.is_current == True)).first()  # noqa: E712


def tags_of(session: Session, assessment_pk: int) -> list[TagRecord]:
    return list(session.exec(select(TagRecord).where(TagRecord.assessment_pk == assessment_pk)
                             .order_by(TagRecord.segment_idx, TagRecord.char_start)))


def list_calls(session: Session) -> list[Call]:
    return list(session.exec(select(Call).order_by(Call.id)))
