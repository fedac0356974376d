#!/usr/bin/env python3
"""Write the rules' nearness examples (callreview/core/rules/nearness.jsonl) from the labelled sets.

Each sentence of each call in tests/data/<set>/ that holds an expected mention becomes one line: its text,
its set, its call and the kinds its mentions hold there, each with whether it counted (no qualifier).
Sentences with no mention are left out: with all 5,553 sentences the leave-one-writer-out figures were the
same, and the first run encoded 4.6 times as many. The `ramble` writer's set is never read (kept aside for
the last check of issue 16).

usage: python bench/nearness_examples.py [--out FILE]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SETS = ("cases", "heldout", "blind2", "radio", "esl", "asr", "shift", "formal")


def sentence_rows(path: Path, set_name: str) -> list[dict]:
    from callreview.core.cases import load_case_json, read_expected
    from callreview.core.nearness import sentence_spans

    case, expected = load_case_json(path), read_expected(path)
    rows = []
    for index, seg in enumerate(case["transcript"]["segments"]):
        text = seg.get("text") or ""
        for start, end in sentence_spans(text):
            labels = set()
            for m in expected.get("mentions") or []:
                if m["segment"] != index:
                    continue
                at = text.lower().find(m["quote"].lower())
                # a quote not found verbatim is kept on every sentence of its segment rather than lost
                if at < 0 or (at < end and start < at + len(m["quote"])):
                    labels.add((m["kind"], m["qualifier"] is None))
            if labels:
                rows.append({"text": text[start:end], "set": set_name, "call_id": case.get("call_id") or path.stem,
                             "labels": sorted([k, c] for k, c in labels)})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "callreview" / "core" / "rules" / "nearness.jsonl")
    a = ap.parse_args()
    rows = [r for s in SETS for p in sorted((ROOT / "tests" / "data" / s).glob("*.json")) for r in sentence_rows(p, s)]
    a.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"{a.out}: {len(rows)} sentences with a mention, from {', '.join(SETS)}", file=sys.stderr)


if __name__ == "__main__":
    main()
