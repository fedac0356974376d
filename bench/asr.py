#!/usr/bin/env python3
"""Accuracy of transcription and of the whole pipeline on audio, beside the text-only figures, in one run.

Renders eval cases (default ../shared/eval/dev) to stereo 8 kHz calls with ../shared/tools/make_inbox.py
(espeak-ng voices; officer left, everyone else right), transcribes each with every engine and model asked
for, and prints:
- WER per channel: the officer's words in the case against channel 0's unflagged segments, everyone
  else's against channel 1's, in time order, lower-cased, punctuation removed, summed over calls (so the
  order in which two parties' turns interleave does not count as errors);
- end to end: call-level tag F1, verdict accuracy and mismatch recall when tagging and the policy check run
  on the audio transcript, next to the same figures on the case's own text (the gap is what to shrink);
- the calls whose verdict differs between text and audio.

usage: python bench/asr.py [--cases DIR] [--limit N] [--engines ...] [--models auto /path/to/base-ct2 ...]
                           [--set vad_padding_s=0.6 ...] [--audio DIR] [--keep DIR] [--from-kept DIR] [--json]
  A model is 'auto' (the offline tiny.en pack) or a CTranslate2 folder (converted once for openai-whisper).
  --audio keeps the rendered calls (rendered only when missing); --keep writes each transcript as JSON;
  --from-kept scores those transcripts again (after a rules change) without transcribing.
"""
from __future__ import annotations

import argparse
import dataclasses
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


def render(cases: list[Path], audio_dir: Path) -> None:
    """Render the cases not yet in `audio_dir`.

    make_inbox.py hands each line to espeak-ng as an argument, so a line that starts with "-" is read as an
    option and the render fails; such lines are spoken without their leading dashes (they carry no words).
    """
    missing = [c for c in cases if not (audio_dir / f"{_call_id(c)}.wav").exists()]
    if not missing:
        return
    with tempfile.TemporaryDirectory() as td:
        for case in missing:
            data = json.loads(case.read_text())
            for seg in data.get("transcript", {}).get("segments", []):
                seg["text"] = str(seg.get("text") or "").lstrip("- ") or "."
            (Path(td) / case.name).write_text(json.dumps(data))
        subprocess.run([sys.executable, str(SHARED / "tools" / "make_inbox.py"), td, str(audio_dir)],
                       check=True, capture_output=True)


def read_kept(path: Path):
    """A transcript written by --keep."""
    from callreview.transcribe.segments import Segment, Transcript, Word

    data = json.loads(path.read_text())
    segments = tuple(Segment(**{**d, "words": tuple(Word(**w) for w in d["words"]), "flags": tuple(d["flags"])})
                     for d in data["segments"])
    return Transcript(language=data["language"], segments=segments, engine=data["engine"], model=data["model"])


def _call_id(case: Path) -> str:
    return str(json.loads(case.read_text()).get("call_id") or case.stem)


