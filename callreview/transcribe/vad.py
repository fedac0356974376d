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
# The loudness check (`loud_frames`): a channel's noise floor is the power its quietest tenth of frames
# stays under; a run of loud frames counts when its spectrum keeps changing, as a voice's does. Over 1,211
# runs of rendered speech, clean and through a telephone band, the median change between frames three apart
# (96 ms) was at least 0.13 for all but one run in a thousand; steady tones, a dial tone, a DTMF digit and
# a held chord stayed under 0.01.
_FLOOR_QUANTILE = 10
_MIN_CHANGE = 0.05
_CHANGE_LAG = 3
_MIN_LOUD_FRAMES = 4
# Loud runs closer than this many frames (320 ms: the dips between syllables and words) are judged together.
_JOIN_FRAMES = 10


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
                  padding_s: float = 0.4, floor_margin_db: float = 0.0) -> list[tuple[int, int]]:
    """Find the stretches of speech in 16 kHz mono samples.

    With `floor_margin_db` 0, the result is what faster-whisper's `get_speech_timestamps` gives for the same
    options (its algorithm, from silero-vad, with no maximum speech length), computed in bounded memory.

    Args:
        samples: float32 audio at 16 kHz.
        threshold: silero speech probability above which a 32 ms frame counts as speech.
        min_silence_s: pauses shorter than this do not split speech.
        padding_s: audio kept on each side of detected speech.
        floor_margin_db: above 0, a frame this many dB above the channel's noise floor counts as speech too,
            unless it is a steady tone (`loud_frames`).

    Returns:
        (start, end) sample indices of each speech stretch, padding included, in order, not overlapping.
    """
    return [(s.start, s.end) for s in speech_stretches(samples, threshold=threshold, min_silence_s=min_silence_s,
                                                       padding_s=padding_s, floor_margin_db=floor_margin_db)]


def speech_stretches(samples: np.ndarray, *, threshold: float = 0.5, min_silence_s: float = 1.0,
                     padding_s: float = 0.4, floor_margin_db: float = 0.0) -> list[Stretch]:
    """`detect_speech`'s stretches, each with the part of it where speech was heard (the padding left out).

    Whisper times a word next to silence poorly: with padding before a sentence, it often puts the first
    word at the start of the padding. The voiced bounds let the engine keep word times near the speech.
    """
    # The peak level from max and min: np.abs would make a copy of the whole window.
    if len(samples) == 0 or max(float(samples.max()), -float(samples.min())) < _DIGITAL_SILENCE:
        return []
    probs = speech_probabilities(samples)
    if floor_margin_db > 0:
        probs = np.maximum(probs, loud_frames(samples, floor_margin_db))
    stretches = []
    for start, end, heard_start, heard_end in _speech_spans(
            probs, len(samples), threshold=threshold,
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
        frames = _frames(samples, first, count)
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


def loud_frames(samples: np.ndarray, margin_db: float) -> np.ndarray:
    """1.0 for each 512-sample frame (laid out as `speech_probabilities` lays them out) that is `margin_db`
    above the channel's own noise floor, inside a run of such frames whose spectrum keeps changing; else 0.

    Silero hears a voice by its low frequencies. A telephone band cuts everything under 300 Hz, and on the
    dev calls through it (bench/asr.py's phone20) silero's probabilities fell to almost nothing on some
    voices: one officer's side of a call, five minutes long, was never decoded. Loudness above the line's
    own noise tells speech from line noise without the low frequencies. A hold tone is loud too, but steady,
    and Whisper invents words on tones, so a run whose spectrum hardly changes is left out.
    """
    n_frames = len(samples) // _FRAME + 1
    power = np.zeros(n_frames)
    for first in range(0, n_frames, _BATCH_FRAMES):  # in batches, as the probabilities are, for bounded memory
        frames = _frames(samples, first, min(_BATCH_FRAMES, n_frames - first))
        power[first:first + len(frames)] = np.mean(frames.astype(np.float64) ** 2, axis=1)
    live = power[power > _DIGITAL_SILENCE ** 2]
    loud_out = np.zeros(n_frames, dtype=np.float32)
    if len(live) == 0:
        return loud_out
    floor = float(np.percentile(live, _FLOOR_QUANTILE))
    loud = power > floor * 10 ** (margin_db / 10)
    for start, end in _joined_runs(loud):
        if end - start >= _MIN_LOUD_FRAMES and _spectrum_changes(samples, start, end):
            loud_out[start:end] = loud[start:end]
    return loud_out


def _joined_runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of each run of True frames, runs less than `_JOIN_FRAMES` apart joined into one."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], flags.astype(np.int8), [0]])))
    runs: list[tuple[int, int]] = []
    for start, end in zip(edges[::2].tolist(), edges[1::2].tolist()):
        if runs and start - runs[-1][1] < _JOIN_FRAMES:
            runs[-1] = (runs[-1][0], end)
        else:
            runs.append((start, end))
    return runs


def _frames(samples: np.ndarray, first: int, count: int) -> np.ndarray:
    """Frames first .. first + count - 1 as a (count, 512) array, zero-padded past the end of the audio."""
    frames = np.zeros(count * _FRAME, dtype=np.float32)
    chunk = samples[first * _FRAME:(first + count) * _FRAME]
    frames[:len(chunk)] = chunk
    return frames.reshape(count, _FRAME)


def _spectrum_changes(samples: np.ndarray, start: int, end: int) -> bool:
    """Whether frames start .. end - 1 sound like a voice rather than a tone: the median change of their
    magnitude spectrum (1 - cosine similarity) between frames `_CHANGE_LAG` apart is at least `_MIN_CHANGE`."""
    lag = min(_CHANGE_LAG, end - start - 1)
    window = np.hanning(_FRAME)
    changes = []
    for first in range(start + lag, end, _BATCH_FRAMES):
        last = min(first + _BATCH_FRAMES, end)
        mags = np.abs(np.fft.rfft(_frames(samples, first - lag, last - first + lag) * window, axis=1))
        mags /= np.linalg.norm(mags, axis=1, keepdims=True) + 1e-20
        changes.append(1 - np.sum(mags[lag:] * mags[:-lag], axis=1))
    return float(np.median(np.concatenate(changes))) >= _MIN_CHANGE


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
