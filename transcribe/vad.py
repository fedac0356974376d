"""Voice activity detection (silero, the model file faster-whisper ships) before decoding.

Silence, hold tones and line noise are not decoded at all: that is faster, and Whisper cannot invent text
for audio it never sees. What was skipped is returned as gaps, in true file time, so reviewers see it.
"""
from __future__ import annotations

import numpy as np

from transcribe.audio import SAMPLE_RATE
from transcribe.segments import Gap

# Below this peak level (about -80 dBFS) there is nothing to run the model on.
_DIGITAL_SILENCE = 1e-4
# Speech shorter than this is a click or a breath, not a word.
_MIN_SPEECH_MS = 250


def detect_speech(samples: np.ndarray, *, threshold: float = 0.5, min_silence_s: float = 1.0,
                  padding_s: float = 0.4) -> list[tuple[int, int]]:
    """Find the stretches of speech in 16 kHz mono samples.

    Args:
        samples: float32 audio at 16 kHz.
        threshold: silero speech probability above which a 32 ms frame counts as speech.
        min_silence_s: pauses shorter than this do not split speech.
        padding_s: audio kept on each side of detected speech.

    Returns:
        (start, end) sample indices of each speech stretch, in order, not overlapping.
    """
    if len(samples) == 0 or float(np.max(np.abs(samples))) < _DIGITAL_SILENCE:
        return []
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(threshold=threshold, min_silence_duration_ms=int(min_silence_s * 1000),
                         speech_pad_ms=int(padding_s * 1000), min_speech_duration_ms=_MIN_SPEECH_MS)
    spans = [(int(s["start"]), min(int(s["end"]), len(samples)))
             for s in get_speech_timestamps(samples, options, sampling_rate=SAMPLE_RATE)]
    return [(s, e) for s, e in spans if e > s]


def find_gaps(spans: list[tuple[int, int]], total: int, *, offset: float = 0.0,
              channel: int | None = None, min_gap_s: float = 0.1) -> list[Gap]:
    """The stretches of [0, total) samples not covered by `spans`, as gaps in seconds from the file start."""
    gaps, at = [], 0
    for start, end in list(spans) + [(total, total)]:
        if (start - at) / SAMPLE_RATE >= min_gap_s:
            gaps.append(Gap(start=round(offset + at / SAMPLE_RATE, 3), end=round(offset + start / SAMPLE_RATE, 3),
                            channel=channel))
        at = max(at, end)
    return gaps