def _setting(text: str) -> tuple[str, object]:
    key, _, value = text.partition("=")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=Path, default=SHARED / "eval" / "dev")
    ap.add_argument("--limit", type=int, default=0, help="first N cases only (0 = all)")
    ap.add_argument("--only", nargs="+", default=[], help="these call ids only")
    ap.add_argument("--engines", nargs="+", default=["openai-whisper", "faster-whisper"])
    ap.add_argument("--models", nargs="+", default=["auto"])
    ap.add_argument("--beam", type=int, default=5, help="beam size (5, the product default; 1 = greedy)")
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    help="any other WhisperSettings field, e.g. --set temperature_fallback=true")
    ap.add_argument("--audio", type=Path, help="keep rendered calls here (rendered only when missing)")
    ap.add_argument("--keep", type=Path, help="write each audio transcript here as JSON")
    ap.add_argument("--from-kept", type=Path, metavar="DIR",
                    help="score the transcripts an earlier --keep run wrote, instead of transcribing")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    a = ap.parse_args()

    from callreview.core.assessment import assess_call
    from callreview.core.cases import read_case, read_expected
    from callreview.core.evaluation import ScoredCase, score_cases
    from callreview.core.rules import load_rules
    from callreview.transcribe.audio import load_audio
    from callreview.transcribe.engine import get_engine
    from callreview.transcribe.settings import WhisperSettings

    rules = load_rules()
    cases = sorted(a.cases.glob("*.json"))
    if a.only:
        cases = [c for c in cases if _call_id(c) in a.only]
    cases = cases[: a.limit or None]
    extra = dict(_setting(s) for s in a.set)
    rows = []
    with tempfile.TemporaryDirectory() as td:
        audio_dir = a.audio or Path(td)
        audio_dir.mkdir(parents=True, exist_ok=True)
        render(cases, audio_dir)
        parsed = {c: read_case(c) for c in cases}
        text_scored = [ScoredCase(_call_id(c), str(c), assess_call(*parsed[c], rules), read_expected(c))
                       for c in cases]
        text = score_cases(text_scored, rules.version)
        for model in a.models:
            for engine in a.engines:
                settings = WhisperSettings(engine=engine, model=model, beam_size=a.beam, **extra)
                eng = None if a.from_kept else get_engine(settings)
                label = eng.model if eng else f"{Path(model).name} (kept)"
                errors = ref_words = 0
                audio_seconds = spent = 0.0
                scored = []
                for n, c in enumerate(cases, 1):
                    call_id = _call_id(c)
                    t0 = time.perf_counter()
                    if eng is None:  # re-score transcripts kept by an earlier run (tagging rules changed, audio not)
                        transcript = read_kept(a.from_kept / f"{call_id}.{Path(model).name}-{engine}.json")
                    else:
                        audio = load_audio(audio_dir / f"{call_id}.wav")
                        t0 = time.perf_counter()
                        transcript = eng.transcribe(audio)
                        spent += time.perf_counter() - t0
                        audio_seconds += audio.duration
                    log, case_segments, _ = parsed[c]
                    for channel, is_officer in ((0, True), (1, False)):
                        ref = words(" ".join(s.text for s in sorted(case_segments, key=lambda s: s.start)
                                             if (s.speaker == "officer") == is_officer))
                        hyp = words(" ".join(s.text for s in transcript.segments
                                             if s.channel == channel and not s.flags))
                        errors += word_errors(ref, hyp)
                        ref_words += len(ref)
                    scored.append(ScoredCase(call_id, str(c),
                                             assess_call(log, list(transcript.segments), transcript.language, rules),
                                             read_expected(c)))
                    if a.keep:
                        a.keep.mkdir(parents=True, exist_ok=True)
                        (a.keep / f"{call_id}.{Path(model).name}-{engine}.json").write_text(json.dumps(
                            {"language": transcript.language, "engine": transcript.engine, "model": transcript.model,
                             "segments": [dataclasses.asdict(s) for s in transcript.segments]}, indent=1))
                    print(f"  {n}/{len(cases)} {call_id} {label} {engine}: {time.perf_counter() - t0:.1f} s",
                          file=sys.stderr, flush=True)
                audio_scores = score_cases(scored, rules.version)
                verdicts = {s.call_id: s.assessment.verdict.verdict for s in text_scored}
                rows.append({"model": label, "engine": engine, "wer": errors / max(ref_words, 1),
                             "rtf": spent / max(audio_seconds, 1e-9), "audio_seconds": audio_seconds,
                             "tag_f1": audio_scores["tags"]["f1"], "verdict_accuracy": audio_scores["verdict_accuracy"],
                             "mismatch": audio_scores["mismatch"],
                             "verdict_differs": [{"call_id": s.call_id, "text": verdicts[s.call_id],
                                                  "audio": s.assessment.verdict.verdict,
                                                  "expected": s.expected.get("verdict")}
                                                 for s in scored if s.assessment.verdict.verdict != verdicts[s.call_id]]})
    summary = {"cases": len(cases), "source": str(a.cases), "beam": None if a.from_kept else a.beam, "settings": extra,
               "rules_version": rules.version,
               "text": {"tag_f1": text["tags"]["f1"], "verdict_accuracy": text["verdict_accuracy"],
                        "mismatch": text["mismatch"]}, "audio": rows}
    if a.json:
        print(json.dumps(summary, indent=1))
        return
    decoding = f"transcripts kept in {a.from_kept}" if a.from_kept else f"beam {a.beam}, settings {extra or 'default'}"
    print(f"{len(cases)} cases from {a.cases}, {decoding}, rules {rules.version}")
    print(f"{'model':34} {'engine':15} {'WER':>6} {'RTF':>6} {'tagF1':>6} {'verdict':>8} {'mm.rec':>7}")
    print(f"{'(case text, no audio)':34} {'-':15} {'-':>6} {'-':>6} {text['tags']['f1']:6.3f} "
          f"{text['verdict_accuracy']:8.3f} {text['mismatch']['recall']:7.3f}")
    for r in rows:
        print(f"{r['model']:34} {r['engine']:15} {r['wer']:6.3f} {r['rtf']:6.3f} {r['tag_f1']:6.3f} "
              f"{r['verdict_accuracy']:8.3f} {r['mismatch']['recall']:7.3f}")
    for r in rows:
        for d in r["verdict_differs"]:
            print(f"  {r['model']} {r['engine']}: {d['call_id']} text {d['text']}, audio {d['audio']} "
                  f"(expected {d['expected']})")


if __name__ == "__main__":
    main()
