"""Tag kinds, qualifiers, the Mention record (one mention in the transcript, with its evidence) and the
Doubt record (evidence the tagger reads only weakly, which a person should look at when it decides)."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from callreview.core.vocabulary import BASIS_KINDS, Kind, Qualifier

KINDS = tuple(Kind)
QUALIFIERS = tuple(Qualifier)
__all__ = ["BASIS_KINDS", "KINDS", "QUALIFIERS", "Evidence", "Mention", "Doubt", "MAY_COUNT", "MAY_NOT_COUNT",
           "counted_kinds"]


@dataclass(frozen=True)
class Evidence:
    """Words in the transcript and where they are: `char_start`/`char_end` index into the segment's text,
    `start`/`end` are seconds in the recording; `rule` is what found them."""

    kind: str
    segment: int
    speaker: str
    start: float
    end: float
    char_start: int
    char_end: int
    text: str
    rule: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Mention(Evidence):
    """A tag: one mention of a kind in one segment; `qualifier` is None when the mention counts.

    `weak` says why this reading is unsure (a rule or qualifier trigger the rules file marks weak, a
    warrant whose kind was inferred), or is None when the reading is firm.
    """

    qualifier: str | None = None
    weak: str | None = None


# A doubt's two readings: evidence that does not count now but may (a likely door knock no rule names, a
# danger qualified only by a weak trigger), or a counted mention that may not count.
MAY_COUNT, MAY_NOT_COUNT = "may_count", "may_not_count"


@dataclass(frozen=True)
class Doubt(Evidence):
    """Evidence read only weakly: the kind it may (or may not) be, and why, in reviewers' words.

    DESIGN.md: "where the verdict would otherwise be consistent but hinges on evidence the tagger reads only
    weakly ... -> uncertain_evidence". Whether a doubt decides the verdict is the policy's question.
    """

    reading: str = MAY_COUNT  # or MAY_NOT_COUNT
    why: str = ""


def counted_kinds(mentions: list[Mention]) -> list[str]:
    """Kinds with at least one unqualified mention, sorted (DESIGN.md: a kind is counted ...)."""
    return sorted({m.kind for m in mentions if m.qualifier is None})
