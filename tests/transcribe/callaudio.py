"""Real audio made on the fly for transcribe tests (stdlib `wave`, sox, espeak-ng)."""
from __future__ import annotations

import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest


def write_wav(path: Path, channels: list[np.ndarray], rate: int) -> Path:
    """Write 16-bit PCM from float arrays in [-1, 1], one per channel (all the same length)."""
    frames = np.stack([np.clip(c, -1, 1) for c in channels], axis=1)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(len(channels))
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((frames * 32767).astype("<i2").tobytes())
    return path


def tone(seconds: float, rate: int, freq: float = 440.0, level: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (level * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def silence(seconds: float, rate: int) -> np.ndarray:
    return np.zeros(int(seconds * rate), dtype=np.float32)


def speak(text: str, path: Path, rate: int = 8000, voice: str = "en-us") -> np.ndarray:
    """Render speech with espeak-ng, resampled by sox to `rate`; returns float samples."""
    raw = path.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-v", voice, "-s", "160", "-w", str(raw), text], check=True, capture_output=True)
    # -D: no dither, so the same text gives the same samples on every run and a test decodes the same audio.
    subprocess.run(["sox", "-D", str(raw), "-r", str(rate), "-c", "1", "-b", "16", str(path)], check=True,
                   capture_output=True)
    with wave.open(str(path)) as w:
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return data.astype(np.float32) / 32768


needs_tools = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("ffmpeg", "sox", "espeak-ng")), reason="needs ffmpeg, sox and espeak-ng")

