#!/usr/bin/env python3
"""Speed of transcription, measured side by side in one run.

Synthesises stereo 8 kHz calls of the given lengths (espeak-ng speech in turns, officer left and ICE right;
half of the call is silence or a hold tone), then for each engine times, each in a fresh child process:
- `bare`: the engine alone on each channel's 16 kHz samples (whisper.transcribe / WhisperModel.transcribe with
  their own defaults, so windows they judge silent are skipped), no voice detection; same beam and prompt;
- `bare-vad`: the engine alone on the speech silero finds with faster-whisper's default VAD options, joined
  (faster-whisper's own `vad_filter`; for openai-whisper the same chunks handed to whisper.transcribe): the
  fair reference for the pipeline's overhead, since neither decodes the silence;
- `pipeline-novad` (opt-in): callreview's engine with voice detection off; it keeps every window (evidence),
  so on silence it decodes what bare skips;
- `pipeline`: callreview's engine as configured by default (voice detection on, deterministic decoding);
- `pipeline-fb` (opt-in): the same with Whisper's temperature fallback on, i.e. decoding exactly as the bare
  engines do: its ratio to `bare-vad` is the pipeline's own overhead.
It prints the real-time factor (seconds of processing per second of audio), the ratio to bare, the time
saved by voice detection, the split decode+resample / VAD / model, and peak memory (max RSS of the child).

Bare engines run with their own defaults (temperature fallback on, windows judged silent dropped); the
pipeline with callreview's (deterministic, nothing dropped). Word timestamps are off on both sides.

usage: python bench/transcribe.py [--minutes 1 10 60] [--engines openai-whisper faster-whisper] [--beam 1]
                                  [--model tiny.en|base|auto|CT2_DIR] [--modes bare bare-vad pipeline-novad pipeline pipeline-fb]
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RATE = 8000
LINES = [
    ("officer", "This is Lieutenant Keene, Fourth Division. What can I do for you?"),
    ("ice", "This is Deportation Officer Vance with ICE. We have an I-200 for a subject at an apartment."),
    ("officer", "Is there a criminal warrant, or only the administrative one?"),
    ("ice", "Only the I-205 and a detainer. We need two units to knock on the door for us."),
    ("officer", "We don't do door knocks for ICE. Is anyone in danger right now?"),
    ("ice", "No, he is not armed as far as we know. He might run, though."),
]


def speak(text: str, voice: str, folder: Path, n: int) -> np.ndarray:
    raw, out = folder / f"{n}.raw.wav", folder / f"{n}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", "160", "-w", str(raw), text], check=True, capture_output=True)
    subprocess.run(["sox", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(out)], check=True, capture_output=True)
    with wave.open(str(out)) as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768


def make_call(minutes: float, path: Path) -> Path:
    """Turns of speech for half the call; the other half silence and a 440 Hz hold beep, alternating."""
    total = int(minutes * 60 * RATE)
    with tempfile.TemporaryDirectory() as td:
        rendered = [(spk, speak(text, "en-us" if spk == "officer" else "en-us+m3", Path(td), i))
                    for i, (spk, text) in enumerate(LINES)]
    left, right = np.zeros(total, np.float32), np.zeros(total, np.float32)
    at, i, speech, hold = 0, 0, 0, 0
    t = np.arange(20 * RATE) / RATE
    beep = (0.3 * np.sin(2 * np.pi * 440 * t) * ((t % 2) < 1)).astype(np.float32)
    while at < total:
        if speech <= hold:  # keep speech and non-speech about equal
            spk, pcm = rendered[i % len(rendered)]
            n = min(len(pcm), total - at)
            (left if spk == "officer" else right)[at:at + n] = pcm[:n]
            at, speech, i = at + n + int(0.4 * RATE), speech + n, i + 1
        else:
            n = min(len(beep), total - at)
            if (hold // len(beep)) % 2:
                left[at:at + n] = beep[:n]  # hold tone on the officer's side; otherwise plain silence
            at, hold = at + n, hold + n
    frames = np.stack([left, right], axis=1)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes((np.clip(frames, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def settings_for(engine: str, beam: int, vad: bool, model: str = "tiny.en", fallback: bool = False):
    from callreview.transcribe.settings import WhisperSettings

    return WhisperSettings(engine=engine, model=model, beam_size=beam, vad=vad, word_timestamps=False,
                           temperature_fallback=fallback)


def bare_speech(samples: np.ndarray) -> np.ndarray:
    """The speech faster-whisper's own `vad_filter` keeps (default options), joined."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    chunks = get_speech_timestamps(samples, VadOptions())
    return np.concatenate([samples[c["start"]:c["end"]] for c in chunks]) if chunks else samples[:0]


