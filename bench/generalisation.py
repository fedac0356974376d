#!/usr/bin/env python3
"""How the tagger and the policy check hold on calls written by other people: leave one writer out.

Each writer's set (tests/data/<writer>/, labelled by someone other than its writer, disagreements settled
against DESIGN.md) is scored three ways, side by side in one run:
- `baseline`: the rules file at a git revision before the generalisation work (--baseline-rev);
- `shipped`: the rules file as it is now (callreview/core/rules/default.yaml, or --rules);
- `left out`: the same file without every rule, trigger, exclusion and doubt whose `written_for` names this
  writer, i.e. the rules as they would be had this writer's calls never been read. This is the figure
  that measures generalisation; `shipped` on a set its rules were written for measures fit.

Printed per set: tag F1 (counted kinds per call), verdict accuracy, mismatch recall and precision, queue
recall (a true mismatch that ends as mismatch or needs_review), the share of truly consistent calls sent
to review, and exact reasons; then the pooled figures over all writers, left out.

usage: python bench/generalisation.py [--sets radio esl ...] [--rules FILE] [--baseline-rev REV] [--json]
  (the default sets are every writer's but `ramble`, which is scored only when named: --sets ... ramble)
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT / "tests" / "data"
WRITERS = ("radio", "esl", "asr", "shift", "formal", "relay", "oldhands", "novices", "crosstalk", "pretext", "crowded",
           "phoneline", "pushback", "bilingual", "verbatim", "danger", "hedged", "nightshift", "ramble", "paperwork",
           "folksy")
# The sections whose items may carry `written_for` (top level, or one level down).
_SECTIONS = (("mentions",), ("exclusions",), ("doubts",), ("qualifiers", "triggers"), ("qualifiers", "pseudo"),
             ("warrant_resolution", "inactive_also"), ("nearness", "missed", "not_if"))
# Sections that are one mechanism and may carry `written_for` themselves.
_WHOLE_SECTIONS = ("restated", "present_denied")


def rules_without(data: dict, writer: str) -> dict:
    """The rules data less every item whose `written_for` names `writer` (a deep-enough copy)."""
    out = json.loads(json.dumps(data))
    for path in _SECTIONS:
        holder = out
        for key in path[:-1]:
            holder = holder.get(key) or {}
        items = holder.get(path[-1])
        if isinstance(items, list):
            holder[path[-1]] = [i for i in items if not isinstance(i, dict) or writer not in (i.get("written_for") or [])]
    for key in _WHOLE_SECTIONS:  # a section written for the writer goes as a whole
        if isinstance(out.get(key), dict) and writer in (out[key].get("written_for") or []):
            del out[key]
    if isinstance(out.get("nearness"), dict):  # and the writer's own labelled sentences
        out["nearness"]["without_sets"] = [*(out["nearness"].get("without_sets") or []), writer]
    return out


def figures(report: dict) -> dict:
    return {"cases": report["cases"], "tag_f1": report["tags"]["f1"], "verdict_accuracy": report["verdict_accuracy"],
            "mismatch_recall": report["mismatch"]["recall"], "mismatch_precision": report["mismatch"]["precision"],
            "queue_recall": report["queue"]["recall"],
            "consistent_to_review": report["queue"]["consistent_sent_to_review"],
            "reasons_exact": report["reasons_exact"],
            "missed": [w["call_id"] for w in report["wrong"]
                       if w["expected"]["verdict"] == "mismatch" and w["got"]["verdict"] == "consistent"]}


# Where the packaged rules file lies, newest layout first (it moved when callreview became one package).
RULES_PATHS = ("callreview/core/rules/default.yaml", "review/rules/default.yaml")


def baseline_rules(rev: str) -> str:
    """The packaged rules file's text at git revision `rev`, wherever that revision keeps it."""
    for path in RULES_PATHS:
        shown = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:{path}"], capture_output=True, text=True)
        if shown.returncode == 0:
            return shown.stdout
    raise SystemExit(f"{rev}: no rules file at {' or '.join(RULES_PATHS)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # ramble is kept aside for the last check of issue 16: scored only when asked for by name
    ap.add_argument("--sets", nargs="+", default=[w for w in WRITERS if w != "ramble" and (DATA / w).is_dir()])
    ap.add_argument("--rules", type=Path, default=ROOT / "callreview" / "core" / "rules" / "default.yaml")
    # the rules before this work, at their old place (review/rules/ until the package moved)
    ap.add_argument("--baseline-rev", default="e882a4e", help="git revision of the rules before this work")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    a = ap.parse_args()

    from callreview.core.evaluation import evaluate_cases
    from callreview.core.rules import compile_rules

    data = yaml.safe_load(a.rules.read_text(encoding="utf-8"))
    baseline_text = baseline_rules(a.baseline_rev)
    variants = {"baseline": lambda w: compile_rules(yaml.safe_load(baseline_text), f"{a.baseline_rev}:default.yaml"),
                "shipped": lambda w: compile_rules(data, str(a.rules)),
                "left out": lambda w: compile_rules(rules_without(data, w), f"{a.rules} without {w}")}
    results: dict[str, dict[str, dict]] = {}
    pooled: dict[str, list] = {name: [] for name in variants}
    for writer in a.sets:
        paths = sorted((DATA / writer).glob("*.json"))
        if not paths:
            raise SystemExit(f"{DATA / writer}: no case files")
        results[writer] = {}
        for name, rules_for in variants.items():
            report = evaluate_cases(paths, rules_for(writer))
            results[writer][name] = figures(report)
            pooled[name].append(report)
    totals = {name: _pool(reports) for name, reports in pooled.items()}
    if a.json:
        print(json.dumps({"sets": results, "pooled": totals}, indent=1))
        return
    head = f"{'set':<8} {'rules':<9} {'n':>3} {'tagF1':>6} {'verdict':>7} {'mmR':>6} {'mmP':>6} {'queueR':>6} {'cons>rev':>8} {'reasons':>7}  missed (mismatch called consistent)"
    print(head)
    print("-" * len(head))
    for writer, by_variant in [*results.items(), ("ALL", totals)]:
        for name, f in by_variant.items():
            print(f"{writer:<8} {name:<9} {f['cases']:>3} {f['tag_f1']:>6.3f} {f['verdict_accuracy']:>7.3f} "
                  f"{f['mismatch_recall']:>6.3f} {f['mismatch_precision']:>6.3f} {f['queue_recall']:>6.3f} "
                  f"{f['consistent_to_review']:>8.3f} {f['reasons_exact']:>7.3f}  {' '.join(f['missed'])}")
        print()


def _pool(reports: list[dict]) -> dict:
    """Figures over several sets' cases together (sums of counts, not means of ratios)."""
    n = sum(r["cases"] for r in reports)
    tp = sum(r["tags"]["tp"] for r in reports)
    fp = sum(r["tags"]["fp"] for r in reports)
    fn = sum(r["tags"]["fn"] for r in reports)
    p, rc = (tp / (tp + fp) if tp + fp else 1.0), (tp / (tp + fn) if tp + fn else 1.0)
    mm_tp = sum(r["mismatch"]["tp"] for r in reports)
    mm_exp = sum(r["mismatch"]["expected"] for r in reports)
    mm_pred = sum(r["mismatch"]["predicted"] for r in reports)
    queued = sum(r["queue"]["queued"] for r in reports)
    consistent = sum(r["queue"]["consistent"] for r in reports)
    sent = sum(r["queue"]["sent"] for r in reports)
    return {"cases": n, "tag_f1": 2 * p * rc / (p + rc) if p + rc else 0.0,
            "verdict_accuracy": sum(r["verdict_accuracy"] * r["cases"] for r in reports) / n,
            "mismatch_recall": mm_tp / mm_exp if mm_exp else 1.0,
            "mismatch_precision": mm_tp / mm_pred if mm_pred else 1.0,
            "queue_recall": queued / mm_exp if mm_exp else 1.0,
            "consistent_to_review": sent / consistent if consistent else 0.0,
            "reasons_exact": sum(r["reasons_exact"] * r["cases"] for r in reports) / n,
            "missed": [w["call_id"] for r in reports for w in r["wrong"]
                       if w["expected"]["verdict"] == "mismatch" and w["got"]["verdict"] == "consistent"]}


if __name__ == "__main__":
    main()
