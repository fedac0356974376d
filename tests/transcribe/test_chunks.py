"""Chunks of joined speech: each at most one Whisper window, cut at joints first, else at a pause."""
from __future__ import annotations

import numpy as np
import pytest

from callreview.transcribe.audio import SAMPLE_RATE
from callreview.transcribe.chunks import MAX_CHUNK_S, speech_chunks

SR = SAMPLE_RATE


def _tone(seconds: float, level: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (level * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def _covers(chunks, total):
    assert chunks[0][0] == 0 and chunks[-1][1] == total
    assert all(a < b for a, b in chunks)
    assert all(chunks[i][1] == chunks[i + 1][0] for i in range(len(chunks) - 1))
    assert all(b - a <= int(MAX_CHUNK_S * SR) for a, b in chunks)


def test_short_speech_is_one_chunk():
    speech = _tone(12)
    assert speech_chunks(speech, [4 * SR, 8 * SR]) == [(0, len(speech))]


def test_empty_speech_has_no_chunk():
    assert speech_chunks(np.zeros(0, np.float32), []) == []


def test_stretches_share_a_chunk_while_they_fit_and_chunks_end_at_joints():
    # ten stretches of 8 s: three fit in 29.5 s, so every chunk ends at a joint, three stretches each
    speech = _tone(80)
    joints = [i * 8 * SR for i in range(1, 10)]
    chunks = speech_chunks(speech, joints)
    _covers(chunks, len(speech))
    assert [b for _, b in chunks[:-1]] == [24 * SR, 48 * SR, 72 * SR]


def test_a_stretch_longer_than_a_window_is_cut_at_its_quietest_moment():
    # 70 s of unbroken speech with one short pause at 25 s and one at 50 s: the cuts land in them
    speech = _tone(70)
    for at in (25.0, 50.0):
        speech[int(at * SR):int((at + 0.25) * SR)] = 0.0
    chunks = speech_chunks(speech, [])
    _covers(chunks, len(speech))
    assert len(chunks) == 3
    for (_, end), pause in zip(chunks, (25.0, 50.0)):
        assert pause * SR <= end <= (pause + 0.25) * SR


def test_a_stretch_without_a_pause_is_still_cut_within_a_window():
    speech = _tone(65)
    chunks = speech_chunks(speech, [])
    _covers(chunks, len(speech))
    # no chunk comes out short: the cut is looked for in the last third of the window
    assert all(b - a >= int(MAX_CHUNK_S * SR * 2 / 3) for a, b in chunks[:-1])


@pytest.mark.parametrize("seed", range(20))
def test_random_stretches_are_covered_in_order(seed):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(int(0.3 * SR), int(45 * SR), size=rng.integers(1, 12))
    speech = (rng.standard_normal(int(lengths.sum())) * 0.1).astype(np.float32)
    joints = list(np.cumsum(lengths)[:-1])
    chunks = speech_chunks(speech, joints)
    _covers(chunks, len(speech))
    # a chunk never ends inside a stretch when a joint lay within its reach
    for a, b in chunks[:-1]:
        if any(a < j <= a + int(MAX_CHUNK_S * SR) for j in joints):
            assert b in joints
