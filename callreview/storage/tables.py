"""The SQLModel tables. Rows here are storage shapes; the core dataclasses live in transcribe/ and core/.

Lists (basis, reasons, flags, words) are stored as JSON text so the same schema runs on SQLite and
PostgreSQL without dialect types.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from callreview.storage.dates import utcnow  # noqa: F401 - the default of every timestamp column below


class Call(SQLModel, table=True):
    """One recording, identified by the SHA-256 of its bytes: the same file dropped twice is one call."""

    id: int | None = Field(default=None, primary_key=True)
    call_id: str = Field(index=True, unique=True, description="From the log sidecar, else the file stem.")
    sha256: str = Field(index=True, unique=True, max_length=64)
    original_name: str
    format: str
    size_bytes: int
    archive_path: str = Field(description="Relative to the archive folder.")
    duration: float | None = None
    channels: int | None = None
    sample_rate: int | None = None
    # archived -> transcribed -> assessed; "failed" keeps the error so the next run retries it.
    status: str = Field(default="archived", index=True)
    error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Quarantine(SQLModel, table=True):
    """A file refused at intake, kept as a copy with the reason; the inbox original is left alone."""

    id: int | None = Field(default=None, primary_key=True)
    sha256: str | None = Field(default=None, index=True, max_length=64)
    original_name: str
    source_path: str
    quarantine_path: str | None = None
    reason: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class DecisionLogRecord(SQLModel, table=True):
    __tablename__ = "decision_log"

    id: int | None = Field(default=None, primary_key=True)
    call_pk: int = Field(foreign_key="call.id", index=True, unique=True)
    decision: str
    basis_json: str = "[]"
    received_at: datetime | None = Field(default=None, index=True)
    requesting_agency: str | None = None
    requester: str | None = None
    commanding_officer: str | None = Field(default=None, index=True)
    notes: str | None = Field(default=None, sa_column=Column(Text))
    source: str = Field(description="sidecar, csv or case file the log came from")
    created_at: datetime = Field(default_factory=utcnow)


class TranscriptRecord(SQLModel, table=True):
    """One version of a call's transcript. Re-transcription or import adds a version; nothing is overwritten."""

    __tablename__ = "transcript"
    __table_args__ = (UniqueConstraint("call_pk", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    call_pk: int = Field(foreign_key="call.id", index=True)
    version: int
    engine: str
    model: str = ""
    language: str = ""
    imported: bool = False
    is_current: bool = Field(default=True, index=True)
    created_at: datetime = Field(default_factory=utcnow)
    # A reviewer's correction of the version before (callreview.service.corrections): who, and why.
    corrected_by: str | None = None
    correction_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class SegmentRecord(SQLModel, table=True):
    __tablename__ = "segment"

    id: int | None = Field(default=None, primary_key=True)
    transcript_pk: int = Field(foreign_key="transcript.id", index=True)
    idx: int
    start: float
    end: float
    speaker: str
    text: str = Field(sa_column=Column(Text, nullable=False))
    confidence: float | None = None
    avg_logprob: float | None = None
    no_speech_prob: float | None = None
    compression_ratio: float | None = None
    channel: int | None = None
    flags_json: str = "[]"
    words_json: str = Field(default="[]", sa_column=Column(Text, nullable=False, default="[]"))


class GapRecord(SQLModel, table=True):
    __tablename__ = "gap"

    id: int | None = Field(default=None, primary_key=True)
    transcript_pk: int = Field(foreign_key="transcript.id", index=True)
    start: float
    end: float
    reason: str
    channel: int | None = None


class AssessmentRecord(SQLModel, table=True):
    """The verdict for one transcript version under one rules version; re-running adds nothing."""

    __tablename__ = "assessment"
    __table_args__ = (UniqueConstraint("transcript_pk", "rules_version"),)

    id: int | None = Field(default=None, primary_key=True)
    call_pk: int = Field(foreign_key="call.id", index=True)
    transcript_pk: int = Field(foreign_key="transcript.id")
    rules_version: str
    verdict: str = Field(index=True)
    reasons_json: str = "[]"
    counted_json: str = "[]"
    unusable: bool = False
    # For uncertain_evidence: the weakly read words the verdict hinges on (kind, reading, segment, times,
    # characters, text, rule, why), so reviewers see which words to judge.
    doubts_json: str = Field(default="[]", sa_column=Column(Text, nullable=False, default="[]",
                                                            server_default="[]"))
    is_current: bool = Field(default=True, index=True)
    created_at: datetime = Field(default_factory=utcnow)


class TagRecord(SQLModel, table=True):
    __tablename__ = "tag"

    id: int | None = Field(default=None, primary_key=True)
    assessment_pk: int = Field(foreign_key="assessment.id", index=True)
    kind: str = Field(index=True)
    qualifier: str | None = None
    segment_idx: int
    speaker: str
    start: float
    end: float
    char_start: int
    char_end: int
    text: str = Field(sa_column=Column(Text, nullable=False))
    rule: str


class ReviewItem(SQLModel, table=True):
    """A call a human must look at: one per assessment that is a mismatch or needs review."""

    __tablename__ = "review_item"

    id: int | None = Field(default=None, primary_key=True)
    call_pk: int = Field(foreign_key="call.id", index=True)
    assessment_pk: int = Field(foreign_key="assessment.id", unique=True)
    verdict: str
    reasons_json: str = "[]"
    status: str = Field(default="open", index=True)  # open | closed
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    closed_at: datetime | None = None
    close_reason: str | None = None


class Disposition(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    review_item_pk: int = Field(foreign_key="review_item.id", index=True)
    reviewer: str
    disposition: str  # confirmed | dismissed | escalated
    note: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    # Double review: `first` and `second` are the two blind findings, `adjudication` the lead's that closes
    # a disagreement; None is a single reviewer's disposition.
    stage: str | None = None


class AuditEvent(SQLModel, table=True):
    """Append-only: the application inserts rows and never updates or deletes them.

    Each row carries the hash of the previous row, so an edited or deleted row breaks the chain
    (callreview.storage.audit).
    """

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor: str
    action: str = Field(index=True)
    object_type: str
    object_id: str
    outcome: str = "ok"
    detail_json: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    # Unique: two writers that read the same last row cannot both append, so the chain never forks.
    prev_hash: str = Field(max_length=64, unique=True)
    # HMAC-SHA256 under the audit key named by key_id; plain SHA-256 for rows written before the chain was
    # keyed (key_id NULL).
    hash: str = Field(max_length=64)
    key_id: str | None = Field(default=None, max_length=16)
