#!/usr/bin/env python3
"""Accuracy of transcription and of the whole pipeline on audio, beside the text-only figures, in one run.

Renders eval cases (default ../shared/eval/dev) to stereo 8 kHz calls with ../shared/tools/make_inbox.py
(espeak-ng voices; officer left, everyone else right), transcribes each with every engine and model asked
for, and prints:
- WER: words of the case transcript against the unflagged segments Whisper produced, both in time order,
  lower-cased, punctuation removed;
- end to end: call-level tag F1, verdict accuracy and mismatch recall when tagging and the policy check run
  on the audio transcript, next to the same figures on the case's own text (the gap is what to shrink).

usage: python bench/asr.py [--cases DIR] [--limit N] [--engines ...] [--models auto /path/to/base-ct2 ...]
  A model is 'auto' (the offline tiny.en pack) or a CTranslate2 folder (converted once for openai-whisper).
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared"

_WORD = re.compile(r"[a-z0-9']+")


def words(text: str) -> list[str]:
    """Lower-case words without punctuation; hyphens split ("I-200" -> "i", "200") on both sides alike."""
    return _WORD.findall(text.lower().replace("-", " "))


def word_errors(reference: list[str], hypothesis: list[str]) -> int:
    """Levenshtein distance over words (substitutions + deletions + insertions)."""
    prev = list(range(len(hypothesis) + 1))
    for i, r in enumerate(reference, 1):
        cur = [i] + [0] * len(hypothesis)
        for j, h in enumerate(hypothesis, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=Path, default=SHARED / "eval" / "dev")
    ap.add_argument("--limit", type=int, default=0, help="first N cases only (0 = all)")
    ap.add_argument("--engines", nargs="+", default=["openai-whisper", "faster-whisper"])
    ap.add_argument("--models", nargs="+", default=["auto"])
    ap.add_argument("--beam", type=int, default=1)
    a = ap.parse_args()

    from review.assessment import assess_call
    from review.cases import load_case_json, read_case, read_expected
    from review.evaluation import ScoredCase, score_cases
    from review.rules import load_rules
    from transcribe.audio import load_audio
    from transcribe.engine import get_engine
    from transcribe.settings import WhisperSettings

    rules = load_rules()
    cases = sorted(a.cases.glob("*.json"))[: a.limit or None]
    rows = []
    with tempfile.TemporaryDirectory() as td:
        inbox = Path(td)
        for case in cases:
            subprocess.run([sys.executable, str(SHARED / "tools" / "make_inbox.py"), str(case), str(inbox)],
                           check=True, capture_output=True)
        parsed = {c: read_case(c) for c in cases}
        text_scored = [ScoredCase(str(load_case_json(c).get("call_id") or c.stem), str(c),
                                  assess_call(*parsed[c], rules), read_expected(c)) for c in cases]
        text = score_cases(text_scored, rules.version)
        for model in a.models:
            for engine in a.engines:
                settings = WhisperSettings(engine=engine, model=model, beam_size=a.beam)
                eng = get_engine(settings)
                errors = ref_words = 0
                audio_seconds = spent = 0.0
                scored = []
                for c in cases:
                    data = load_case_json(c)
                    call_id = data.get("call_id") or c.stem
                    audio = load_audio(inbox / f"{call_id}.wav")
                    t0 = time.perf_counter()
                    transcript = eng.transcribe(audio)
                    spent += time.perf_counter() - t0
                    audio_seconds += audio.duration
                    log, case_segments, _ = parsed[c]
                    ref = words(" ".join(s.text for s in sorted(case_segments, key=lambda s: s.start)))
                    hyp = words(" ".join(s.text for s in transcript.segments if not s.flags))
                    errors += word_errors(ref, hyp)
                    ref_words += len(ref)
                    scored.append(ScoredCase(str(call_id), str(c),
                                             assess_call(log, list(transcript.segments), transcript.language, rules),
                                             read_expected(c)))
                audio_scores = score_cases(scored, rules.version)
                rows.append({"model": eng.model, "engine": engine, "wer": errors / max(ref_words, 1),
                             "rtf": spent / max(audio_seconds, 1e-9), "audio": audio_scores})
                print(f"  {eng.model} {engine}: done", file=sys.stderr, flush=True)
    print(f"{len(cases)} cases from {a.cases}, beam {a.beam}, rules {rules.version}")
    print(f"{'model':34} {'engine':15} {'WER':>6} {'RTF':>6} {'tagF1':>6} {'verdict':>8} {'mm.rec':>7}")
    print(f"{'(case text, no audio)':34} {'-':15} {'-':>6} {'-':>6} {text['tags']['f1']:6.3f} "
          f"{text['verdict_accuracy']:8.3f} {text['mismatch']['recall']:7.3f}")
    for r in rows:
        s = r["audio"]
        print(f"{r['model']:34} {r['engine']:15} {r['wer']:6.3f} {r['rtf']:6.3f} {s['tags']['f1']:6.3f} "
              f"{s['verdict_accuracy']:8.3f} {s['mismatch']['recall']:7.3f}")
    print(json.dumps({"text": {k: text[k] for k in ("verdict_accuracy", "mismatch")},
                      "audio": [{k: r[k] for k in ("model", "engine", "wer", "rtf")} for r in rows]}))


if __name__ == "__main__":
    main()
