"""WebVTT in and out: `<v Speaker>` voice tags carry the speaker label.

Parsing returns raw cues; `callreview.transcribe.imports` validates them into a `Transcript` the same way it
validates the JSON sidecar, so both formats are held to one set of rules.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass

from callreview.transcribe.errors import TranscriptImportError
from callreview.transcribe.segments import Transcript

_TIMING = re.compile(
    r"^(?P<start>(?:\d+:)?\d{1,2}:\d{2}\.\d{1,3})\s+-->\s+(?P<end>(?:\d+:)?\d{1,2}:\d{2}\.\d{1,3})(?:\s+.*)?$")
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?\s+([^>]*)>(.*?)(?:</v>|(?=<v[\s.])|$)", re.DOTALL)
_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class Cue:
    """One timed piece of text as written in the file (speaker as written, not yet validated)."""

    start: float
    end: float
    speaker: str | None
    text: str
    line: int


def parse_vtt(text: str, *, source: str = "<vtt>") -> tuple[str | None, list[Cue]]:
    """Split WebVTT text into cues.

    Args:
        text: the whole file.
        source: the file name, for error messages.

    Returns:
        (language from a `Language:` header line or None, cues in file order). A cue whose text holds
        several voice spans gives one `Cue` per span, with the cue's times.

    Raises:
        TranscriptImportError: no WEBVTT header, or a timing line that cannot be read.
    """
    lines = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if not lines or not lines[0].startswith("WEBVTT"):
        raise TranscriptImportError(source, "not a WebVTT file (first line must start with WEBVTT)")
    language = None
    i = 1
    while i < len(lines) and lines[i].strip():
        key, _, value = lines[i].partition(":")
        if key.strip().lower() == "language" and value.strip():
            language = value.strip()
        i += 1
    cues: list[Cue] = []
    for block_start, block in _blocks(lines, i):
        first = block[0].strip()
        if first.startswith(("NOTE", "STYLE", "REGION")):
            continue
        timing_at = 0 if "-->" in first else 1
        if timing_at >= len(block) or "-->" not in block[timing_at]:
            raise TranscriptImportError(source, f"line {block_start + 1}: cue without a timing line")
        m = _TIMING.match(block[timing_at].strip())
        if not m:
            raise TranscriptImportError(
                source, f"line {block_start + timing_at + 1}: cannot read cue timing {block[timing_at].strip()!r}")
        start, end = _seconds(m["start"]), _seconds(m["end"])
        body = "\n".join(block[timing_at + 1:])
        for speaker, words in _voice_spans(body):
            cues.append(Cue(start=start, end=end, speaker=speaker, text=words,
                            line=block_start + timing_at + 1))
    return language, cues


def write_vtt(transcript: Transcript) -> str:
    """Render a transcript as WebVTT with one `<v speaker>` cue per segment.

    Flagged segments are preceded by a NOTE naming the flags, so a reader of the file sees which
    stretches Whisper may have invented; gaps (audio not decoded) are written as NOTEs too.
    """
    out = ["WEBVTT", f"Language: {transcript.language}", ""]
    notes = [(g.start, f"NOTE gap {cue_stamp(g.start)} to {cue_stamp(g.end)}: {g.reason}"
                       + (f" (channel {g.channel})" if g.channel is not None else "")) for g in transcript.gaps]
    items: list[tuple[float, int, str]] = [(start, 0, note) for start, note in notes]
    for n, seg in enumerate(transcript.segments, 1):
        cue = []
        if seg.flags:
            cue.append(f"NOTE flagged: {', '.join(seg.flags)}\n")
        cue.append(f"{n}\n{cue_stamp(seg.start)} --> {cue_stamp(seg.end)}\n<v {seg.speaker}>{_escape(seg.text.strip())}</v>")
        items.append((seg.start, 1, "\n".join(cue)))
    items.sort(key=lambda it: (it[0], it[1]))
    out.extend(block + "\n" for _, _, block in items)
    return "\n".join(out)


def _blocks(lines: list[str], i: int):
    block: list[str] = []
    start = i
    for n in range(i, len(lines)):
        if lines[n].strip():
            if not block:
                start = n
            block.append(lines[n])
        elif block:
            yield start, block
            block = []
    if block:
        yield start, block


def _voice_spans(body: str) -> list[tuple[str | None, str]]:
    spans = [(m.group(1).strip(), m.group(2)) for m in _VOICE.finditer(body)]
    if not spans:
        spans = [(None, body)]
    return [(speaker, _plain(words)) for speaker, words in spans if _plain(words) or speaker]


def _plain(text: str) -> str:
    return " ".join(html.unescape(_TAG.sub("", text)).split())


def _seconds(stamp: str) -> float:
    parts = stamp.split(":")
    seconds = float(parts[-1])
    minutes = int(parts[-2])
    hours = int(parts[-3]) if len(parts) == 3 else 0
    # Rounded to the millisecond the format carries, so 76.21 reads back as 76.21.
    return round(hours * 3600 + minutes * 60 + seconds, 3)


def cue_stamp(seconds: float, decimal: str = ".") -> str:
    """A cue time, `00:01:16.210`; SRT writes the same with a comma before the milliseconds."""
    ms = int(round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{decimal}{ms:03d}"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
