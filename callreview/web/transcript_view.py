"""How a transcript is laid out on the call page: segments and gaps in time order, tags as highlights.

Pure functions over the dicts of `callreview.service.call_detail`; the templates only loop over what these return.
"""
from __future__ import annotations

from dataclasses import dataclass, field

# Why a segment is greyed, in reviewers' words; unknown flags are shown as they are.
FLAG_TEXT = {
    "no_speech": "probably no speech here: Whisper may have invented this text",
    "repetition": "repeats earlier text, a common transcription error",
    "known_phantom": "a phrase speech recognition is known to invent",
    "prompt_echo": "repeats the vocabulary prompt given to speech recognition, not the audio",
    "low_confidence": "low confidence: listen to the audio",
    "uncertain_language": "speech recognition could not tell that anyone on this call speaks English: "
                          "the words may be invented, listen to the audio",
}
GAP_TEXT = {
    "no_voice_detected": "no voice detected; this stretch was not transcribed",
}
QUALIFIER_TEXT = {
    "negated": "negated: does not count",
    "hypothetical": "hypothetical: does not count",
    "historical": "historical: does not count",
    "refused": "officer restating policy: does not count",
}


@dataclass(frozen=True)
class Piece:
    """A run of segment text covered by the same tags; `ends` are tags whose span ends here."""

    text: str
    tags: tuple[dict, ...] = ()
    ends: tuple[dict, ...] = ()


@dataclass
class SegmentView:
    segment: dict
    pieces: list[Piece]
    unplaced: list[dict] = field(default_factory=list)  # tags whose span no longer fits the text
    flags_text: list[str] = field(default_factory=list)


def tag_label(tag: dict) -> str:
    """`door_knock`, `emergency (negated)` for a qualified mention, `unsure: may be a door knock` for a doubt."""
    if tag.get("label"):
        return tag["label"]
    return tag["kind"] + (f" ({tag['qualifier']})" if tag.get("qualifier") else "")


def doubt_marks(detail: dict) -> list[dict]:
    """The doubts an `uncertain_evidence` verdict hinges on, as highlights of kind `unsure`."""
    marks = []
    for d in (detail.get("assessment") or {}).get("doubts", []):
        kind = d["kind"].replace("_", " ")
        reading = f"may be {kind}" if d["reading"] == "may_count" else f"may not be {kind}"
        marks.append({"kind": "unsure", "qualifier": None, "segment": d["segment"], "char_start": d["char_start"],
                      "char_end": d["char_end"], "text": d["text"], "label": f"unsure: {reading}"})
    return marks


def _fits(text: str, tag: dict) -> bool:
    start, end = tag["char_start"], tag["char_end"]
    return 0 <= start < end <= len(text)


def segment_pieces(text: str, tags: list[dict]) -> tuple[list[Piece], list[dict]]:
    """Split `text` at every tag boundary; return the pieces and the tags whose span does not fit.

    Overlapping tags are allowed: a piece lists every tag that covers it.
    """
    placed = [t for t in tags if _fits(text, t)]
    unplaced = [t for t in tags if not _fits(text, t)]
    cuts = sorted({0, len(text), *(t["char_start"] for t in placed), *(t["char_end"] for t in placed)})
    pieces = []
    for start, end in zip(cuts, cuts[1:]):
        covering = tuple(t for t in placed if t["char_start"] <= start and end <= t["char_end"])
        ending = tuple(t for t in placed if t["char_end"] == end)
        pieces.append(Piece(text=text[start:end], tags=covering, ends=ending))
    return pieces, unplaced


def transcript_timeline(detail: dict) -> list[tuple[str, object]]:
    """Segments (as SegmentView) and gaps in time order, as ("segment", view) / ("gap", gap) pairs."""
    transcript = detail.get("transcript") or {}
    by_segment: dict[int, list[dict]] = {}
    for tag in [*detail.get("tags", []), *doubt_marks(detail)]:
        by_segment.setdefault(tag["segment"], []).append(tag)
    entries: list[tuple[float, int, str, object]] = []
    for seg in transcript.get("segments", []):
        pieces, unplaced = segment_pieces(seg["text"], by_segment.get(seg["index"], []))
        view = SegmentView(segment=seg, pieces=pieces, unplaced=unplaced,
                           flags_text=[FLAG_TEXT.get(f, f) for f in seg.get("flags", [])])
        entries.append((seg["start"], 1, "segment", view))
    for gap in transcript.get("gaps", []):
        entries.append((gap["start"], 0, "gap", {**gap, "text": GAP_TEXT.get(gap["reason"], gap["reason"])}))
    return [(kind, item) for _, _, kind, item in sorted(entries, key=lambda e: (e[0], e[1]))]


def transcript_findings(detail: dict) -> dict[str, dict[str, list[dict]]]:
    """What the transcript shows, per tag kind: counted mentions and mentions that do not count."""
    findings: dict[str, dict[str, list[dict]]] = {}
    for tag in detail.get("tags", []):
        slot = findings.setdefault(tag["kind"], {"counted": [], "qualified": []})
        slot["qualified" if tag.get("qualifier") else "counted"].append(tag)
    return dict(sorted(findings.items()))
