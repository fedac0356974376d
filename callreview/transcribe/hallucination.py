"""Flag segments Whisper may have invented. Flag, never delete: the transcript is evidence.

A flagged segment stays in the transcript and is shown (greyed) to reviewers, but is left out of tagging.
Flags, in the order they are checked:
- `no_speech`: Whisper itself thinks the window held no speech (high no-speech probability and a low
  average log-probability, the same conjunction Whisper uses to skip a window);
- `repetition`: the text compresses too well (gzip ratio) or a short phrase repeats over and over, the
  classic decoder loop;
- `known_phantom`: the whole segment is a phrase Whisper is known to produce from silence ("thank you for
  watching", ...), learnt from subtitle files;
- `prompt_echo`: the segment repeats a long run of the initial prompt's words; Whisper sometimes reads its
  prompt back instead of the audio, and the prompt is full of the words the tagging rules look for;
- `low_confidence`: the average log-probability is below the threshold.
"""
from __future__ import annotations

import dataclasses
import functools
import re
import zlib
from collections.abc import Iterable

from callreview.transcribe.segments import Segment
from callreview.transcribe.settings import WhisperSettings

_WORD = re.compile(r"[\w'-]+")
_SPELLED = re.compile(r"[\w']+")
# zlib cannot shrink short text whatever it says, so its ratio is only read on longer segments.
_MIN_RATIO_CHARS = 40


def compression_ratio(text: str) -> float:
    """Bytes of text over bytes of its zlib compression: > 2.4 means heavily repetitive (Whisper's measure)."""
    raw = text.encode("utf-8")
    return len(raw) / len(zlib.compress(raw)) if raw else 0.0


def longest_repeat(text: str, max_phrase: int = 4) -> int:
    """How many times in a row the most-repeated phrase of 1..max_phrase words occurs.

    Hyphens separate words here: a decoder loop often spells ("T-R-T-R-T-R-...") and would otherwise be one word.
    """
    words = [w.lower() for w in _SPELLED.findall(text)]
    best = 1 if words else 0
    for size in range(1, max_phrase + 1):
        for start in range(size):
            run, prev = 1, None
            for i in range(start, len(words) - size + 1, size):
                gram = tuple(words[i:i + size])
                run = run + 1 if gram == prev else 1
                prev = gram
                best = max(best, run)
    return best


# Eight words in a row from the prompt do not happen in real speech by chance; four or five can
# ("an I-205 warrant, a detainer").
PROMPT_ECHO_WORDS = 8


def echoes(text: str, prompt: str, run: int = PROMPT_ECHO_WORDS) -> bool:
    """Whether `text` holds `run` consecutive words of `prompt` (case and punctuation ignored)."""
    said, grams = _normalise(text).split(), _runs_of(prompt, run)
    return any(tuple(said[i:i + run]) in grams for i in range(len(said) - run + 1))


@functools.lru_cache(maxsize=8)
def _runs_of(prompt: str, run: int) -> frozenset[tuple[str, ...]]:
    # One prompt serves every segment of every call: split it once.
    given = _normalise(prompt).split()
    return frozenset(tuple(given[i:i + run]) for i in range(len(given) - run + 1))


def is_loop(segment: Segment, settings: WhisperSettings) -> bool:
    """Whether the segment is a decoder loop: text that compresses too well, or a phrase repeated over and over."""
    # Whisper reports the ratio of its whole 30-second window, so one looping segment would condemn the real
    # speech beside it. A segment long enough to measure is judged by its own text; a short one (often a
    # scrap of the loop) by its window's.
    own = compression_ratio(segment.text) if len(segment.text) >= _MIN_RATIO_CHARS else None
    ratio = own if own is not None else (segment.compression_ratio or 0.0)
    return ratio > settings.compression_ratio_threshold or longest_repeat(segment.text) >= settings.repeat_threshold


def segment_flags(segment: Segment, settings: WhisperSettings) -> tuple[str, ...]:
    """The reasons one segment is suspect, in a fixed order; empty when it looks like real speech."""
    flags: list[str] = []
    low_logprob = segment.avg_logprob is not None and segment.avg_logprob < settings.logprob_threshold
    if segment.no_speech_prob is not None and segment.no_speech_prob > settings.no_speech_threshold and low_logprob:
        flags.append("no_speech")
    if is_loop(segment, settings):
        flags.append("repetition")
    if _normalise(segment.text) in {_normalise(p) for p in settings.phantom_phrases}:
        flags.append("known_phantom")
    if settings.initial_prompt and echoes(segment.text, settings.initial_prompt):
        flags.append("prompt_echo")
    if low_logprob:
        flags.append("low_confidence")
    return tuple(flags)


def flag_segments(segments: Iterable[Segment], settings: WhisperSettings) -> list[Segment]:
    """Return the segments with `flags` filled in (existing flags are kept, new ones appended)."""
    out = []
    for seg in segments:
        new = [f for f in segment_flags(seg, settings) if f not in seg.flags]
        out.append(dataclasses.replace(seg, flags=seg.flags + tuple(new)) if new else seg)
    return out


def _normalise(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))
