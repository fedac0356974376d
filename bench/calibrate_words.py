#!/usr/bin/env python3
"""How far Whisper's word probabilities can be trusted: a calibration table from transcripts kept by bench/asr.py.

For each kept transcript (`bench/asr.py --keep DIR`, read from DIR/<condition>/) and its case file, each
channel's words are aligned to that party's reference words (the officer's on channel 0, everyone else's on
channel 1) by Levenshtein alignment over normalised words, exactly as bench/asr.py counts WER: a
transcribed word is correct when the alignment pairs it with the same reference word, wrong when it is a
substitution or an insertion. Only unflagged segments count (flagged ones are neither tagged nor scored);
a Whisper word that normalises to several (e.g. "I-200") gives each its probability.

"Deciding words" are the words inside the span of a mention the tagger finds in the kept transcript
(review.tagging.tag_transcript on the kept segments; a word is inside when its characters overlap the
mention's, placed in the segment's text as review.doubts places them for `min_word_probability`): the words
a verdict hinges on.

Printed, per probability bin (0-0.1, ..., 0.9-1.0): words and the share correct, for all words and for
deciding words; then, per bin edge, the deciding words under it and the share of them that is wrong, with
the correct deciding words a threshold there would send to a person. The suggested threshold is the highest
edge under which deciding words are wrong more than half the time (0 when there is none: leave the check off).

usage: python bench/calibrate_words.py --kept DIR/phone20 [--cases DIR] [--model auto] [--engine faster-whisper] [--json]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.asr import SHARED, _call_id, kept_name, read_kept, words  # noqa: E402

BINS = 10


def align(reference: list[str], hypothesis: list[str]) -> list[bool]:
    """For each hypothesis word, whether a minimum-edit alignment to `reference` pairs it with an equal word.

    The same Levenshtein distance as bench/asr.py's WER (substitution, deletion, insertion cost 1), with a
    backtrace; among equally short alignments a match is preferred, so a correct word is not called wrong
    because of a tie.
    """
    n, m = len(reference), len(hypothesis)
    d = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        d[i][0] = i
    for j in range(m + 1):
        d[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (reference[i - 1] != hypothesis[j - 1]))
    correct = [False] * m
    i, j = n, m
    while i > 0 and j > 0:
        same = reference[i - 1] == hypothesis[j - 1]
        if d[i][j] == d[i - 1][j - 1] + (not same):
            correct[j - 1] = same
            i, j = i - 1, j - 1
        elif d[i][j] == d[i][j - 1] + 1:
            j -= 1  # an insertion: stays wrong
        else:
            i -= 1  # a deletion: no hypothesis word
    return correct


def call_words(transcript, case_segments, rules) -> list[dict]:
    """Every scored word of one call: probability, whether it is correct, whether it decides."""
    from callreview.core.tagging import tag_transcript
    from callreview.transcribe.segments import placed_words  # the product's own placement of words in text

    segments = list(transcript.segments)
    deciding: set[int] = set()
    for m in tag_transcript(segments, rules):
        for start, end, word in placed_words(segments[m.segment]):
            if start < m.char_end and m.char_start < end:
                deciding.add(id(word))
    found = []
    for channel, is_officer in ((0, True), (1, False)):
        ref = words(" ".join(s.text for s in sorted(case_segments, key=lambda s: s.start)
                             if (s.speaker == "officer") == is_officer))
        hyp = [(token, w) for s in segments if s.channel == channel and not s.flags
               for w in s.words for token in words(w.text)]
        for (token, w), ok in zip(hyp, align(ref, [t for t, _ in hyp])):
            found.append({"channel": channel, "word": token, "probability": w.probability, "correct": ok,
                          "deciding": id(w) in deciding})
    return found


def calibration(scored: list[dict]) -> dict:
    """The bins, the edges and the suggested threshold (see the module's docstring)."""
    scored = [w for w in scored if w["probability"] is not None]
    bins = []
    for b in range(BINS):
        lo, hi = b / BINS, (b + 1) / BINS
        inside = [w for w in scored if lo <= w["probability"] < hi or (b == BINS - 1 and w["probability"] == 1.0)]
        dec = [w for w in inside if w["deciding"]]
        bins.append({"from": lo, "to": hi, "words": len(inside), "correct": _share(inside),
                     "deciding_words": len(dec), "deciding_correct": _share(dec)})
    edges = []
    deciding = [w for w in scored if w["deciding"]]
    for b in range(1, BINS + 1):
        edge = b / BINS
        under = [w for w in deciding if w["probability"] < edge]
        wrong = sum(not w["correct"] for w in under)
        edges.append({"edge": edge, "deciding_under": len(under),
                      "deciding_wrong_share": wrong / len(under) if under else None,
                      "correct_deciding_flagged": len(under) - wrong,
                      "wrong_deciding_caught": wrong,
                      "wrong_deciding_total": sum(not w["correct"] for w in deciding)})
    over_half = [e["edge"] for e in edges if e["deciding_wrong_share"] is not None and e["deciding_wrong_share"] > 0.5]
    return {"words": len(scored), "correct": _share(scored), "deciding_words": len(deciding),
            "deciding_correct": _share(deciding), "bins": bins, "edges": edges,
            "suggested_min_word_probability": max(over_half, default=0.0)}


def _share(found: list[dict]) -> float | None:
    return sum(w["correct"] for w in found) / len(found) if found else None


def _fmt(x: float | None, width: int) -> str:
    return f"{x:{width}.3f}" if x is not None else f"{'-':>{width}}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kept", type=Path, required=True, help="one condition's folder written by bench/asr.py --keep")
    ap.add_argument("--cases", type=Path, default=SHARED / "eval" / "dev")
    ap.add_argument("--model", default="auto", help="as given to bench/asr.py --models")
    ap.add_argument("--engine", default="faster-whisper")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the tables")
    a = ap.parse_args()

    from callreview.core.cases import read_case
    from callreview.core.rules import load_rules

    rules = load_rules()
    scored, calls, missing = [], 0, []
    for case in sorted(a.cases.glob("*.json")):
        kept = a.kept / kept_name(_call_id(case), a.model, a.engine)
        if not kept.is_file():
            missing.append(_call_id(case))
            continue
        transcript, _, _ = read_kept(kept)
        scored.extend(call_words(transcript, read_case(case)[1], rules))
        calls += 1
    if not calls:
        sys.exit(f"{a.kept}: no kept transcript for any case in {a.cases} "
                 f"(looked for {kept_name('<call_id>', a.model, a.engine)})")
    result = {"kept": str(a.kept), "cases": str(a.cases), "calls": calls, "rules_version": rules.version,
              **calibration(scored)}
    if a.json:
        print(json.dumps(result, indent=1))
        return
    print(f"{calls} calls kept in {a.kept} (cases {a.cases}, rules {rules.version}); "
          f"{result['words']} words, {result['correct']:.3f} correct; {result['deciding_words']} deciding words, "
          f"{_fmt(result['deciding_correct'], 0).strip()} correct")
    if missing:
        print(f"no kept transcript for {len(missing)} cases: {', '.join(missing[:10])}{' ...' if len(missing) > 10 else ''}")
    print(f"\n{'probability':>11} {'words':>6} {'correct':>7} {'deciding':>8} {'correct':>7}")
    for b in result["bins"]:
        print(f"{b['from']:4.1f}-{b['to']:3.1f}    {b['words']:6d} {_fmt(b['correct'], 7)} "
              f"{b['deciding_words']:8d} {_fmt(b['deciding_correct'], 7)}")
    print(f"\n{'under':>5} {'deciding':>8} {'wrong':>6} {'wrong caught':>12} {'right flagged':>13}")
    for e in result["edges"]:
        print(f"{e['edge']:5.1f} {e['deciding_under']:8d} {_fmt(e['deciding_wrong_share'], 6)} "
              f"{e['wrong_deciding_caught']:5d} of {e['wrong_deciding_total']:<5d} {e['correct_deciding_flagged']:13d}")
    t = result["suggested_min_word_probability"]
    print(f"\nsuggested min_word_probability: {t:.1f} "
          + ("(no edge under which deciding words are wrong more than half the time: leave it off)" if t == 0 else
             "(the highest edge under which deciding words are wrong more than half the time)"))


if __name__ == "__main__":
    main()
