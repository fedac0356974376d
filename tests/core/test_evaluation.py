"""Measured accuracy: the bar of issue 3 on the dev set, on ASR-like text, and on this repo's own cases.

Also the eval contract: the prediction never reads `expected`, and the JSON shapes are as documented.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from callreview.core.assessment import assess_call, assess_case_file, assessment_to_json
from callreview.core.cases import read_case, read_expected
from callreview.core.errors import InvalidCase
from callreview.core.evaluation import ScoredCase, evaluate_cases, score_cases
from callreview.core.rules import load_rules

from degrade import degrade_segments

RULES = load_rules()
HERE = Path(__file__).resolve()
DEV = HERE.parents[3] / "shared" / "eval" / "dev"
OWN = HERE.parents[1] / "data" / "cases"
needs_dev = pytest.mark.skipif(not DEV.is_dir(), reason="shared/eval/dev not present")


def _assert_bar(result: dict) -> None:
    assert result["tags"]["f1"] >= 0.97, result["wrong"]
    assert result["verdict_accuracy"] >= 0.95, result["wrong"]
    assert result["mismatch"]["recall"] == 1.0, result["wrong"]


def _degraded(paths, apostrophes: bool) -> dict:
    scored = []
    for path in paths:
        log, segments, language = read_case(path)
        assessment = assess_call(log, degrade_segments(segments, apostrophes=apostrophes), language, RULES)
        scored.append(ScoredCase(path.stem, str(path), assessment, read_expected(path)))
    return score_cases(scored, RULES.version)


@pytest.fixture(scope="module")
def dev_scored() -> dict:
    """The dev set evaluated once for this module (each evaluation encodes every sentence for nearness)."""
    return evaluate_cases(sorted(DEV.glob("*.json")), RULES)


@needs_dev
def test_dev_set_meets_the_bar(dev_scored):
    _assert_bar(dev_scored)


@needs_dev
@pytest.mark.parametrize("apostrophes", [True, False])
def test_dev_set_as_asr_text_barely_moves(apostrophes, dev_scored):
    paths = sorted(DEV.glob("*.json"))
    clean = dev_scored
    degraded = _degraded(paths, apostrophes)
    _assert_bar(degraded)
    assert clean["tags"]["f1"] - degraded["tags"]["f1"] <= 0.02


def test_own_cases_meet_the_bar():
    paths = sorted(OWN.glob("*.json"))
    assert len(paths) >= 20
    _assert_bar(evaluate_cases(paths, RULES))
    _assert_bar(_degraded(paths, apostrophes=False))


def test_own_cases_cover_every_reason_and_qualifier():
    reasons, qualifiers = set(), set()
    for path in OWN.glob("*.json"):
        expected = read_expected(path)
        reasons.update(expected["reasons"])
        qualifiers.update(m["qualifier"] for m in expected["mentions"])
    assert reasons == {"missing_log", "transcript_unusable", "basis_not_logged", "dispatch_without_basis",
                       "basis_not_in_transcript", "door_knock_request_dispatched", "declined_despite_emergency"}
    assert {"negated", "hypothetical", "historical", "refused"} <= qualifiers


def test_prediction_never_reads_expected(tmp_path):
    source = OWN / "TC-13.json"
    data = json.loads(source.read_text(encoding="utf-8"))
    data["expected"] = {"mentions": [], "tags": ["emergency"], "verdict": "consistent", "reasons": [], "unusable": True}
    tampered = tmp_path / "TC-13.json"
    tampered.write_text(json.dumps(data), encoding="utf-8")
    assert assessment_to_json(assess_case_file(tampered, RULES)) == assessment_to_json(assess_case_file(source, RULES))


def test_wrong_cases_are_listed_with_expected_and_got(tmp_path):
    data = json.loads((OWN / "TC-13.json").read_text(encoding="utf-8"))
    data["expected"].update(tags=["criminal_warrant"], verdict="consistent", reasons=[])
    path = tmp_path / "x.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    result = evaluate_cases([path], RULES)
    assert result["verdict_accuracy"] == 0.0
    assert result["mismatch"]["precision"] == 0.0
    [wrong] = result["wrong"]
    assert wrong["got"]["verdict"] == "mismatch" and wrong["extra_tags"] == ["door_knock"]
    assert set(result["tags"]["per_kind"]) == {"criminal_warrant", "immigration_warrant", "crime", "emergency", "door_knock"}


def test_assessment_json_shape():
    out = assessment_to_json(assess_case_file(OWN / "TC-02.json", RULES))
    assert {"tags", "counted", "verdict", "reasons", "rules_version"} <= set(out)
    assert out["verdict"] == "mismatch"
    assert out["reasons"] == ["basis_not_logged", "dispatch_without_basis", "door_knock_request_dispatched"]
    for tag in out["tags"]:
        assert {"kind", "qualifier", "segment", "speaker", "start", "end", "text", "rule"} <= set(tag)


def test_unusable_transcript_has_no_tags():
    a = assess_case_file(OWN / "TC-17.json", RULES)
    assert a.unusable and a.mentions == [] and a.verdict.reasons == ("transcript_unusable",)


@pytest.mark.parametrize("content, message", [
    ("not json", "invalid JSON"),
    ('{"log": null}', 'missing "transcript"'),
    ('{"log": null, "transcript": {"segments": [{"start": 0, "end": 1, "speaker": "boss", "text": "x"}]}}', "speaker"),
    ('{"log": {"decision": "sent"}, "transcript": {"segments": []}}', "decision"),
])
def test_bad_case_files_are_refused_with_the_file_named(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InvalidCase, match=message) as err:
        read_case(path)
    assert str(path) in str(err.value)


def _scored(call_id: str, expected_verdict: str, expected_reasons: list[str], got_verdict: str,
            got_reasons: tuple[str, ...]) -> ScoredCase:
    from callreview.core.assessment import CallAssessment
    from callreview.core.policy import Verdict

    got = CallAssessment(mentions=[], counted=(), unusable=False, verdict=Verdict(got_verdict, got_reasons, ()),
                         rules_version="t")
    return ScoredCase(call_id, call_id, got, {"tags": [], "verdict": expected_verdict, "reasons": expected_reasons})


def test_queue_recall_counts_a_mismatch_sent_to_review_and_the_cost_in_consistent_calls():
    result = score_cases([
        _scored("m1", "mismatch", ["dispatch_without_basis"], "mismatch", ("dispatch_without_basis",)),
        _scored("m2", "mismatch", ["door_knock_request_dispatched"], "needs_review", ("uncertain_evidence",)),
        _scored("m3", "mismatch", ["declined_despite_emergency"], "consistent", ()),
        _scored("c1", "consistent", [], "consistent", ()),
        _scored("c2", "consistent", [], "needs_review", ("uncertain_evidence",)),
        _scored("c3", "consistent", [], "consistent", ()),
        _scored("c4", "consistent", [], "mismatch", ("dispatch_without_basis",)),
    ])
    assert result["queue"]["recall"] == pytest.approx(2 / 3)
    assert result["queue"]["consistent_sent_to_review"] == pytest.approx(2 / 4)
    assert result["mismatch"]["recall"] == pytest.approx(1 / 3)
    assert result["reasons_exact"] == pytest.approx(3 / 7)
