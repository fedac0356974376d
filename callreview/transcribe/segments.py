"""The plain shapes a transcript is made of, shared by the engines, the importers and everything above."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

SPEAKERS = ("officer", "ice", "dispatcher", "other", "unknown")


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    text: str
    probability: float | None = None


@dataclass(frozen=True)
class Segment:
    """One stretch of speech by one speaker, times in seconds from the start of the original recording.

    `flags` holds the reasons a segment is suspect (e.g. "no_speech", "repetition", "known_phantom",
    "low_confidence"). A flagged segment is kept and shown, but left out of tagging.
    """

    start: float
    end: float
    text: str
    speaker: str = "unknown"
    avg_logprob: float | None = None
    no_speech_prob: float | None = None
    compression_ratio: float | None = None
    words: tuple[Word, ...] = ()
    flags: tuple[str, ...] = ()
    channel: int | None = None

    @property
    def confidence(self) -> float | None:
        """exp(avg_logprob): a 0..1 figure reviewers can read; None for imported text."""
        if self.avg_logprob is None:
            return None
        import math

        return math.exp(self.avg_logprob)


@dataclass(frozen=True)
class Gap:
    """A stretch of the recording that was not decoded (voice detection found no speech there)."""

    start: float
    end: float
    reason: str = "no_voice_detected"
    channel: int | None = None


@dataclass(frozen=True)
class Transcript:
    """What an engine or an importer produced for one recording."""

    language: str
    segments: tuple[Segment, ...]
    engine: str
    model: str = ""
    imported: bool = False
    gaps: tuple[Gap, ...] = field(default=())


class Decoded(NamedTuple):
    """What a backend decoded from one array of speech (segment times relative to that array)."""

    segments: list[Segment]
    language: str
    # Whisper's probability that the speech is English; None when it did not detect the language (a fixed
    # language, or an English-only model).
    english_probability: float | None = None


def placed_words(segment: Segment) -> list[tuple[int, int, Word]]:
    """Each word with its character span in the segment's text, found in order (words Whisper joined
    differently from the text are skipped, not guessed)."""
    placed, cursor, lowered = [], 0, segment.text.lower()
    for word in segment.words:
        token = word.text.strip().lower()
        if not token:
            continue
        at = lowered.find(token, cursor)
        if at < 0:
            continue
        placed.append((at, at + len(token), word))
        cursor = at + len(token)
    return placed
