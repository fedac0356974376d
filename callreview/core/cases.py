"""Evaluation case files (shared/eval/README.md): reading one into the shapes the review layer uses.

A case file is `{call_id, log, transcript, expected}`. Reading it never looks at `expected`: that is for
scoring only (`read_expected`), so an assessment cannot peek at the answer.
"""
from __future__ import annotations

import json
from pathlib import Path

from callreview.core.decisions import DecisionLog, parse_decision_log
from callreview.core.errors import InvalidCase, InvalidDecisionLog
from callreview.transcribe.segments import SPEAKERS, Segment

_NUMBER_FIELDS = ("avg_logprob", "no_speech_prob", "compression_ratio")


def load_case_json(path: Path) -> dict:
    """The decoded case file, or InvalidCase naming the file."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidCase(str(path), f"cannot read the case file ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise InvalidCase(str(path), "not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise InvalidCase(str(path), f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(data, dict):
        raise InvalidCase(str(path), f"a case must be a JSON object, got {type(data).__name__}")
    return data


def read_case(path: str | Path) -> tuple[DecisionLog | None, list[Segment], str | None]:
    """Read a case file's logged decision and transcript.

    Args:
        path: a case file in the shared/eval format.

    Returns:
        (the decision log or None when none was logged, the segments in order, the transcript language).

    Raises:
        InvalidCase: naming the file and the offending field.
    """
    path = Path(path)
    return parse_case(load_case_json(path), str(path))


def parse_case(data: dict, source: str) -> tuple[DecisionLog | None, list[Segment], str | None]:
    """`read_case` for an already-decoded case object."""
    if "transcript" not in data:
        raise InvalidCase(source, 'missing "transcript"')
    if "log" not in data:
        raise InvalidCase(source, 'missing "log" (use null when no decision was logged)')
    log = None
    if data["log"] is not None:
        try:
            log = parse_decision_log(data["log"], f"{source}: log")
        except InvalidDecisionLog as exc:
            raise InvalidCase(source, f"log: {exc.problem}") from None
    transcript = data["transcript"]
    if not isinstance(transcript, dict):
        raise InvalidCase(source, '"transcript" must be an object with "language" and "segments"')
    language = transcript.get("language")
    if language is not None and not isinstance(language, str):
        raise InvalidCase(source, f'"transcript.language" must be a string, got {json.dumps(language)}')
    raw = transcript.get("segments")
    if not isinstance(raw, list):
        raise InvalidCase(source, '"transcript.segments" must be a list')
    return log, [_segment(item, i, source) for i, item in enumerate(raw)], language


def read_expected(path: str | Path) -> dict:
    """The `expected` block of a case file, for scoring."""
    data = load_case_json(Path(path))
    expected = data.get("expected")
    if not isinstance(expected, dict):
        raise InvalidCase(str(path), 'missing "expected" (needed to score this case)')
    return expected


def _segment(item: object, i: int, source: str) -> Segment:
    where = f"transcript.segments[{i}]"
    if not isinstance(item, dict):
        raise InvalidCase(source, f"{where} must be an object")
    text = item.get("text")
    if not isinstance(text, str):
        raise InvalidCase(source, f'{where}.text must be a string, got {json.dumps(text)}')
    times = []
    for name in ("start", "end"):
        value = item.get(name)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise InvalidCase(source, f"{where}.{name} must be seconds (a number >= 0), got {json.dumps(value)}")
        times.append(float(value))
    if times[1] < times[0]:
        raise InvalidCase(source, f"{where} ends ({times[1]}) before it starts ({times[0]})")
    speaker = item.get("speaker", "unknown") or "unknown"
    if speaker not in SPEAKERS:
        raise InvalidCase(source, f'{where}.speaker must be one of {", ".join(SPEAKERS)}, got {json.dumps(speaker)}')
    flags = item.get("flags") or []
    if not isinstance(flags, list) or not all(isinstance(f, str) for f in flags):
        raise InvalidCase(source, f"{where}.flags must be a list of strings")
    numbers = {k: float(item[k]) for k in _NUMBER_FIELDS if isinstance(item.get(k), (int, float))}
    return Segment(start=times[0], end=times[1], text=text, speaker=speaker, flags=tuple(flags), **numbers)
