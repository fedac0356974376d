"""Tag kinds, qualifiers, the Mention record (one mention in the transcript, with its evidence) and the
Doubt record (evidence the tagger reads only weakly, which a person should look at when it decides)."""
from __future__ import annotations

from dataclasses import asdict, dataclass

KINDS = ("criminal_warrant", "immigration_warrant", "crime", "emergency", "door_knock")
BASIS_KINDS = ("criminal_warrant", "crime", "emergency")
QUALIFIERS = ("negated", "hypothetical", "historical", "refused")


@dataclass(frozen=True)
class Mention:
    """A tag: one mention of a kind in one segment.

    `char_start`/`char_end` index into the segment's text; `qualifier` is None when the mention counts.
    `weak` says why this reading is unsure (a rule or qualifier trigger the rules file marks weak, a
    warrant whose kind was inferred), or is None when the reading is firm.
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
    weak: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


# A doubt's two readings: evidence that does not count now but may (a likely door knock no rule names, a
# danger qualified only by a weak trigger), or a counted mention that may not count.
MAY_COUNT, MAY_NOT_COUNT = "may_count", "may_not_count"


@dataclass(frozen=True)
class Doubt:
    """Evidence read only weakly: the words, where they are, the kind they may (or may not) be, and why.

    DESIGN.md: "where the verdict would otherwise be consistent but hinges on evidence the tagger reads only
    weakly ... -> uncertain_evidence". Whether a doubt decides the verdict is the policy's question.
    """

    kind: str
    reading: str  # MAY_COUNT or MAY_NOT_COUNT
    segment: int
    speaker: str
    start: float
    end: float
    char_start: int
    char_end: int
    text: str
    rule: str
    why: str

    def to_dict(self) -> dict:
        return asdict(self)


def counted_kinds(mentions: list[Mention]) -> list[str]:
    """Kinds with at least one unqualified mention, sorted (DESIGN.md: a kind is counted ...)."""
    return sorted({m.kind for m in mentions if m.qualifier is None})
