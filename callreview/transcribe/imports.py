"""Existing transcripts (vendor or human) used instead of Whisper: `<stem>.transcript.json` or `<stem>.vtt`.

An imported transcript is evidence too, so it is validated rather than repaired: segments out of order,
overlapping within one speaker, or with an unknown speaker are refused with a message naming the file.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

from callreview.transcribe.errors import TranscriptImportError
from callreview.transcribe.segments import SPEAKERS, Segment, Transcript
from callreview.transcribe.vtt import parse_vtt

JSON_SUFFIX = ".transcript.json"
VTT_SUFFIX = ".vtt"
# Used when a sidecar does not say its language: ISO 639-2 "undetermined", rather than a guess.
UNDETERMINED_LANGUAGE = "und"
# Times are written with a few decimals; allow rounding noise when checking order and overlap.
_EPSILON = 1e-6


def find_transcript_sidecar(recording: str | Path) -> Path | None:
    """Return the transcript sidecar beside a recording, if there is one.

    Args:
        recording: the recording's path (`inbox/CR-0412.wav`).

    Returns:
        `inbox/CR-0412.transcript.json` if it exists, else `inbox/CR-0412.vtt` if it exists, else None.
        JSON wins when both exist, because it is the richer format.
    """
    recording = Path(recording)
    for suffix in (JSON_SUFFIX, VTT_SUFFIX):
        candidate = recording.with_name(recording.stem + suffix)
        if candidate.is_file():
            return candidate
    return None


def read_transcript(path: str | Path) -> Transcript:
    """Read and validate a transcript sidecar (JSON or WebVTT, chosen by the file name).

    Args:
        path: a `.transcript.json` (`{"language", "segments": [{"start", "end", "speaker", "text"}]}`)
            or `.vtt` (`<v speaker>` voice tags give the speaker) file.

    Returns:
        A `Transcript` with `imported=True` and `engine="import"`.

    Raises:
        TranscriptImportError: unreadable file, bad JSON, or a segment that breaks the rules (times not
            numbers, end before start, unknown speaker, out of order, overlapping within a speaker).
    """
    path = Path(path)
    try:
        # utf-8-sig: Windows tools start UTF-8 files with a byte-order mark, which json.loads refuses.
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise TranscriptImportError(path, "file not found") from None
    except UnicodeDecodeError:
        raise TranscriptImportError(path, "not UTF-8 text") from None
    if path.suffix.lower() == VTT_SUFFIX:
        language, cues = parse_vtt(text, source=str(path))
        raw = [{"start": c.start, "end": c.end, "speaker": c.speaker, "text": c.text, "_where": f"cue at line {c.line}"}
               for c in cues]
        fmt = "vtt"
    else:
        language, raw = _parse_json(path, text)
        fmt = "json"
    segments = tuple(_segment(path, n, item) for n, item in enumerate(raw))
    _check_order(path, segments, raw)
    return Transcript(language=language or UNDETERMINED_LANGUAGE, segments=segments, engine="import",
                      model=fmt, imported=True)


def _parse_json(path: Path, text: str) -> tuple[str | None, list[dict]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise TranscriptImportError(path, f"not valid JSON ({e.msg} at line {e.lineno})") from None
    if not isinstance(data, dict):
        raise TranscriptImportError(path, 'expected a JSON object with "language" and "segments"')
    language = data.get("language")
    if language is not None and not (isinstance(language, str) and language.strip()):
        raise TranscriptImportError(path, f'"language" must be a language code, got {language!r}')
    segments = data.get("segments")
    if not isinstance(segments, list):
        raise TranscriptImportError(path, '"segments" must be a list')
    for n, item in enumerate(segments):
        if not isinstance(item, dict):
            raise TranscriptImportError(path, f"segment {n}: expected an object, got {type(item).__name__}")
    return language, [{**item, "_where": f"segment {n}"} for n, item in enumerate(segments)]


def _segment(path: Path, n: int, item: dict) -> Segment:
    where = item["_where"]
    times = []
    for key in ("start", "end"):
        value = item.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise TranscriptImportError(path, f'{where}: "{key}" must be a number of seconds, got {value!r}')
        if value < 0:
            raise TranscriptImportError(path, f'{where}: "{key}" must not be negative, got {value!r}')
        times.append(float(value))
    start, end = times
    if end < start:
        raise TranscriptImportError(path, f"{where}: ends at {end:g} s, before it starts at {start:g} s")
    speaker = item.get("speaker")
    speaker = "unknown" if speaker is None else speaker
    if not isinstance(speaker, str) or speaker.strip().lower() not in SPEAKERS:
        raise TranscriptImportError(
            path, f"{where}: speaker {speaker!r} is not one of {', '.join(SPEAKERS)}")
    text = item.get("text", "")
    if not isinstance(text, str):
        raise TranscriptImportError(path, f'{where}: "text" must be a string, got {type(text).__name__}')
    return Segment(start=start, end=end, text=text.strip(), speaker=speaker.strip().lower())


def _check_order(path: Path, segments: tuple[Segment, ...], raw: list[dict]) -> None:
    last_end: dict[str, tuple[float, str]] = {}
    for n, seg in enumerate(segments):
        where = raw[n]["_where"]
        if n and seg.start < segments[n - 1].start - _EPSILON:
            raise TranscriptImportError(
                path, f"{where}: starts at {seg.start:g} s, before the previous one "
                      f"({segments[n - 1].start:g} s); segments must be in time order")
        if seg.speaker in last_end and seg.start < last_end[seg.speaker][0] - _EPSILON:
            prev_end, prev_where = last_end[seg.speaker]
            raise TranscriptImportError(
                path, f"{where}: starts at {seg.start:g} s, overlapping {prev_where} of the same speaker "
                      f"({seg.speaker}), which ends at {prev_end:g} s")
        last_end[seg.speaker] = (seg.end, where)
