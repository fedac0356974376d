"""Join the pieces of one sentence that Whisper cut into several segments.

Whisper ends a segment wherever it emits a timestamp, often mid-sentence ("someone is shooting" | "at us
from the second floor"), most of all at the end of its 30-second windows. Tagging reads one segment at a
time, so a request or a warrant split in two is missed. A segment that does not end a sentence is joined
with the next one of the same channel when that follows straight on; every word keeps its own time.
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable

from callreview.transcribe.segments import Segment

# Pieces of one sentence follow each other with no pause (Whisper's timeline is contiguous); a longer pause
# is a new turn even without a full stop.
MAX_PAUSE_S = 0.6
# A segment grows no longer than this: very long text makes reading and tagging slow.
MAX_JOINED_S = 60.0
_SENTENCE_END = re.compile(r"[.?!…][\"')\]]*$")


def join_fragments(segments: Iterable[Segment]) -> list[Segment]:
    """Segments in time order with sentence fragments of the same channel joined.

    Only segments with the same flags are joined, so a suspect piece never hides inside a clean one.
    """
    out: list[Segment] = []
    last_of_channel: dict[object, int] = {}
    for seg in segments:
        key = (seg.channel, seg.speaker)
        i = last_of_channel.get(key)
        if i is not None and _continues(out[i], seg):
            out[i] = _join(out[i], seg)
            continue
        last_of_channel[key] = len(out)
        out.append(seg)
    return out


def ends_sentence(text: str) -> bool:
    """Whether `text` ends with a full stop, question or exclamation mark (closing quotes allowed)."""
    return bool(_SENTENCE_END.search(text.strip()))


def _continues(prev: Segment, seg: Segment) -> bool:
    return (bool(prev.text) and bool(seg.text) and not ends_sentence(prev.text)
            and prev.flags == seg.flags and 0 <= seg.start - prev.end <= MAX_PAUSE_S
            and seg.end - prev.start <= MAX_JOINED_S)


def _join(a: Segment, b: Segment) -> Segment:
    da, db = max(a.end - a.start, 1e-3), max(b.end - b.start, 1e-3)
    return dataclasses.replace(
        a, end=max(a.end, b.end), text=f"{a.text.rstrip()} {b.text.lstrip()}", words=a.words + b.words,
        # The joined segment is as sure as its parts, weighed by their length; as suspect as the worst part.
        avg_logprob=_weighted(a.avg_logprob, b.avg_logprob, da, db),
        no_speech_prob=_worst(a.no_speech_prob, b.no_speech_prob),
        compression_ratio=_worst(a.compression_ratio, b.compression_ratio))


def _weighted(x: float | None, y: float | None, wx: float, wy: float) -> float | None:
    if x is None or y is None:
        return x if y is None else y
    return (x * wx + y * wy) / (wx + wy)


def _worst(x: float | None, y: float | None) -> float | None:
    return max(v for v in (x, y) if v is not None) if (x is not None or y is not None) else None
