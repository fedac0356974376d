"""callreview.transcribe.vad: the speech stretches faster-whisper's silero VAD finds, computed in bounded memory."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from callaudio import needs_tools, speak
from callreview.transcribe.audio import SAMPLE_RATE
from callreview.transcribe.vad import detect_speech, speech_stretches


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


def test_a_ten_minute_window_is_scored_in_bounded_memory():
    # faster-whisper scores 320 s of frames per model call after copying the whole window twice (over
    # 80 MB of arrays for a 600 s window); a long recording is scored window after window, so this bounds
    # the memory of a call of any length.
    samples = (np.random.default_rng(0).standard_normal(SAMPLE_RATE * 600) * 0.1).astype(np.float32)
    detect_speech(samples[:SAMPLE_RATE])  # load the model before measuring
    tracemalloc.start()
    try:
        detect_speech(samples)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20, f"{peak:,} bytes of arrays at the peak"
