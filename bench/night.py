#!/usr/bin/env python3
"""The night batch: N five-minute stereo calls through the whole pipeline, against the bare engine, in one run.

Builds N call cases of about `--minutes` each from the labelled dev calls (../shared/eval/dev, in order,
reused when N > 60): each dev call's own lines keep their order and meaning, spread out with pauses, with
neutral lines of the kind every call has (spelling a name, a callback number, the weather) before and
after them, and one hold of 30-90 s of silence. The neutral lines name no warrant, crime, danger or
contact, so the dev labels still hold; the bench checks that on the text (`text` row) before it trusts them.
The calls are rendered once, with the Piper voice through the telephone band at 20 dB SNR (bench/asr.py's
`phone20`: make_inbox.py --voice piper, then bench/telephone.py), into `--audio` (kept between runs).

Then, each in a fresh child process, one after the other:
- `pipeline`: `callreview run` exactly as the CLI runs it (configured_flow, BatchSettings from the
  environment, product defaults: faster-whisper base int8, beam 5, word times, voice detection, speech
  decoded in chunks of one window, 8 at once), on a new SQLite data folder. Time per stage comes from
  wrapping, in that child only, the functions each stage calls: audio decoding (stream_audio), voice
  detection (speech_probabilities), the model (FasterWhisperBackend.decode_chunks and .decode: encoder,
  decoder and word alignment; the call count of the re-decodes shows how often speech was lost),
  transcription's own remainder (placing segments, flags, its database writes), intake (hashing, the
  archive copy, the log) and assessment (tagging, the policy, the queue, their writes).
- `bare`: faster-whisper alone on the same files, each channel on its own, at the same settings (the same
  model folder, int8, beam 5, word timestamps, English, the same prompt, its own VAD filter, the same
  thread count), nothing stored; with `--batch N`, through its own BatchedInferencePipeline, N chunks at
  once, as the product now decodes.
`--env NAME=VALUE ...` sets product settings for both children (threads, workers, beam, batch size), and
`--load` keeps one core busy with a spinning process while each child runs (this box is shared).
It prints wall time and real-time factor for both, their ratio, the stage table, WER per condition (the
pipeline's and the bare engine's words against the case's, per channel), and the pipeline's verdict
accuracy, mismatch recall, queue recall and consistent calls sent to review, next to the same on the text.

usage: python bench/night.py [--calls 50] [--minutes 5] [--audio bench/out/night] [--modes pipeline bare]
                             [--env NAME=VALUE ...] [--batch N] [--load] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared"

NEUTRAL = {
    "officer": ["Go ahead, I'm listening.", "Spell the last name for me.", "Okay, give me a second to write that down.",
                "What's a good callback number for you?", "Which entrance are you parked at?",
                "Hold on, my other line is lighting up.", "Sorry about that, I'm back.", "Say that number again.",
                "It's been a long night over here.", "Alright, I've got it written down."],
    "ice": ["Sure, it's M as in Mary, O, R, A, L, E, S.", "My number is five zero two, five five five, zero one four two.",
            "We're in a gray sedan by the north side.", "No problem, take your time.",
            "It's cold out here tonight, supposed to snow later.", "Yeah, I can hold.",
            "That's five zero two, five five five, zero one four two.", "Thanks for picking up so fast.",
            "I'll stay on the line.", "Appreciate you taking the call, sergeant."],
}
WORDS_PER_SECOND = 2.6  # how fast the Piper voice speaks, near enough to lay the turns out


def build_cases(dev: list[Path], n: int, minutes: float, out: Path) -> list[Path]:
    """Write N long case files into `out` (kept if already there); returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = out / f"NT-{i:03d}.json"
        paths.append(path)
        if path.exists():
            continue
        base = json.loads(dev[i % len(dev)].read_text(encoding="utf-8"))
        rng = random.Random(f"night-{i}")
        own = [(s["speaker"], s["text"]) for s in base["transcript"]["segments"]]
        target = minutes * 60
        own_s = sum(len(t.split()) / WORDS_PER_SECOND + 1.0 for _, t in own)
        hold = rng.uniform(30, 90)
        filler_s = max(target - own_s - hold - 10, 0)
        before, after = [], []
        spent = 0.0
        while spent < filler_s:
            speaker = "officer" if len(before) + len(after) & 1 else "ice"
            line = rng.choice(NEUTRAL[speaker])
            (before if spent < filler_s / 3 else after).append((speaker, line))
            spent += len(line.split()) / WORDS_PER_SECOND + rng.uniform(0.8, 2.5)
        turns = [*before, *own, ("hold", ""), *after]
        segments, t = [], 0.5
        for speaker, text in turns:
            if speaker == "hold":
                t += hold
                continue
            dur = len(text.split()) / WORDS_PER_SECOND
            segments.append({"start": round(t, 2), "end": round(t + dur, 2), "speaker": speaker, "text": text})
            t += dur + rng.uniform(0.6, 2.0)
        case = {"call_id": path.stem, "log": base.get("log"), "transcript": {"language": "en", "segments": segments},
                "expected": {**base["expected"], "mentions": []}}  # call-level labels; segment indices moved
        path.write_text(json.dumps(case, indent=1), encoding="utf-8")
    return paths


