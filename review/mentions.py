"""Tag kinds, qualifiers and the Mention record: one mention in the transcript, with its evidence."""
from __future__ import annotations

from dataclasses import asdict, dataclass

KINDS = ("criminal_warrant", "immigration_warrant", "crime", "emergency", "door_knock")
BASIS_KINDS = ("criminal_warrant", "crime", "emergency")
QUALIFIERS = ("negated", "hypothetical", "historical", "refused")


@dataclass(frozen=True)
class Mention:
    """A tag: one mention of a kind in one segment.

    `char_start`/`char_end` index into the segment's text; `qualifier` is None when the mention counts.
    """

    kind: str
    segment: int
    speaker: str
    start: float
    end: float
    char_start: int
    char_end: int
    text: str
    rule: str
    qualifier: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def counted_kinds(mentions: list[Mention]) -> list[str]:
    """Kinds with at least one unqualified mention, sorted (DESIGN.md: a kind is counted ...)."""
    return sorted({m.kind for m in mentions if m.qualifier is None})
