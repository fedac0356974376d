"""The policy check: the verdict and its reasons, from the logged decision and the counted tags.

Implements DESIGN.md "Verdict" rule for rule; nothing here knows how tags were found.
"""
from __future__ import annotations

from dataclasses import dataclass

from callreview.core.decisions import DecisionLog
from callreview.core.mentions import BASIS_KINDS, MAY_COUNT, Doubt
from callreview.core import vocabulary

VERDICTS = tuple(vocabulary.Verdict)
REASONS = tuple(vocabulary.Reason)
# What each reason means, in the words reviewers read on the call page and in reports.
REASON_TEXT = {reason: info.text for reason, info in vocabulary.REASON_INFO.items()}
# Doubts from the recognizer's confidence, not from the tagger's reading (callreview.core.doubts.unsure_words).
UNSURE_WORD_RULE = "low_confidence_word"


@dataclass(frozen=True)
class Verdict:
    verdict: str
    reasons: tuple[str, ...]
    counted: tuple[str, ...]
    doubts: tuple[Doubt, ...] = ()  # for uncertain_evidence: the weak readings the verdict hinges on


def assess(log: DecisionLog | None, counted: list[str] | tuple[str, ...], unusable: bool,
           doubts: tuple[Doubt, ...] | list[Doubt] = ()) -> Verdict:
    """Apply DESIGN.md's verdict rules.

    "Where the verdict would otherwise be consistent but hinges on evidence the tagger reads only weakly
    ... -> uncertain_evidence ... needs_review, naming the words and times. A missed mismatch costs more
    than a person's minute." A doubt decides the verdict when reading it the other way (counting what may
    count, or not counting what may not) makes the call a mismatch.

    Args:
        log: the logged decision, or None when none was logged.
        counted: kinds with at least one unqualified mention.
        unusable: whether the transcript cannot be understood.
        doubts: weakly read evidence (callreview.core.doubts); only those that decide the verdict are kept.

    Returns:
        The verdict, its reasons sorted, the counted kinds (empty for an unusable transcript), and for
        `uncertain_evidence` the doubts it hinges on.
    """
    verdict = _verdict(log, counted, unusable)
    if verdict.verdict != "consistent" or not doubts:
        return verdict
    deciding = tuple(d for d in doubts if _verdict(log, _other_reading(verdict.counted, d), False).verdict == "mismatch")
    if not deciding:
        return verdict
    # "where a word that decides the verdict is low-confidence ... -> uncertain_transcript"
    reasons = sorted({"uncertain_transcript" if d.rule == UNSURE_WORD_RULE else "uncertain_evidence" for d in deciding})
    return Verdict("needs_review", tuple(reasons), verdict.counted, deciding)


def _other_reading(counted: tuple[str, ...], doubt: Doubt) -> set[str]:
    return set(counted) | {doubt.kind} if doubt.reading == MAY_COUNT else set(counted) - {doubt.kind}


def _verdict(log: DecisionLog | None, counted: list[str] | tuple[str, ...] | set[str], unusable: bool) -> Verdict:
    counted_set = set() if unusable else set(counted)
    counted_sorted = tuple(sorted(counted_set))
    # "Either -> needs_review, and nothing else is evaluated."
    early = [r for r, hit in (("missing_log", log is None), ("transcript_unusable", unusable)) if hit]
    if early:
        return Verdict("needs_review", tuple(sorted(early)), counted_sorted)
    reasons: set[str] = set()
    basis_found = counted_set & set(BASIS_KINDS)
    if log.decision == "dispatched":
        if not log.basis:
            reasons.add("basis_not_logged")
        if not basis_found:
            reasons.add("dispatch_without_basis")
        elif any(b not in basis_found for b in log.basis):
            reasons.add("basis_not_in_transcript")
        if "door_knock" in counted_set:
            reasons.add("door_knock_request_dispatched")
    elif log.decision == "declined" and "emergency" in counted_set:
        reasons.add("declined_despite_emergency")
    return Verdict("mismatch" if reasons else "consistent", tuple(sorted(reasons)), counted_sorted)
