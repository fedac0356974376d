"""Cutting joined speech into chunks that Whisper decodes each on its own, in one window.

Whisper reads 30 seconds at a time. Given a longer stretch, it decodes window after window and, with
timestamps on, ends a window wherever it believes the rest is silence, skipping ahead: on telephone audio
that drops whole sentences at the joints of the speech stretches. A chunk of at most one window, decoded
whole and without timestamp tokens, cannot be skipped through; word times then come from alignment.
"""
from __future__ import annotations

import numpy as np

from callreview.transcribe.audio import SAMPLE_RATE

# A little under Whisper's 30-second window: its feature extractor drops the last frame.
MAX_CHUNK_S = 29.5
# A stretch longer than a chunk is cut at its quietest moment, measured over frames this long ...
_FRAME_S = 0.1
# ... looked for in the last part of each chunk, so that no chunk comes out short.
_SEARCH_FROM = 2 / 3


def speech_chunks(speech: np.ndarray, joints: list[int], max_s: float = MAX_CHUNK_S) -> list[tuple[int, int]]:
    """(start, end) sample ranges that cover `speech` in order, each at most `max_s` long.

    Args:
        speech: 16 kHz samples of speech stretches joined end to end.
        joints: where one stretch ends and the next begins, in samples (the natural places to cut).
        max_s: the longest chunk, in seconds.

    Consecutive stretches share a chunk while they fit; a chunk ends at a joint whenever one falls within
    it. A single stretch longer than a chunk is cut at the quietest frame of the last third of the chunk,
    where a pause between words is likeliest.
    """
    limit = int(max_s * SAMPLE_RATE)
    total = len(speech)
    cuts = sorted({j for j in joints if 0 < j < total})
    chunks: list[tuple[int, int]] = []
    start = 0
    while start < total:
        if total - start <= limit:
            chunks.append((start, total))
            break
        inside = [j for j in cuts if start < j <= start + limit]
        end = inside[-1] if inside else _quietest(speech, start + int(limit * _SEARCH_FROM), start + limit)
        chunks.append((start, end))
        start = end
    return chunks


def _quietest(samples: np.ndarray, lo: int, hi: int) -> int:
    """The start of the quietest `_FRAME_S` frame in samples[lo:hi] (its middle, so neither side clips a word)."""
    frame = int(_FRAME_S * SAMPLE_RATE)
    n = (hi - lo) // frame
    if n < 1:
        return hi
    energy = np.square(samples[lo:lo + n * frame].astype(np.float64)).reshape(n, frame).sum(axis=1)
    return lo + int(np.argmin(energy)) * frame + frame // 2