def run_child(mode: str, inbox: Path, extra: list[str], *, load: bool = False) -> dict:
    """One child process of `mode`; with `load`, a busy loop holds one core for as long as it runs."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", mode, "--inbox", str(inbox), *extra]
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if load else None
    started = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True)
    finally:
        if burner is not None:
            burner.kill()
            burner.wait()
    if proc.returncode != 0:
        sys.exit(f"{mode} child failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_s"] = time.perf_counter() - started
    return result


# --- children ---------------------------------------------------------------------------------------------

def child_pipeline(inbox: Path) -> dict:
    """`callreview run INBOX` in this process, with each stage's functions timed."""
    import threading

    import callreview.flows.inbox as flow_mod
    import callreview.transcribe.engine as engine_mod
    import callreview.transcribe.vad as vad_mod
    from callreview.flows.prefect_server import start_owned_server
    from callreview.flows.settings import BatchSettings
    from callreview.transcribe.faster_engine import FasterWhisperBackend

    spent: dict[str, float] = {}
    calls: dict[str, int] = {}
    lock = threading.Lock()

    def add(name: str, seconds: float) -> None:
        with lock:
            spent[name] = spent.get(name, 0.0) + seconds
            calls[name] = calls.get(name, 0) + 1

    def timed(name, fn):
        def wrapper(*a, **kw):
            t = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                add(name, time.perf_counter() - t)
        return wrapper

    def timed_generator(name, fn):
        def wrapper(*a, **kw):
            it = fn(*a, **kw)
            while True:
                t = time.perf_counter()
                try:
                    item = next(it)
                except StopIteration:
                    add(name, time.perf_counter() - t)
                    return
                add(name, time.perf_counter() - t)
                yield item
        return wrapper

    if BatchSettings().dask_address:  # the calls run in worker processes: no stage is timed here
        start_owned_server()
        t = time.perf_counter()
        summary = flow_mod.configured_flow(BatchSettings())(str(inbox))
        return {"wall_s": time.perf_counter() - t, "spent": {}, "calls": {}, "summary": summary.to_dict()}
    engine_mod.stream_audio = timed_generator("audio decode", engine_mod.stream_audio)
    vad_mod.speech_probabilities = timed("voice detection", vad_mod.speech_probabilities)
    first_pass = timed("model (encode, decode, words)", FasterWhisperBackend.decode)
    again = timed("model: re-decoding missed speech", FasterWhisperBackend.decode)

    def decode(self, samples, settings):  # the engine's retries decode without the previous text
        retry = not settings.condition_on_previous_text and base_settings.condition_on_previous_text
        return (again if retry else first_pass)(self, samples, settings)

    from callreview.transcribe.settings import WhisperSettings
    base_settings = WhisperSettings()
    FasterWhisperBackend.decode = decode
    # the first pass in chunks, batched (the default), counts as the model's first pass too
    FasterWhisperBackend.decode_chunks = timed("model (encode, decode, words)", FasterWhisperBackend.decode_chunks)
    for name in ("take_in", "transcribe_call", "assess_stored_call"):
        setattr(flow_mod, name, timed(name, getattr(flow_mod, name)))

    start_owned_server()
    t = time.perf_counter()
    summary = flow_mod.configured_flow(BatchSettings())(str(inbox))
    wall = time.perf_counter() - t
    return {"wall_s": wall, "spent": spent, "calls": calls, "summary": summary.to_dict()}


