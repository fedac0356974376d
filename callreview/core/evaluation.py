"""Scoring the tagger and the policy check against labelled case files (`callreview eval DIR`).

Each case is assessed through `callreview.core.assessment` exactly as in production, without its `expected`
block; only then is the result compared with `expected`. Figures:
- call-level tags (the headline): per call, the counted kinds (qualifier null) against `expected.tags`;
  precision/recall/F1 micro-averaged over calls, overall and per kind;
- mention-level tags (secondary): mentions matched by (kind, segment, qualifier), each used once;
- verdict accuracy; mismatch recall and precision (a case is positive when its expected verdict is
  `mismatch`); exact reasons (the reasons equal, as a set, to the expected ones);
- queue recall (a true mismatch that ends as mismatch or needs_review, so a person sees it) and the share
  of truly consistent calls sent to review (the cost of saying "not sure");
- and the list of wrong cases with expected vs. got.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from callreview.core.assessment import CallAssessment, assess_case_file
from callreview.core.cases import load_case_json, read_expected
from callreview.core.mentions import KINDS
from callreview.core.rules import Rules


@dataclass(frozen=True)
class ScoredCase:
    """One case's prediction next to what was expected."""

    call_id: str
    source: str
    assessment: CallAssessment
    expected: dict


def evaluate_cases(paths: list[Path], rules: Rules) -> dict:
    """Assess every case file and score the results.

    Args:
        paths: case files in the shared/eval format.
        rules: compiled rules.

    Returns:
        A JSON-ready dict: `cases`, `rules_version`, `tags` (call level: overall and `per_kind`, each with
        tp/fp/fn/precision/recall/f1), `mentions` (same, mention level), `verdict_accuracy`, `mismatch`
        (recall, precision, counts) and `wrong` (cases whose tags, verdict or reasons differ).
    """
    scored = []
    for path in sorted(Path(p) for p in paths):
        assessment = assess_case_file(path, rules)
        call_id = load_case_json(path).get("call_id") or path.stem
        scored.append(ScoredCase(str(call_id), str(path), assessment, read_expected(path)))
    return score_cases(scored, rules.version)


def score_cases(scored: Iterable[ScoredCase], rules_version: str = "") -> dict:
    """Score already-assessed cases (see `evaluate_cases`)."""
    scored = list(scored)
    tag_counts = {k: Counter() for k in KINDS}
    mention_counts = {k: Counter() for k in KINDS}
    verdict_right = 0
    mismatch = Counter()
    queue = Counter()
    reasons_right = 0
    wrong = []
    for case in scored:
        exp, got = case.expected, case.assessment
        expected_tags = set(exp.get("tags") or [])
        got_tags = set(got.counted)
        for kind in KINDS:
            c = tag_counts[kind]
            c["tp"] += kind in expected_tags and kind in got_tags
            c["fp"] += kind not in expected_tags and kind in got_tags
            c["fn"] += kind in expected_tags and kind not in got_tags
        _count_mentions(exp.get("mentions") or [], got.mentions, mention_counts)
        exp_verdict, got_verdict = exp.get("verdict"), got.verdict.verdict
        exp_reasons, got_reasons = sorted(exp.get("reasons") or []), sorted(got.verdict.reasons)
        verdict_right += exp_verdict == got_verdict
        reasons_right += exp_reasons == got_reasons
        queue["mismatches"] += exp_verdict == "mismatch"
        queue["queued"] += exp_verdict == "mismatch" and got_verdict != "consistent"
        queue["consistent"] += exp_verdict == "consistent"
        queue["sent"] += exp_verdict == "consistent" and got_verdict != "consistent"
        positive, predicted = exp_verdict == "mismatch", got_verdict == "mismatch"
        mismatch["tp"] += positive and predicted
        mismatch["fp"] += predicted and not positive
        mismatch["fn"] += positive and not predicted
        if expected_tags != got_tags or exp_verdict != got_verdict or exp_reasons != got_reasons:
            wrong.append({
                "call_id": case.call_id, "source": case.source,
                "expected": {"tags": sorted(expected_tags), "verdict": exp_verdict, "reasons": exp_reasons},
                "got": {"tags": sorted(got_tags), "verdict": got_verdict, "reasons": got_reasons},
                "missing_tags": sorted(expected_tags - got_tags), "extra_tags": sorted(got_tags - expected_tags),
            })
    n = len(scored)
    return {
        "cases": n,
        "rules_version": rules_version,
        "tags": _summarise(tag_counts),
        "mentions": _summarise(mention_counts),
        "verdict_accuracy": verdict_right / n if n else 0.0,
        "mismatch": {"recall": _ratio(mismatch["tp"], mismatch["tp"] + mismatch["fn"]),
                     "precision": _ratio(mismatch["tp"], mismatch["tp"] + mismatch["fp"]),
                     "expected": mismatch["tp"] + mismatch["fn"], "predicted": mismatch["tp"] + mismatch["fp"],
                     "tp": mismatch["tp"]},
        "reasons_exact": reasons_right / n if n else 0.0,
        "queue": {"recall": _ratio(queue["queued"], queue["mismatches"]), "mismatches": queue["mismatches"],
                  "queued": queue["queued"],
                  "consistent_sent_to_review": (queue["sent"] / queue["consistent"]) if queue["consistent"] else 0.0,
                  "consistent": queue["consistent"], "sent": queue["sent"]},
        "wrong": wrong,
    }


def _count_mentions(expected: list[dict], got: list, counts: dict[str, Counter]) -> None:
    remaining = Counter((m.get("kind"), m.get("segment"), m.get("qualifier")) for m in expected)
    for m in got:
        key = (m.kind, m.segment, m.qualifier)
        if remaining[key] > 0:
            remaining[key] -= 1
            counts[m.kind]["tp"] += 1
        else:
            counts[m.kind]["fp"] += 1
    for (kind, _, _), left in remaining.items():
        if kind in counts:
            counts[kind]["fn"] += left


def _summarise(counts: dict[str, Counter]) -> dict:
    total = Counter()
    per_kind = {}
    for kind, c in counts.items():
        total.update(c)
        per_kind[kind] = _prf(c)
    return {**_prf(total), "per_kind": per_kind}


def _prf(c: Counter) -> dict:
    tp, fp, fn = c["tp"], c["fp"], c["fn"]
    p, r = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    return {"tp": tp, "fp": fp, "fn": fn, "precision": p, "recall": r,
            "f1": 2 * p * r / (p + r) if p + r else 0.0}


def _ratio(a: int, b: int) -> float:
    """a / b, and 1.0 for 0 / 0 (nothing to find and nothing found is perfect)."""
    return a / b if b else 1.0
