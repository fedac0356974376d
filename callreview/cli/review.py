"""`callreview assess` and `callreview eval`: tagging and the policy check without a database."""
from __future__ import annotations

from pathlib import Path

import typer

from callreview.cli.output import JsonOption, emit_json, emit_table, fail

RulesOption = typer.Option(None, "--rules", help="Rules file to use (default: CALLREVIEW_RULES or the packaged rules).")


def _rules(path: Path | None):
    from callreview.core.errors import InvalidRules
    from callreview.core.rules import load_rules
    from callreview.core.settings import ReviewSettings

    try:
        return load_rules(path or ReviewSettings().rules)
    except InvalidRules as exc:
        raise fail(str(exc)) from None


def assess(log: Path = typer.Option(None, "--log", help="Decision log sidecar (JSON)."),
           transcript: Path = typer.Option(None, "--transcript", help="Transcript (.transcript.json or .vtt)."),
           case: Path = typer.Option(None, "--case", help="An eval case file (uses its log and transcript only)."),
           rules: Path = RulesOption, json_out: bool = JsonOption) -> None:
    """Tag one call and check it against its logged decision; no database is touched.

    Example: callreview assess --case ../shared/eval/dev/DV-001.json --json
    """
    from callreview.core.assessment import assess_call, assess_case_file, assessment_to_json
    from callreview.core.decisions import read_decision_log
    from callreview.core.errors import ReviewError
    from callreview.transcribe.errors import TranscribeError
    from callreview.transcribe.imports import read_transcript

    if (case is None) == (transcript is None):
        raise fail("give either --case FILE, or --transcript FILE (with --log FILE when a decision was logged)", 2)
    if case is not None and log is not None:
        raise fail("--log goes with --transcript, not with --case", 2)
    loaded_rules = _rules(rules)
    for path in (p for p in (case, log, transcript) if p is not None):
        if not path.is_file():
            raise fail(f"{path}: file does not exist")
    try:
        if case is not None:
            result = assess_case_file(case, loaded_rules)
        else:
            t = read_transcript(transcript)
            result = assess_call(read_decision_log(log) if log else None, list(t.segments), t.language,
                                 loaded_rules)
    except (ReviewError, TranscribeError) as exc:
        raise fail(str(exc)) from None
    out = assessment_to_json(result)
    if json_out:
        emit_json(out)
        return
    emit_table("verdict", ["verdict", "reasons", "counted", "rules version"],
               [[out["verdict"], ", ".join(out["reasons"]), ", ".join(out["counted"]), result.rules_version]])
    emit_table("tags", ["kind", "qualifier", "seg", "speaker", "start", "text", "rule"],
               [[t["kind"], t["qualifier"] or "", t["segment"], t["speaker"], f"{t['start']:.1f}", t["text"],
                 t["rule"]] for t in out["tags"]])


def eval_cases(directory: Path = typer.Argument(..., help="Folder of case files (*.json)."),
               rules: Path = RulesOption, json_out: bool = JsonOption) -> None:
    """Score the tagger and the policy check on every case file in DIRECTORY.

    Example: callreview eval ../shared/eval/dev
    """
    from callreview.core import evaluation
    from callreview.core.errors import ReviewError

    if not directory.is_dir():
        raise fail(f"{directory}: folder does not exist")
    paths = sorted(directory.glob("*.json"))
    if not paths:
        raise fail(f"{directory}: no case files (*.json)")
    try:
        report = evaluation.evaluate_cases(paths, _rules(rules))
    except ReviewError as exc:
        raise fail(str(exc)) from None
    if json_out:
        emit_json(report)
        return
    _print_report(report)


def _print_report(report: dict) -> None:
    def row(name: str, figures: dict) -> list:
        return [name, figures["tp"], figures["fp"], figures["fn"], f"{figures['precision']:.3f}",
                f"{figures['recall']:.3f}", f"{figures['f1']:.3f}"]

    columns = ["kind", "tp", "fp", "fn", "precision", "recall", "F1"]
    tags = report["tags"]
    emit_table("counted tags per call (qualifier null)", columns,
               [row(kind, f) for kind, f in tags["per_kind"].items()] + [row("overall", tags)])
    mentions = report["mentions"]
    emit_table("mentions (kind, segment, qualifier)", columns,
               [row(kind, f) for kind, f in mentions["per_kind"].items()] + [row("overall", mentions)])
    wrong = report.get("wrong", [])
    if wrong:
        emit_table("wrong cases", ["case", "expected", "got"],
                   [[w.get("call_id") or w.get("case"), _brief(w.get("expected")), _brief(w.get("got"))]
                    for w in wrong])
    mismatch = report["mismatch"]
    print(f"cases: {report.get('cases', len(wrong))}  rules: {report['rules_version']}")
    print(f"tag F1: {tags['f1']:.3f}  verdict accuracy: {report['verdict_accuracy']:.3f}  "
          f"mismatch recall: {mismatch['recall']:.3f}  mismatch precision: {mismatch['precision']:.3f}")
    queue = report["queue"]
    print(f"queue recall: {queue['recall']:.3f}  consistent sent to review: "
          f"{queue['consistent_sent_to_review']:.3f}  exact reasons: {report['reasons_exact']:.3f}")


def _brief(value) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k}: {', '.join(v) if isinstance(v, list) else v}" for k, v in value.items())
    return str(value)


def register(app: typer.Typer) -> None:
    app.command("assess")(assess)
    app.command("eval")(eval_cases)