def child_bare(inbox: Path, batch: int = 0) -> dict:
    """faster-whisper alone, each channel on its own, at the pipeline's settings; with `batch`, through its
    `BatchedInferencePipeline`, which decodes that many voice-detected chunks at once (and, by design,
    without the previous chunk's text)."""
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    from callreview.transcribe.audio import load_audio
    from callreview.transcribe.models import resolve_model
    from callreview.transcribe.settings import WhisperSettings

    s = WhisperSettings()
    model = WhisperModel(resolve_model(s), device="cpu", compute_type=s.compute_type, cpu_threads=s.cpu_threads)
    batched = BatchedInferencePipeline(model) if batch else None
    texts, load_s = {}, 0.0
    t = time.perf_counter()
    for wav in sorted(inbox.glob("*.wav")):
        t_load = time.perf_counter()
        audio = load_audio(wav)
        load_s += time.perf_counter() - t_load
        per_channel = []
        for samples in audio.channels:
            if batched is not None:
                segments, _ = batched.transcribe(samples, language="en", beam_size=s.beam_size, word_timestamps=True,
                                                 initial_prompt=s.initial_prompt, vad_filter=True,
                                                 temperature=s.temperatures, batch_size=batch)
            else:
                segments, _ = model.transcribe(samples, language="en", beam_size=s.beam_size, word_timestamps=True,
                                               initial_prompt=s.initial_prompt, vad_filter=True,
                                               condition_on_previous_text=s.condition_on_previous_text,
                                               temperature=s.temperatures)
            per_channel.append(" ".join(seg.text for seg in segments))
        texts[wav.stem] = per_channel
    return {"wall_s": time.perf_counter() - t, "audio_decode_s": load_s, "texts": texts}


# --- scoring -------------------------------------------------------------------------------------------

def pipeline_texts(data_dir: Path) -> dict[str, list[str]]:
    """Each stored call's current transcript, as text per channel (0 officer, 1 the rest)."""
    from sqlmodel import select

    from callreview.storage.db import open_session
    from callreview.storage.settings import StorageSettings
    from callreview.storage.tables import Call, SegmentRecord, TranscriptRecord

    out: dict[str, list[list[str]]] = {}
    with open_session(StorageSettings(data_dir=data_dir)) as s:
        rows = s.exec(select(Call.call_id, SegmentRecord).join(TranscriptRecord, TranscriptRecord.call_pk == Call.id)
                      .join(SegmentRecord, SegmentRecord.transcript_pk == TranscriptRecord.id)
                      .where(TranscriptRecord.is_current == True)  # noqa: E712
                      .order_by(Call.call_id, SegmentRecord.start)).all()
    for call_id, seg in rows:
        out.setdefault(call_id, [[], []])[0 if seg.speaker == "officer" else 1].append(seg.text)
    return {k: [" ".join(v[0]), " ".join(v[1])] for k, v in out.items()}


def wer(cases: list[Path], texts: dict[str, list[str]]) -> float:
    from bench.asr import word_errors, words

    errors = total = 0
    for case in cases:
        data = json.loads(case.read_text(encoding="utf-8"))
        got = texts.get(data["call_id"], ["", ""])
        for ch in (0, 1):
            ref = words(" ".join(s["text"] for s in data["transcript"]["segments"]
                                 if (s["speaker"] == "officer") == (ch == 0)))
            errors += word_errors(ref, words(got[ch]))
            total += len(ref)
    return errors / max(total, 1)


