"""DESIGN.md "Verdict" as a table: every reason has a named row."""
import pytest

from callreview.core.decisions import DecisionLog
from callreview.core.mentions import MAY_COUNT, MAY_NOT_COUNT, Doubt
from callreview.core.policy import REASON_TEXT, REASONS, assess
from callreview.core.vocabulary import QUEUE_ONLY_REASONS


def dispatched(*basis):
    return DecisionLog(decision="dispatched", basis=tuple(basis))


DECLINED = DecisionLog(decision="declined")

CASES = [
    # name, log, counted, unusable, verdict, reasons
    ("missing_log", None, ["criminal_warrant"], False, "needs_review", ["missing_log"]),
    ("transcript_unusable", dispatched("crime"), [], True, "needs_review", ["transcript_unusable"]),
    ("missing_log_and_unusable", None, [], True, "needs_review", ["missing_log", "transcript_unusable"]),
    ("basis_not_logged", dispatched(), ["criminal_warrant"], False, "mismatch", ["basis_not_logged"]),
    ("basis_not_logged_and_no_basis", dispatched(), ["immigration_warrant"], False, "mismatch",
     ["basis_not_logged", "dispatch_without_basis"]),
    ("dispatch_without_basis", dispatched("criminal_warrant"), ["immigration_warrant"], False, "mismatch",
     ["dispatch_without_basis"]),
    ("basis_not_in_transcript", dispatched("emergency"), ["crime"], False, "mismatch", ["basis_not_in_transcript"]),
    ("door_knock_request_dispatched", dispatched("criminal_warrant"), ["criminal_warrant", "door_knock"], False,
     "mismatch", ["door_knock_request_dispatched"]),
    ("door_knock_without_basis", dispatched("crime"), ["door_knock", "immigration_warrant"], False, "mismatch",
     ["dispatch_without_basis", "door_knock_request_dispatched"]),
    ("declined_despite_emergency", DECLINED, ["crime", "emergency"], False, "mismatch",
     ["declined_despite_emergency"]),
    ("consistent_dispatch", dispatched("crime", "emergency"), ["crime", "emergency", "immigration_warrant"], False,
     "consistent", []),
    ("declining_is_within_policy", DECLINED, ["door_knock", "immigration_warrant"], False, "consistent", []),
    ("declining_a_crime_is_within_policy", DECLINED, ["crime", "criminal_warrant"], False, "consistent", []),
    ("unusable_ignores_everything_else", dispatched(), ["door_knock"], True, "needs_review",
     ["transcript_unusable"]),
]


@pytest.mark.parametrize("name,log,counted,unusable,verdict,reasons", CASES, ids=[c[0] for c in CASES])
def test_verdict_rules(name, log, counted, unusable, verdict, reasons):
    result = assess(log, counted, unusable)
    assert (result.verdict, list(result.reasons)) == (verdict, reasons)


def doubt(kind, reading, rule="r"):
    return Doubt(kind=kind, reading=reading, segment=2, speaker="ice", start=3.0, end=5.5, char_start=0,
                 char_end=9, text="some words", rule=rule, why="because")


# name, log, counted, doubts, verdict, reasons: a doubt matters only where the other reading is a mismatch
DOUBT_CASES = [
    ("uncertain_evidence_door_knock_may_count", dispatched("criminal_warrant"), ["criminal_warrant"],
     [doubt("door_knock", MAY_COUNT)], "needs_review", ["uncertain_evidence"]),
    ("uncertain_evidence_only_basis_may_not_count", dispatched("criminal_warrant"), ["criminal_warrant"],
     [doubt("criminal_warrant", MAY_NOT_COUNT)], "needs_review", ["uncertain_evidence"]),
    ("uncertain_evidence_declined_emergency_may_count", DECLINED, ["immigration_warrant"],
     [doubt("emergency", MAY_COUNT)], "needs_review", ["uncertain_evidence"]),
    ("a_door_knock_doubt_does_not_matter_when_declined", DECLINED, ["immigration_warrant"],
     [doubt("door_knock", MAY_COUNT)], "consistent", []),
    ("an_extra_basis_doubt_does_not_matter", dispatched("crime"), ["crime"],
     [doubt("emergency", MAY_COUNT)], "consistent", []),
    ("a_doubt_never_softens_a_mismatch", dispatched("crime"), ["immigration_warrant"],
     [doubt("crime", MAY_COUNT)], "mismatch", ["dispatch_without_basis"]),
    ("a_doubt_never_touches_missing_log", None, [], [doubt("door_knock", MAY_COUNT)], "needs_review", ["missing_log"]),
    ("uncertain_transcript_basis_word_unsure", dispatched("crime"), ["crime"],
     [doubt("crime", MAY_NOT_COUNT, "low_confidence_word")], "needs_review", ["uncertain_transcript"]),
    ("both_uncertain_reasons", DECLINED, [],
     [doubt("emergency", MAY_COUNT, "low_confidence_word"), doubt("emergency", MAY_COUNT)], "needs_review",
     ["uncertain_evidence", "uncertain_transcript"]),
]


@pytest.mark.parametrize("name,log,counted,doubts,verdict,reasons", DOUBT_CASES, ids=[c[0] for c in DOUBT_CASES])
def test_uncertain_evidence_rules(name, log, counted, doubts, verdict, reasons):
    result = assess(log, counted, False, doubts)
    assert (result.verdict, list(result.reasons)) == (verdict, reasons)
    assert list(result.doubts) == (doubts if set(reasons) & {"uncertain_evidence", "uncertain_transcript"} else [])


def test_every_reason_has_a_named_case_and_plain_words():
    covered = {r for case in CASES + DOUBT_CASES for r in case[5]}
    assert covered == set(REASONS) - QUEUE_ONLY_REASONS  # random_audit is a draw's, never a verdict's
    assert set(REASON_TEXT) == set(REASONS)


def test_unusable_transcript_has_no_counted_tags():
    assert assess(DECLINED, ["emergency"], True).counted == ()
