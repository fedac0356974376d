"""The domain's words, each defined once: tag kinds, qualifiers, verdicts, reasons (with the text reviewers
read and a severity), decisions, dispositions and call statuses.

Values are DESIGN.md's words exactly, so each member is also the plain string stored, printed and sent as
JSON (`Kind.door_knock == "door_knock"`). A new kind or reason touches the rules YAML and this module;
tests/core/test_vocabulary.py fails while a reason has no text or severity, or a kind no colour.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    criminal_warrant = "criminal_warrant"
    immigration_warrant = "immigration_warrant"
    crime = "crime"
    emergency = "emergency"
    door_knock = "door_knock"


# DESIGN.md: "B = counted kinds among {criminal_warrant, crime, emergency}"
BASIS_KINDS = (Kind.criminal_warrant, Kind.crime, Kind.emergency)


class Qualifier(StrEnum):
    negated = "negated"
    hypothetical = "hypothetical"
    historical = "historical"
    refused = "refused"


class Verdict(StrEnum):
    consistent = "consistent"
    mismatch = "mismatch"
    needs_review = "needs_review"


class Decision(StrEnum):
    dispatched = "dispatched"
    declined = "declined"


class Disposition(StrEnum):
    confirmed = "confirmed"
    dismissed = "dismissed"
    escalated = "escalated"


class CallStatus(StrEnum):
    archived = "archived"
    transcribed = "transcribed"
    assessed = "assessed"
    purged = "purged"


class Reason(StrEnum):
    missing_log = "missing_log"
    transcript_unusable = "transcript_unusable"
    basis_not_logged = "basis_not_logged"
    dispatch_without_basis = "dispatch_without_basis"
    basis_not_in_transcript = "basis_not_in_transcript"
    door_knock_request_dispatched = "door_knock_request_dispatched"
    declined_despite_emergency = "declined_despite_emergency"
    uncertain_evidence = "uncertain_evidence"
    uncertain_transcript = "uncertain_transcript"
    random_audit = "random_audit"  # never a verdict's: a consistent call drawn for audit (callreview.core.sampling)


# Reasons an item is queued for that no verdict gives (the policy never returns them).
QUEUE_ONLY_REASONS = frozenset({Reason.random_audit})


@dataclass(frozen=True)
class ReasonInfo:
    text: str  # what the reason means, in the words reviewers read on the call page and in reports
    severity: str  # high | medium | low: the queue sorts by an item's worst reason


SEVERITIES = ("high", "medium", "low")
REASON_INFO: dict[Reason, ReasonInfo] = {
    Reason.missing_log: ReasonInfo("No decision was logged for this call.", "medium"),
    Reason.transcript_unusable: ReasonInfo(
        "The transcript cannot be understood (no English speech, only noise, or no request that can be made out).",
        "medium"),
    Reason.basis_not_logged: ReasonInfo("Officers were dispatched but no basis was logged.", "low"),
    Reason.dispatch_without_basis: ReasonInfo(
        "Officers were dispatched, but the call shows no criminal warrant, crime or emergency.", "high"),
    Reason.basis_not_in_transcript: ReasonInfo("A logged basis for the dispatch does not appear in the call.",
                                               "medium"),
    Reason.door_knock_request_dispatched: ReasonInfo(
        "ICE asked for a door knock (or similar) and officers were dispatched.", "high"),
    Reason.declined_despite_emergency: ReasonInfo(
        "The request was declined although the call describes an emergency.", "high"),
    # A possible mismatch the tagger or the recognizer could not rule out: high, because a missed mismatch
    # is the costliest error this product can make.
    Reason.uncertain_evidence: ReasonInfo(
        "The call looks consistent, but only because of words the tagger reads weakly; read a different way they "
        "would make it a mismatch. A person should judge them.", "high"),
    Reason.uncertain_transcript: ReasonInfo(
        "The call looks consistent, but speech recognition was unsure of a word the verdict rests on; heard "
        "differently it could be a mismatch. Listen to the marked words.", "high"),
    # Low: the sample checks the machine, and must not push real findings down the queue.
    Reason.random_audit: ReasonInfo(
        "Drawn at random for audit: the machine found this call consistent. Confirm if it is in fact a mismatch, "
        "dismiss if it is consistent.", "low"),
}
