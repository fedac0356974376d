"""Voice activity detection (silero, the model file faster-whisper ships) before decoding.

Silence, hold tones and line noise are not decoded at all: that is faster, and Whisper cannot invent text
for audio it never sees. What was skipped is returned as gaps, in true file time, so reviewers see it.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from callreview.transcribe.audio import SAMPLE_RATE
from callreview.transcribe.segments import Gap

# Below this peak level (about -80 dBFS) there is nothing to run the model on.
_DIGITAL_SILENCE = 1e-4
# Speech shorter than this is a click or a breath, not a word.
_MIN_SPEECH_MS = 250


# Silero scores frames of 512 samples (32 ms at 16 kHz), each seen with the 64 samples before it.
_FRAME = 512
_CONTEXT = 64
# Frames scored per model call. faster-whisper's own wrapper scores 10,000 (320 s) per call after copying the
# whole window twice, ~200 MB at the peak for a 600 s window; 1,000 frames take a tenth of that and give the
# same probabilities, bit for bit, because the LSTM state is handed from one call to the next.
_BATCH_FRAMES = 1000


class Stretch(NamedTuple):
    """One stretch of speech, in sample indices: what is decoded, and inside it where speech was heard."""
    start: int
    end: int
    voiced_start: int
    voiced_end: int


def detect_speech(samples: np.ndarray, *, threshold: float = 0.5, min_silence_s: float = 1.0,
                  padding_s: float = 0.4) -> list[tuple[int, int]]:
    """Find the stretches of speech in 16 kHz mono samples.

    The result is what faster-whisper's `get_speech_timestamps` gives for the same options (its algorithm,
    from silero-vad, with no maximum speech length), computed in bounded memory.

    Args:
        samples: float32 audio at 16 kHz.
        threshold: silero speech probability above which a 32 ms frame counts as speech.
        min_silence_s: pauses shorter than this do not split speech.
        padding_s: audio kept on each side of detected speech.

    Returns:
        (start, end) sample indices of each speech stretch, padding included, in order, not overlapping.
    """
    return [(s.start, s.end) for s in speech_stretches(samples, threshold=threshold, min_silence_s=min_silence_s,
                                                       padding_s=padding_s)]


def speech_stretches(samples: np.ndarray, *, threshold: float = 0.5, min_silence_s: float = 1.0,
                     padding_s: float = 0.4) -> list[Stretch]:
    """`detect_speech`'s stretches, each with the part of it where speech was heard (the padding left out).

    Whisper times a word next to silence poorly: with padding before a sentence, it often puts the first
    word at the start of the padding. The voiced bounds let the engine keep word times near the speech.
    """
    # The peak level from max and min: np.abs would make a copy of the whole window.
    if len(samples) == 0 or max(float(samples.max()), -float(samples.min())) < _DIGITAL_SILENCE:
        return []
    stretches = []
    for start, end, heard_start, heard_end in _speech_spans(
            speech_probabilities(samples), len(samples), threshold=threshold,
            min_silence_ms=int(min_silence_s * 1000), padding_ms=int(padding_s * 1000)):
        end = min(end, len(samples))
        if end > start:  # padding only widens, so the speech heard lies inside once the end is cut
            stretches.append(Stretch(start, end, max(heard_start, start), min(heard_end, end)))
    return stretches


def speech_probabilities(samples: np.ndarray) -> np.ndarray:
    """Silero's speech probability for every 512-sample frame of `samples`, in batches of `_BATCH_FRAMES`.

    The frames are laid out exactly as faster-whisper's `SileroVADModel` lays them out: the audio is padded
    with zeros to whole frames plus at least one sample (a whole frame of zeros when it already fills whole
    frames), the last 64 samples of the last frame are zeroed, and the first frame sees zeros before it.
    """
    from faster_whisper.vad import get_vad_model

    session = get_vad_model().session
    n_frames = len(samples) // _FRAME + 1
    probs = np.empty(n_frames, dtype=np.float32)
    h = np.zeros((1, 1, 128), dtype=np.float32)
    c = np.zeros((1, 1, 128), dtype=np.float32)
    before = np.zeros(_CONTEXT, dtype=np.float32)
    for first in range(0, n_frames, _BATCH_FRAMES):
        count = min(_BATCH_FRAMES, n_frames - first)
        frames = np.zeros(count * _FRAME, dtype=np.float32)
        chunk = samples[first * _FRAME:(first + count) * _FRAME]
        frames[:len(chunk)] = chunk
        frames = frames.reshape(count, _FRAME)
        if first + count == n_frames:
            frames[-1, -_CONTEXT:] = 0
        rows = np.empty((count, _CONTEXT + _FRAME), dtype=np.float32)
        rows[:, _CONTEXT:] = frames
        rows[0, :_CONTEXT] = before
        rows[1:, :_CONTEXT] = frames[:-1, -_CONTEXT:]
        before = frames[-1, -_CONTEXT:].copy()
        out, h, c = session.run(None, {"input": rows, "h": h, "c": c})
        probs[first:first + count] = out.reshape(-1)
    return probs


def _speech_spans(probs: np.ndarray, n_samples: int, *, threshold: float, min_silence_ms: int,
                  padding_ms: int) -> list[tuple[int, int, int, int]]:
    """Frame probabilities to padded speech stretches: faster-whisper 1.2.1's `get_speech_timestamps` (MIT)
    with `max_speech_duration_s` left infinite, its arithmetic kept as it is so that the stretches match.
    Each is (start, end, voiced start, voiced end): the padded stretch, then the speech before padding."""
    min_speech = SAMPLE_RATE * _MIN_SPEECH_MS / 1000
    min_silence = SAMPLE_RATE * min_silence_ms / 1000
    pad = SAMPLE_RATE * padding_ms / 1000
    # faster-whisper compares float32 probabilities with the thresholds in float32 (NumPy 2 promotion).
    neg_threshold = float(np.float32(max(threshold - 0.15, 0.01)))
    threshold = float(np.float32(threshold))
    speeches: list[list] = []
    triggered, start, temp_end = False, 0, 0
    for i, prob in enumerate(probs.tolist()):
        at = _FRAME * i
        if prob >= threshold and temp_end:
            temp_end = 0
        if prob >= threshold and not triggered:
            triggered, start = True, at
            continue
        if prob < neg_threshold and triggered:
            if not temp_end:
                temp_end = at
            if at - temp_end < min_silence:
                continue
            if temp_end - start > min_speech:
                speeches.append([start, temp_end])
            triggered, temp_end = False, 0
    if triggered and n_samples - start > min_speech:
        speeches.append([start, n_samples])
    voiced = [tuple(speech) for speech in speeches]
    for i, speech in enumerate(speeches):
        if i == 0:
            speech[0] = int(max(0, speech[0] - pad))
        if i != len(speeches) - 1:
            silence = speeches[i + 1][0] - speech[1]
            if silence < 2 * pad:
                speech[1] += int(silence // 2)
                speeches[i + 1][0] = int(max(0, speeches[i + 1][0] - silence // 2))
            else:
                speech[1] = int(min(n_samples, speech[1] + pad))
                speeches[i + 1][0] = int(max(0, speeches[i + 1][0] - pad))
        else:
            speech[1] = int(min(n_samples, speech[1] + pad))
    return [(int(s), int(e), int(vs), int(ve)) for (s, e), (vs, ve) in zip(speeches, voiced)]


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
