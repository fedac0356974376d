"""callreview.transcribe.vad: the speech stretches faster-whisper's silero VAD finds, computed in bounded memory."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from callaudio import needs_tools, speak
from callreview.transcribe.audio import SAMPLE_RATE
from callreview.transcribe.vad import detect_speech, loud_frames, speech_stretches


def _faster_whisper_spans(samples, threshold, min_silence_s, padding_s):
    """The stretches faster-whisper's own `get_speech_timestamps` gives, cut to the audio as `detect_speech` cuts."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(threshold=threshold, min_silence_duration_ms=int(min_silence_s * 1000),
                         speech_pad_ms=int(padding_s * 1000), min_speech_duration_ms=250)
    spans = [(int(s["start"]), min(int(s["end"]), len(samples)))
             for s in get_speech_timestamps(samples, options, sampling_rate=SAMPLE_RATE)]
    return [(s, e) for s, e in spans if e > s]


@pytest.fixture(scope="module")
def speech16k(tmp_path_factory) -> np.ndarray:
    folder = tmp_path_factory.mktemp("vad")
    return speak("The warrant is for receiving stolen property, and he is at the back door.", folder / "s.wav",
                 rate=SAMPLE_RATE)


def _call(speech: np.ndarray, n_samples: int, seed: int) -> np.ndarray:
    """Speech at random levels, pauses of random length and line noise, repeated up to `n_samples`."""
    rng = np.random.default_rng(seed)
    parts, have = [], 0
    while have < n_samples:
        for part in (speech * rng.uniform(0.2, 1.0), np.zeros(rng.integers(100, 40_000)),
                     rng.standard_normal(rng.integers(100, 20_000)) * rng.choice([0.002, 0.03])):
            parts.append(part.astype(np.float32))
            have += len(part)
    return np.concatenate(parts)[:n_samples]


@needs_tools
@pytest.mark.parametrize("n_samples, threshold, min_silence_s, padding_s", [
    (512 * 5, 0.5, 1.0, 0.4),             # a few frames
    (512 * 1000, 0.5, 1.0, 0.4),          # exactly one batch of frames, and a whole number of frames
    (512 * 1000 + 1, 0.3, 0.5, 0.2),      # one sample into the next batch
    (512 * 2500 - 7, 0.7, 2.0, 0.0),      # several batches, the last one part-filled
    (SAMPLE_RATE * 200, 0.5, 0.1, 1.0),   # short pauses split speech, wide padding joins it
])
def test_speech_stretches_are_the_ones_faster_whisper_finds(speech16k, n_samples, threshold, min_silence_s,
                                                            padding_s):
    # Transcripts must not change: these stretches are what the engine decodes.
    samples = _call(speech16k, n_samples, seed=n_samples)
    ours = detect_speech(samples, threshold=threshold, min_silence_s=min_silence_s, padding_s=padding_s)
    assert ours == _faster_whisper_spans(samples, threshold, min_silence_s, padding_s)
    if n_samples > 512 * 1000:
        assert len(ours) > 1


@needs_tools
def test_each_stretch_says_where_inside_its_padding_speech_was_heard(speech16k):
    samples = _call(speech16k, SAMPLE_RATE * 120, seed=3)
    stretches = speech_stretches(samples, padding_s=0.8)
    assert [(s.start, s.end) for s in stretches] == detect_speech(samples, padding_s=0.8)
    assert len(stretches) > 1
    pad = int(0.8 * SAMPLE_RATE)
    for s in stretches:
        assert s.start <= s.voiced_start < s.voiced_end <= s.end
        # what lies between is padding: 0.8 s, or less where the audio or the next stretch is closer
        assert s.voiced_start - s.start <= pad and s.end - s.voiced_end <= pad
    # padding cut short by neither the file's edges nor a close neighbour is the whole 0.8 s
    assert any(s.voiced_start - s.start == pad for s in stretches)
    # without padding, the heard speech is the stretch
    assert all((s.start, s.end) == (s.voiced_start, s.voiced_end) for s in speech_stretches(samples, padding_s=0.0))


def test_digital_silence_is_no_speech():
    assert detect_speech(np.zeros(SAMPLE_RATE * 60, np.float32)) == []
    assert detect_speech(np.zeros(0, np.float32)) == []


def _tones(seconds: float, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Steady sounds a line carries besides voices, each with faint hiss: a hold beep (one second on, one
    off), a dial tone (350 + 440 Hz), a DTMF digit held, and a two-note hold melody."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    sounds = {"beep": 0.4 * np.sin(2 * np.pi * 440 * t) * ((t % 2) < 1),
              "dial tone": 0.2 * (np.sin(2 * np.pi * 350 * t) + np.sin(2 * np.pi * 440 * t)),
              "dtmf": 0.2 * (np.sin(2 * np.pi * 697 * t) + np.sin(2 * np.pi * 1209 * t)),
              "melody": 0.3 * np.sin(2 * np.pi * np.where((t % 0.5) < 0.25, 440, 523) * t) * ((t % 4) < 3)}
    return {name: (x + rng.normal(0, 0.003, len(t))).astype(np.float32) for name, x in sounds.items()}


def test_steady_tones_are_not_speech_however_loud():
    for name, samples in _tones(20, np.random.default_rng(1)).items():
        assert not loud_frames(samples, 10.0).any(), name
        assert detect_speech(samples, floor_margin_db=10.0) == [], name


@needs_tools
def test_line_noise_is_the_floor_and_a_voice_above_it_is_loud(speech16k):
    rng = np.random.default_rng(2)
    noise = (rng.standard_normal(SAMPLE_RATE * 6) * 0.01).astype(np.float32)
    assert not loud_frames(noise, 10.0).any()
    at = SAMPLE_RATE * 2
    call = noise.copy()
    call[at:at + len(speech16k)] += speech16k[:len(call) - at]
    loud = loud_frames(call, 10.0)
    first, last = np.flatnonzero(loud)[[0, -1]]
    # the loud frames lie over the speech, and the noise on either side is not loud
    assert at // 512 - 1 <= first and last * 512 <= at + len(speech16k)
    assert loud.sum() * 512 > 0.5 * min(len(speech16k), len(call) - at)
    # 60 dB of margin is more than this voice stands above the noise
    assert not loud_frames(call, 60.0).any()


@pytest.mark.parametrize("floor_margin_db", [0.0, 10.0])
def test_a_ten_minute_window_is_scored_in_bounded_memory(floor_margin_db):
    # faster-whisper scores 320 s of frames per model call after copying the whole window twice (over
    # 80 MB of arrays for a 600 s window); a long recording is scored window after window, so this bounds
    # the memory of a call of any length. The noise's level steps every second, so that the loudness check
    # has loud stretches to judge.
    rng = np.random.default_rng(0)
    level = np.repeat(rng.choice([0.01, 0.3], 600), SAMPLE_RATE)
    samples = (rng.standard_normal(SAMPLE_RATE * 600) * level).astype(np.float32)
    detect_speech(samples[:SAMPLE_RATE])  # load the model before measuring
    if floor_margin_db:
        assert loud_frames(samples, floor_margin_db).mean() > 0.3
    tracemalloc.start()
    try:
        detect_speech(samples, floor_margin_db=floor_margin_db)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20, f"{peak:,} bytes of arrays at the peak"