def verdict_figures(cases: list[Path], got: dict[str, tuple[str, list[str]]]) -> dict:
    """Verdict accuracy, mismatch recall, queue recall and consistent calls sent to a person (any verdict but
    consistent), as callreview.core.evaluation counts them. A dev call labelled `transcript_unusable` is left
    out: padded with clear neutral lines, its transcript is no longer unusable, so its label no longer holds."""
    expected = {}
    for c in cases:
        data = json.loads(c.read_text(encoding="utf-8"))
        if "transcript_unusable" not in data["expected"].get("reasons", []):
            expected[data["call_id"]] = data["expected"]["verdict"]
    verdict = {k: got.get(k, ("?", []))[0] for k in expected}
    mism = [k for k, e in expected.items() if e == "mismatch"]
    cons = [k for k, e in expected.items() if e == "consistent"]
    return {"scored": len(expected), "verdict_accuracy": sum(verdict[k] == e for k, e in expected.items()) / len(expected),
            "mismatch_recall": sum(verdict[k] == "mismatch" for k in mism) / max(len(mism), 1),
            "queue_recall": sum(verdict[k] != "consistent" for k in mism) / max(len(mism), 1),
            "consistent_to_review": sum(verdict[k] != "consistent" for k in cons) / max(len(cons), 1),
            "verdicts": verdict}