def run_one(path: Path, engine: str, mode: str, beam: int, model: str = "tiny.en") -> dict:
    """Child process: one measurement; prints JSON."""
    from callreview.transcribe.audio import load_audio
    from callreview.transcribe.engine import get_engine
    from callreview.transcribe.vad import detect_speech

    settings = settings_for(engine, beam, vad=mode in ("pipeline", "pipeline-fb"), model=model,
                            fallback=mode == "pipeline-fb")
    eng = get_engine(settings)  # model load is not timed: a batch loads once
    from callreview.transcribe.audio import probe_audio

    # For long calls in pipeline mode, skip the separate decode/VAD timing: holding the whole file in memory
    # for it would hide the pipeline's own (windowed) peak memory.
    split = mode.startswith("bare") or probe_audio(path).duration < 1800
    t0 = time.perf_counter()
    audio = load_audio(path) if split else None
    t_decode = time.perf_counter() - t0
    t_vad = 0.0
    if mode.startswith("bare"):
        t1 = time.perf_counter()
        n_segments = 0
        for samples in audio.channels:
            if engine == "openai-whisper":
                import whisper

                if mode == "bare-vad":
                    samples = bare_speech(samples)
                    if not len(samples):
                        continue
                out = whisper.transcribe(eng.backend.model, samples, fp16=False, beam_size=None if beam == 1 else beam,
                                         initial_prompt=settings.initial_prompt, word_timestamps=False)
                n_segments += len(out["segments"])
            else:
                segs, _ = eng.backend.model.transcribe(samples, beam_size=beam, initial_prompt=settings.initial_prompt,
                                                       word_timestamps=False, vad_filter=(mode == "bare-vad"))
                n_segments += len(list(segs))
        t_model = time.perf_counter() - t1
    else:
        if mode == "pipeline" and split:  # VAD alone, measured separately (the pipeline runs it again inside)
            t1 = time.perf_counter()
            for samples in audio.channels:
                detect_speech(samples, threshold=settings.vad_threshold, min_silence_s=settings.vad_min_silence_s,
                              padding_s=settings.vad_padding_s, floor_margin_db=settings.vad_floor_margin_db)
            t_vad = time.perf_counter() - t1
        t1 = time.perf_counter()
        transcript = eng.transcribe_path(path)  # streaming from the file: decode happens inside
        t_pipeline = time.perf_counter() - t1
        n_segments = len(transcript.segments)
        t_model = max(t_pipeline - t_decode - t_vad, 0.0) if split else t_pipeline
    # bare: decode then model; pipeline: its own streaming run, which decodes and runs VAD inside.
    whole = t_decode + t_model if mode.startswith("bare") else t_pipeline
    duration = audio.duration if audio is not None else probe_audio(path).duration
    return {"engine": engine, "mode": mode, "duration": duration, "decode_resample_s": t_decode,
            "vad_s": t_vad, "model_s": t_model, "whole_s": whole, "segments": n_segments,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, nargs="+", default=[1, 10])
    ap.add_argument("--engines", nargs="+", default=["openai-whisper", "faster-whisper"])
    ap.add_argument("--modes", nargs="+", default=["bare", "bare-vad", "pipeline"])
    ap.add_argument("--model", default="tiny.en",
                    help="a pack name (tiny.en, base), auto (what the product picks) or a CTranslate2 folder")
    ap.add_argument("--beam", type=int, default=1, help="beam size (1 = greedy, as issue 10's reference figures)")
    ap.add_argument("--timeout", type=int, default=1800, help="stop one measurement after this many seconds")
    ap.add_argument("--json", action="store_true", help="print the measurements as JSON instead of the table")
    ap.add_argument("--one", nargs=3, metavar=("FILE", "ENGINE", "MODE"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        print(json.dumps(run_one(Path(a.one[0]), a.one[1], a.one[2], a.beam, a.model)))
        return
    results = []
    with tempfile.TemporaryDirectory() as td:
        for minutes in a.minutes:
            path = make_call(minutes, Path(td) / f"call-{minutes:g}min.wav")
            for engine in a.engines:
                for mode in a.modes:
                    try:
                        out = subprocess.run([sys.executable, __file__, "--beam", str(a.beam), "--model", a.model,
                                              "--one", str(path), engine, mode],
                                             capture_output=True, text=True, check=True, timeout=a.timeout)
                    except subprocess.TimeoutExpired:
                        print(f"  {minutes:g} min {engine:15s} {mode:15s} stopped after {a.timeout} s",
                              file=sys.stderr, flush=True)
                        results.append({"minutes": minutes, "engine": engine, "mode": mode, "timed_out": a.timeout})
                        continue
                    r = json.loads(out.stdout.strip().splitlines()[-1])
                    r["minutes"] = minutes
                    results.append(r)
                    print(f"  {minutes:g} min {engine:15s} {mode:15s} whole {r['whole_s']:7.1f} s", file=sys.stderr, flush=True)
    if a.json:
        print(json.dumps(results, indent=1))
        return
    print(f"model {a.model}, beam {a.beam}; /bare and /bare-vad: the whole time over that reference's, same engine")
    print(f"{'call':>6} {'engine':15} {'mode':15} {'RTF':>6} {'/bare':>6} {'/b-vad':>6} {'decode':>7} {'vad':>6} "
          f"{'model':>7} {'whole':>7} {'segs':>5} {'peakMB':>7}")
    done = {(r["minutes"], r["engine"], r["mode"]): r for r in results if "timed_out" not in r}
    for r in results:
        if "timed_out" in r:
            print(f"{r['minutes']:>4g}m {r['engine']:15} {r['mode']:15} stopped after {r['timed_out']} s")
            continue
        ratios = []
        for ref in ("bare", "bare-vad"):
            b = done.get((r["minutes"], r["engine"], ref))
            ratios.append(r["whole_s"] / b["whole_s"] if b else float("nan"))
        print(f"{r['minutes']:>4g}m {r['engine']:15} {r['mode']:15} {r['whole_s'] / r['duration']:6.3f} "
              f"{ratios[0]:6.2f} {ratios[1]:6.2f} {r['decode_resample_s']:7.2f} {r['vad_s']:6.2f} {r['model_s']:7.1f} "
              f"{r['whole_s']:7.1f} {r['segments']:5d} {r['peak_rss_mb']:7.0f}")
    for minutes in a.minutes:
        for engine in a.engines:
            novad, vad = done.get((minutes, engine, "pipeline-novad")), done.get((minutes, engine, "pipeline"))
            if novad and vad:
                print(f"{minutes:g} min {engine}: VAD saves {100 * (1 - vad['whole_s'] / novad['whole_s']):.0f}% "
                      f"of the time")
        for mode in ("pipeline", "bare-vad", "bare"):
            fw, ow = done.get((minutes, "faster-whisper", mode)), done.get((minutes, "openai-whisper", mode))
            if fw and ow:
                print(f"{minutes:g} min: faster-whisper int8 is {ow['whole_s'] / fw['whole_s']:.2f}x "
                      f"openai-whisper ({mode})")

if __name__ == "__main__":
    main()
