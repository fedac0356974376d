#!/usr/bin/env python3
"""`callreview transcribe` against the bare engine doing the same work, as whole processes, alternated.

For each engine, each round runs, each in a fresh process and in turn (the order flips every round, so
neither side always follows the other):
- `pipeline`: `callreview transcribe CALL --json`, the product as a user runs it (defaults, including the
  re-decoding of speech the first pass lost);
- `pipeline-same`: the same with re-decoding off (`CALLREVIEW_WHISPER_REDECODE_MISSED_S=0`), so that it does
  exactly the bare engine's work;
- `bare`: the engine alone, in a process that imports it, loads the same model and decodes each channel on
  its own at the pipeline's settings: same beam, word timestamps, English, prompt, temperatures, previous
  text, no window dropped as silence, and, for faster-whisper, its own `vad_filter` with the pipeline's
  voice-detection options (threshold, minimum silence, padding), and, when the product decodes in batches
  (`CALLREVIEW_WHISPER_BATCH_SIZE`, default 8), through faster-whisper's own BatchedInferencePipeline at
  that batch size, without timestamp tokens, as the product does; with the variable at 0, one pass per
  channel, as the product then does. openai-whisper has no voice detection, so
  its bare process decodes every second of the call (the issue's definition).
Both sides pay for starting Python, imports and loading the model, as a user's process does.

It prints the median whole-process time per side, the ratio to bare, and what the pipeline's words are worth
(words per channel on each side), so that a faster side that heard less is visible.

usage: python bench/overhead.py [--call FILE | --minutes 7] [--engines faster-whisper openai-whisper]
                                [--model tiny.en] [--rounds 3] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def bare(path: Path, engine: str, model: str) -> dict:
    """Child process: the engine alone on each channel, at the pipeline's settings; prints words per channel."""
    from callreview.transcribe.audio import load_audio
    from callreview.transcribe.models import resolve_model
    from callreview.transcribe.settings import WhisperSettings

    s = WhisperSettings(engine=engine, model=model)
    ref = resolve_model(s)
    audio = load_audio(path)
    words = []
    if engine == "faster-whisper":
        from faster_whisper import WhisperModel

        m = WhisperModel(ref, device=s.device, compute_type=s.compute_type, cpu_threads=s.cpu_threads, num_workers=1)
        vad = {"threshold": s.vad_threshold, "min_silence_duration_ms": int(s.vad_min_silence_s * 1000),
               "speech_pad_ms": int(s.vad_padding_s * 1000)}
        if s.batch_size and not s.temperature_fallback:
            # The product's decoding (step 3 of docs/transcription.md): voice-detected chunks of one window,
            # each whole, without timestamp tokens or the previous chunk's text, batch_size at once.
            from faster_whisper import BatchedInferencePipeline

            batched = BatchedInferencePipeline(m)
            for samples in audio.channels:
                segments, _ = batched.transcribe(samples, language=s.language, beam_size=s.beam_size,
                                                 word_timestamps=True, initial_prompt=s.initial_prompt,
                                                 temperature=s.temperatures, without_timestamps=True,
                                                 compression_ratio_threshold=s.compression_ratio_threshold,
                                                 log_prob_threshold=s.logprob_threshold, no_speech_threshold=None,
                                                 vad_filter=True, vad_parameters=vad, batch_size=s.batch_size)
                words.append(sum(len(seg.words or ()) for seg in segments))
            return {"words": words}
        for samples in audio.channels:
            segments, _ = m.transcribe(samples, language=s.language, beam_size=s.beam_size, word_timestamps=True,
                                       initial_prompt=s.initial_prompt, temperature=s.temperatures,
                                       condition_on_previous_text=s.condition_on_previous_text,
                                       compression_ratio_threshold=s.compression_ratio_threshold,
                                       log_prob_threshold=s.logprob_threshold, no_speech_threshold=None,
                                       vad_filter=True, vad_parameters=vad)
            words.append(sum(len(seg.words or ()) for seg in segments))
    else:
        import torch
        import whisper

        from callreview.transcribe.openai_engine import _load_checkpoint

        torch.set_num_threads(s.cpu_threads)
        m = _load_checkpoint(Path(ref), s.device) if Path(ref).exists() else whisper.load_model(ref, device=s.device)
        for samples in audio.channels:
            out = whisper.transcribe(m, samples, verbose=None, fp16=False, language=s.language,
                                     beam_size=s.beam_size if s.beam_size > 1 else None,
                                     initial_prompt=s.initial_prompt, word_timestamps=True,
                                     temperature=s.temperatures,
                                     condition_on_previous_text=s.condition_on_previous_text,
                                     compression_ratio_threshold=s.compression_ratio_threshold,
                                     logprob_threshold=s.logprob_threshold, no_speech_threshold=None)
            words.append(sum(len(seg.get("words", ())) for seg in out["segments"]))
    return {"words": words}