def text_verdicts(cases: list[Path]) -> dict[str, tuple[str, list[str]]]:
    from callreview.core.assessment import assess_case_file
    from callreview.core.rules import load_rules

    rules = load_rules()
    out = {}
    for c in cases:
        a = assess_case_file(c, rules)
        out[json.loads(c.read_text())["call_id"]] = (a.verdict.verdict, list(a.verdict.reasons))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=50)
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--audio", type=Path, default=ROOT / "bench" / "out" / "night")
    ap.add_argument("--modes", nargs="+", default=["pipeline", "bare"], choices=["pipeline", "bare"])
    ap.add_argument("--env", nargs="*", default=[], metavar="NAME=VALUE",
                    help="settings for both children, e.g. CALLREVIEW_WHISPER_BEAM_SIZE=1 CALLREVIEW_WORKERS=2")
    ap.add_argument("--batch", type=int, default=0,
                    help="run the bare engine through faster-whisper's batched pipeline, this many chunks at once")
    ap.add_argument("--load", action="store_true", help="a busy loop holds one core while each child runs")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--child", choices=["pipeline", "bare"], help=argparse.SUPPRESS)
    ap.add_argument("--inbox", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args()
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    if a.child:
        print(json.dumps(child_pipeline(a.inbox) if a.child == "pipeline" else child_bare(a.inbox, a.batch)))
        return
    for setting in a.env:
        name, sep, value = setting.partition("=")
        if not sep or not name:
            sys.exit(f"--env {setting!r}: expected NAME=VALUE")
        os.environ[name] = value

    from bench.asr import render
    from callreview.transcribe.audio import probe_audio

    dev = sorted((SHARED / "eval" / "dev").glob("*.json"))
    if not dev:
        sys.exit(f"{SHARED / 'eval' / 'dev'}: no dev cases")
    key = f"{a.minutes:g}min"  # call i is the same whatever N, so a smaller run reuses a larger one's renders
    cases = build_cases(dev, a.calls, a.minutes, a.audio / key / "cases")
    text = text_verdicts(cases)
    print(f"rendering {len(cases)} calls (kept in {a.audio / key})...", file=sys.stderr, flush=True)
    folder = render(cases, a.audio / key, "phone20")
    audio_s = sum(probe_audio(folder / f"{c.stem}.wav").duration for c in cases)
    results: dict = {"calls": len(cases), "audio_minutes": audio_s / 60, "env": a.env, "batch": a.batch,
                     "load": a.load, "text": verdict_figures(cases, text),
                     "text_verdicts": {k: f"{v} ({', '.join(why)})" for k, (v, why) in text.items()}}
    with tempfile.TemporaryDirectory() as td:
        inbox = Path(td) / "inbox"
        inbox.mkdir()
        for c in cases:  # copies: intake refuses links out of the inbox
            shutil.copy(folder / f"{c.stem}.wav", inbox / f"{c.stem}.wav")
            log = a.audio / key / "piper" / f"{c.stem}.json"  # the line keeps only the audio
            if log.exists():
                shutil.copy(log, inbox / log.name)
        for mode in a.modes:
            print(f"running {mode}...", file=sys.stderr, flush=True)
            if mode == "pipeline":
                data = Path(td) / "data"
                os.environ["CALLREVIEW_DATA_DIR"] = str(data)
                r = run_child("pipeline", inbox, [], load=a.load)
                r["wer"] = wer(cases, pipeline_texts(data))
                got = {row["call_id"]: (row.get("verdict", row["status"]), row.get("reasons", []))
                       for row in r["summary"]["calls"]}
                r.update(verdict_figures(cases, got))
                r["wrong"] = {k: f"{v} ({', '.join(why)})" for k, (v, why) in sorted(got.items())
                              if v != text.get(k, ("?",))[0]}
                r.pop("summary")
            else:
                r = run_child("bare", inbox, ["--batch", str(a.batch)], load=a.load)
                r["wer"] = wer(cases, r.pop("texts"))
            r["rtf"] = r["wall_s"] / audio_s
            results[mode] = r
    if a.json:
        print(json.dumps(results, indent=1))
        return
    print_table(results)


def print_table(r: dict) -> None:
    print(f"{r['calls']} calls, {r['audio_minutes']:.1f} min of stereo audio (Piper, telephone band, 20 dB SNR); "
          f"verdicts over the {r['text']['scored']} whose dev label is not 'transcript_unusable'")
    notes = [" ".join(r["env"]) or "product defaults"]
    if r["batch"]:
        notes.append(f"bare engine batched, {r['batch']} chunks at once")
    if r["load"]:
        notes.append("one core held by a busy loop")
    print("settings: " + "; ".join(notes))
    print(f"{'':<10} {'wall':>8} {'RTF':>6} {'x real time':>11} {'WER':>6} {'verdict':>7} {'mmR':>6} {'queueR':>6} {'cons>rev':>8}")
    t = r["text"]
    print(f"{'text':<10} {'':>8} {'':>6} {'':>11} {'':>6} {t['verdict_accuracy']:>7.3f} {t['mismatch_recall']:>6.3f} "
          f"{t['queue_recall']:>6.3f} {t['consistent_to_review']:>8.3f}")
    for mode in ("pipeline", "bare"):
        if mode not in r:
            continue
        m = r[mode]
        line = f"{mode:<10} {m['wall_s']:>7.0f}s {m['rtf']:>6.3f} {1 / m['rtf']:>10.1f}x {m['wer']:>6.3f}"
        if mode == "pipeline":
            line += (f" {m['verdict_accuracy']:>7.3f} {m['mismatch_recall']:>6.3f} {m['queue_recall']:>6.3f} "
                     f"{m['consistent_to_review']:>8.3f}")
        print(line)
    if "pipeline" in r and "bare" in r:
        print(f"pipeline / bare wall time: {r['pipeline']['wall_s'] / r['bare']['wall_s']:.2f}x")
    if "pipeline" in r and r["pipeline"]["spent"]:  # not timed when the calls ran on Dask workers
        p = r["pipeline"]
        inner = {"audio decode", "voice detection", "model (encode, decode, words)", "model: re-decoding missed speech"}
        transcribe_rest = p["spent"].get("transcribe_call", 0) - sum(p["spent"].get(k, 0) for k in inner)
        rows = [(k, p["spent"].get(k, 0.0), p["calls"].get(k, 0)) for k in sorted(inner)]
        rows += [("transcription, the rest", transcribe_rest, p["calls"].get("transcribe_call", 0)),
                 ("intake (hash, archive, log)", p["spent"].get("take_in", 0.0), p["calls"].get("take_in", 0)),
                 ("assessment (tags, policy, queue)", p["spent"].get("assess_stored_call", 0.0),
                  p["calls"].get("assess_stored_call", 0))]
        staged = sum(s for _, s, _ in rows)
        rows.append(("orchestration (Prefect, futures)", p["wall_s"] - staged, 0))
        print(f"\n{'stage':<34} {'seconds':>8} {'share':>6} {'calls':>6}")
        for name, sec, n in rows:
            print(f"{name:<34} {sec:>8.1f} {sec / p['wall_s']:>6.1%} {n:>6}")
        if p.get("wrong"):
            print("\nverdict differs from the text's:")
            for call_id, got in p["wrong"].items():
                print(f"  {call_id}: {got}, text {r['text_verdicts'][call_id]}")


if __name__ == "__main__":
    main()
