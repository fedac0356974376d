"""A reviewer corrects what the recognizer heard, without losing what it heard.

A correction is a new transcript version: every segment, gap and word time of the current version is
copied, the corrected segment gets the reviewer's words, and the version records who corrected it and
why. Earlier versions stay as they were (`versions_of` shows them with their differences). The call is
then tagged and checked again under the rules in force, in the same transaction, so a verdict that turns
on the misheard words changes; the one `correct_transcript` audit event keeps the verdict and rules version
before the correction beside those after it.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass

from sqlmodel import Session

from callreview.core.errors import ReviewError
from callreview.core.rules import Rules
from callreview.service.assessment import assess_current_transcript
from callreview.service.audited import commit_event
from callreview.service.conflicts import recusal
from callreview.storage import calls as store
from callreview.storage.evidence import transcript_record
from callreview.storage.tables import GapRecord, SegmentRecord


class CorrectionRefused(ReviewError, ValueError):
    def __init__(self, call_id: str, problem: str):
        self.call_id, self.problem = call_id, problem
        super().__init__(f"call {call_id}: {problem}")


@dataclass(frozen=True)
class Correction:
    call_id: str
    version: int
    segment: int
    before: str
    after: str
    verdict_before: str | None
    verdict_after: str
    reasons_after: tuple[str, ...]


def correct_segment(session: Session, actor: str, author: str, call_id: str, segment: int, text: str, reason: str,
                    rules: Rules) -> Correction:
    """Replace the words of one segment of the current transcript in a new version, and assess the call again.

    Args:
        session: an open session; committed once: the version, the new assessment and the queue with one
            `correct_transcript` event.
        actor: who the audit log names (`web:alice`).
        author: who corrected it, as the version records it (`alice`).
        segment: the segment's index in the current version.
        text: the words as the reviewer hears them.
        reason: why (required): what was misheard, where it was checked.
        rules: the rules in force, for the new assessment.

    Raises:
        CorrectionRefused: no such call or segment, no transcript, empty words or reason, the same words, or
            an author recused from the call's officer (audited with outcome `refused`).
    """
    call = store.find_call(session, call_id)
    record = store.current_transcript(session, call.id) if call is not None else None
    rows = store.segments_of(session, record.id) if record is not None else []
    text, reason = " ".join((text or "").split()), (reason or "").strip()
    log = store.decision_log_for(session, call.id) if call is not None else None
    conflict = recusal(session, author, log.commanding_officer) if log is not None else None
    problem = None
    if call is None:
        problem = "no such call"
    elif conflict is not None:
        problem = f"{author} is recused from calls of {log.commanding_officer} ({conflict.reason})"
    elif record is None:
        problem = "has no transcript to correct"
    elif not 0 <= segment < len(rows):
        problem = f"has no segment {segment} (the current version has {len(rows)})"
    elif not text:
        problem = "the corrected words are empty"
    elif not reason:
        problem = "a reason is required: say what was misheard and how it was checked"
    elif text == rows[segment].text.strip():
        problem = f"segment {segment} already says that"
    if problem is not None:
        commit_event(session, actor=actor, action="correct_transcript", object_type="call", object_id=call_id,
                     outcome="refused", detail={"segment": segment, "text": text, "reason": reason, "problem": problem})
        raise CorrectionRefused(call_id, problem)
    before = rows[segment].text
    assessment = store.current_assessment(session, call.id)
    verdict_before = assessment.verdict if assessment else None
    rules_before = assessment.rules_version if assessment else None
    new = store.add_transcript_version(
        session, call.id, engine=record.engine, model=record.model, language=record.language, imported=record.imported,
        segments=[_copy(row, text if row.idx == segment else None) for row in rows],
        gaps=[GapRecord(start=g.start, end=g.end, reason=g.reason, channel=g.channel)
              for g in store.gaps_of(session, record.id)],
        corrected_by=author, correction_reason=reason)
    version_record = transcript_record(session, new.id)
    result, assessed = assess_current_transcript(session, call.id, rules)
    # One event for the person's one action: the new version and the assessment it led to, in one transaction.
    commit_event(session, actor=actor, action="correct_transcript", object_type="call", object_id=call_id,
                 detail={"segment": segment, "before": before, "after": text, "reason": reason,
                         "from_version": record.version, "version": new.version,
                         "verdict_before": verdict_before, "rules_before": rules_before,
                         "transcript": version_record, **assessed})
    return Correction(call_id, new.version, segment, before, text, verdict_before, result.verdict, result.reasons)


def _copy(row: SegmentRecord, text: str | None) -> SegmentRecord:
    """The segment as it was, or with a person's words: those are not a recognizer's guess, so its flags go."""
    return SegmentRecord(idx=row.idx, start=row.start, end=row.end, speaker=row.speaker,
                         text=row.text if text is None else text, confidence=row.confidence,
                         avg_logprob=row.avg_logprob, no_speech_prob=row.no_speech_prob,
                         compression_ratio=row.compression_ratio, channel=row.channel,
                         flags_json=row.flags_json if text is None else "[]", words_json=row.words_json)


@dataclass(frozen=True)
class Version:
    version: int
    current: bool
    created_at: str
    made_by: str  # the engine and model, or the reviewer who corrected the version before
    reason: str | None
    changes: list[tuple[int, str, str]]  # (segment, words before, words now) against the version before


def versions_of(session: Session, actor: str, call_id: str) -> list[Version]:
    """Every transcript version of a call, oldest first, with what changed from the one before (audited
    as `view_versions`).

    Raises:
        CorrectionRefused: no such call (audited with outcome `not_found`).
    """
    call = store.find_call(session, call_id)
    if call is None:
        commit_event(session, actor=actor, action="view_versions", object_type="call", object_id=call_id,
                     outcome="not_found")
        raise CorrectionRefused(call_id, "no such call")
    versions, previous = [], None
    for record in store.transcript_versions(session, call.id):
        texts = {row.idx: row.text for row in store.segments_of(session, record.id)}
        changes = [] if previous is None else [
            (i, previous.get(i, ""), texts.get(i, "")) for i in sorted(set(previous) | set(texts))
            if previous.get(i, "") != texts.get(i, "")]
        versions.append(Version(record.version, record.is_current, record.created_at.isoformat(),
                                f"corrected by {record.corrected_by}" if record.corrected_by
                                else f"{record.engine} {record.model}".strip(), record.correction_reason, changes))
        previous = texts
    commit_event(session, actor=actor, action="view_versions", object_type="call", object_id=call_id,
                 detail={"versions": len(versions)})
    return versions


def word_diff(before: str, after: str) -> list[tuple[str, str]]:
    """(op, words) runs: op is "same", "removed" or "added", for showing a correction word by word."""
    a, b = before.split(), after.split()
    runs = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            runs.append(("same", " ".join(a[i1:i2])))
        else:
            if i2 > i1:
                runs.append(("removed", " ".join(a[i1:i2])))
            if j2 > j1:
                runs.append(("added", " ".join(b[j1:j2])))
    return runs


def describe(correction: Correction) -> str:
    """One line for a page or a terminal: the verdict before and after."""
    reasons = f" ({', '.join(correction.reasons_after)})" if correction.reasons_after else ""
    return (f"transcript version {correction.version} saved; verdict {correction.verdict_before or 'none'} -> "
            f"{correction.verdict_after}{reasons}")
