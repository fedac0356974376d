"""Interim transcript search for the web app, over the plain SQL tables with LIKE.

Only current transcript versions are searched. Every word or "quoted phrase" in the query must occur in
the segment (case-insensitive); the user's text is always matched literally (`%`, `_` and `\\` are
escaped). `callreview/storage/search.py` (FTS5 / PostgreSQL full text) will replace `search_segments` with the
same signature; until then this scans segments, which is fine for thousands of calls, not millions.
"""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, exists, func
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from callreview.storage.tables import (AssessmentRecord, Call, DecisionLogRecord, SegmentRecord, TagRecord,
                            TranscriptRecord)

# Highlight markers around each match in a snippet: private-use characters never found in transcripts,
# so the web layer can HTML-escape the snippet first and then turn the markers into <mark> tags.
MARK_START = "\ue000"
MARK_END = "\ue001"
_SNIPPET_CONTEXT = 70  # characters shown on each side of the first match


@dataclass(frozen=True)
class SearchHit:
    call_id: str
    segment_idx: int
    start: float
    end: float
    speaker: str
    snippet: str  # the segment text (or a window of it) with MARK_START/MARK_END around matches
    received_at: datetime | None
    commanding_officer: str | None
    decision: str | None
    verdict: str | None


def parse_terms(text: str) -> list[str]:
    """Split a query into lower-case words and "quoted phrases"; an unbalanced quote counts as text."""
    try:
        parts = shlex.split(text, posix=True)
    except ValueError:
        parts = text.replace('"', " ").split()
    return [p.lower() for p in (" ".join(part.split()) for part in parts) if p]


def _like_pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def make_snippet(text: str, terms: list[str], context: int = _SNIPPET_CONTEXT) -> str:
    """A window of `text` around the first match, with every match inside it wrapped in markers."""
    if not terms:
        return text[: 2 * context] + ("…" if len(text) > 2 * context else "")
    pattern = re.compile("|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)), re.IGNORECASE)
    first = pattern.search(text)
    begin = max(0, first.start() - context) if first else 0
    stop = min(len(text), (first.end() + context) if first else 2 * context)
    lead = "…" if begin > 0 else ""
    tail = "…" if stop < len(text) else ""
    window = pattern.sub(lambda m: f"{MARK_START}{m.group(0)}{MARK_END}", text[begin:stop])
    return lead + window + tail


def search_segments(session: Session, *, text: str, tag: str | None = None, officer: str | None = None,
                    date_from: datetime | None = None, date_to: datetime | None = None,
                    decision: str | None = None, verdict: str | None = None, limit: int = 50) -> list[SearchHit]:
    """Find transcript segments matching the query and filters, newest call first.

    Args:
        session: an open session.
        text: words and "quoted phrases", all of which must occur in a segment. Empty with no `tag`:
            one hit per matching call (its first segment), so filters alone list calls.
        tag: a tag kind (e.g. `door_knock`); only segments with a mention of that kind, qualified or not.
        officer: part of the commanding officer's name (case-insensitive).
        date_from: calls received at or after this (timezone-aware) instant.
        date_to: calls received before this instant.
        decision: `dispatched`, `declined`, or `none` for calls with no logged decision.
        verdict: the current assessment's verdict (`consistent`, `mismatch`, `needs_review`).
        limit: the most hits returned.

    Returns:
        Hits with highlighted snippets, ordered by call time (newest first), then segment.
    """
    terms = parse_terms(text or "")
    stmt = (select(SegmentRecord, Call, DecisionLogRecord, AssessmentRecord)
            .join(TranscriptRecord, and_(TranscriptRecord.id == SegmentRecord.transcript_pk,
                                         TranscriptRecord.is_current == True))  # noqa: E712
            .join(Call, Call.id == TranscriptRecord.call_pk)
            .join(DecisionLogRecord, DecisionLogRecord.call_pk == Call.id, isouter=True)
            .join(AssessmentRecord, and_(AssessmentRecord.call_pk == Call.id,
                                         AssessmentRecord.is_current == True), isouter=True))  # noqa: E712
    for term in terms:
        stmt = stmt.where(func.lower(SegmentRecord.text).like(_like_pattern(term), escape="\\"))
    if tag:
        stmt = stmt.where(exists().where(TagRecord.assessment_pk == AssessmentRecord.id,
                                         TagRecord.segment_idx == SegmentRecord.idx, TagRecord.kind == tag))
    if not terms and not tag:
        first = aliased(SegmentRecord)
        stmt = stmt.where(SegmentRecord.idx == select(func.min(first.idx))
                          .where(first.transcript_pk == TranscriptRecord.id).scalar_subquery())
    if officer:
        stmt = stmt.where(func.lower(DecisionLogRecord.commanding_officer)
                          .like(_like_pattern(officer.strip().lower()), escape="\\"))
    if date_from is not None:
        stmt = stmt.where(DecisionLogRecord.received_at >= date_from)
    if date_to is not None:
        stmt = stmt.where(DecisionLogRecord.received_at < date_to)
    if decision == "none":
        stmt = stmt.where(DecisionLogRecord.id.is_(None))
    elif decision:
        stmt = stmt.where(DecisionLogRecord.decision == decision)
    if verdict:
        stmt = stmt.where(AssessmentRecord.verdict == verdict)
    # Calls with no logged time sort last on SQLite and PostgreSQL alike (false < true).
    stmt = stmt.order_by(DecisionLogRecord.received_at.is_(None), DecisionLogRecord.received_at.desc(),
                         Call.call_id, SegmentRecord.idx).limit(limit)
    return [SearchHit(call_id=call.call_id, segment_idx=seg.idx, start=seg.start, end=seg.end, speaker=seg.speaker,
                      snippet=make_snippet(seg.text, terms), received_at=log.received_at if log else None,
                      commanding_officer=log.commanding_officer if log else None,
                      decision=log.decision if log else None, verdict=assessment.verdict if assessment else None)
            for seg, call, log, assessment in session.exec(stmt)]