def run(mode: str, path: Path, engine: str, model: str) -> dict:
    """One whole process of `mode`; its wall time and the words it heard per channel."""
    env = {**os.environ, "CALLREVIEW_WHISPER_ENGINE": engine, "CALLREVIEW_WHISPER_MODEL": model}
    if mode == "bare":
        cmd = [sys.executable, str(Path(__file__).resolve()), "--bare", str(path), engine, model]
    else:
        cmd = ["callreview", "transcribe", str(path), "--json"]
        if mode == "pipeline-same":
            env["CALLREVIEW_WHISPER_REDECODE_MISSED_S"] = "0"
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        sys.exit(f"{mode} ({engine}) failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    out = json.loads(proc.stdout)
    if mode == "bare":
        words = out["words"]
    else:
        channels = sorted({seg.get("channel") for seg in out["segments"]}, key=lambda c: -1 if c is None else c)
        words = [sum(len(seg.get("words") or ()) for seg in out["segments"] if seg.get("channel") == ch)
                 for ch in channels]
    return {"wall_s": wall, "words": words}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--call", type=Path, help="a stereo recording (default: an espeak call of --minutes)")
    ap.add_argument("--minutes", type=float, default=7.0, help="length of the synthesised call")
    ap.add_argument("--engines", nargs="+", default=["faster-whisper", "openai-whisper"])
    ap.add_argument("--model", default="tiny.en", help="a pack name (tiny.en, base); the same for both sides")
    ap.add_argument("--modes", nargs="+", default=["pipeline", "pipeline-same", "bare"],
                    choices=["pipeline", "pipeline-same", "bare"])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--bare", nargs=3, metavar=("FILE", "ENGINE", "MODEL"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.bare:
        print(json.dumps(bare(Path(a.bare[0]), a.bare[1], a.bare[2])))
        return
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    with tempfile.TemporaryDirectory() as td:
        path = a.call
        if path is None:
            from bench.transcribe import make_call

            path = make_call(a.minutes, Path(td) / f"call-{a.minutes:g}min.wav")
        from callreview.transcribe.audio import probe_audio

        duration = probe_audio(path).duration
        times: dict = {}
        for r in range(a.rounds):
            for engine in a.engines:
                order = a.modes if r % 2 == 0 else list(reversed(a.modes))
                for mode in order:
                    got = run(mode, path, engine, a.model)
                    times.setdefault((engine, mode), []).append(got)
                    print(f"  round {r + 1} {engine:15s} {mode:14s} {got['wall_s']:7.1f} s  words {got['words']}",
                          file=sys.stderr, flush=True)
    rows = []
    for (engine, mode), runs in times.items():
        wall = statistics.median(x["wall_s"] for x in runs)
        base = times.get((engine, "bare"))
        ratio = wall / statistics.median(x["wall_s"] for x in base) if base else float("nan")
        rows.append({"engine": engine, "mode": mode, "median_s": wall, "runs_s": [x["wall_s"] for x in runs],
                     "ratio_to_bare": ratio, "rtf": wall / duration, "words": runs[-1]["words"]})
    if a.json:
        print(json.dumps({"call_s": duration, "model": a.model, "rows": rows}, indent=1))
        return
    print(f"{path.name}: {duration / 60:.1f} min stereo, model {a.model}, {a.rounds} rounds; whole processes "
          f"(start, imports, model load, decode)")
    print(f"{'engine':15} {'mode':14} {'median':>8} {'/bare':>6} {'RTF':>6}  {'runs':24} words per channel")
    for row in rows:
        runs = " ".join(f"{x:.1f}" for x in row["runs_s"])
        print(f"{row['engine']:15} {row['mode']:14} {row['median_s']:7.1f}s {row['ratio_to_bare']:6.2f} "
              f"{row['rtf']:6.3f}  {runs:24} {row['words']}")


if __name__ == "__main__":
    main()
