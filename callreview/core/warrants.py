"""Warrant resolution: giving "a warrant" the kind the call reveals for it, and retiring dead warrants.

DESIGN.md: "The call may say 'a warrant' first and reveal its kind later: then it is whatever it turns out
to be." The tagger marks such mentions with the provisional kind `warrant`; this module, which sees the
whole call, decides, in this order:
1. a doubted, denied or past warrant ("any warrants on him?", "no warrants on your side", "he had a warrant
   in Texas, got served years ago") is about a criminal warrant: that is the only kind the police ask about
   or that lives on a record, and it does not count either way;
2. otherwise it takes the kind of the call's typed, counted warrant mentions (an I-200, a detainer, a felony
   warrant); when the call has both kinds, the nearest one in the call;
3. when the call only says the warrant is not criminal ("it's not a court warrant"), it is immigration paper,
   and when it only says it is not immigration paper ("not an immigration warrant"), it is criminal;
4. otherwise the kind cannot be told and the mention is dropped rather than guessed.
Then a criminal warrant that the call later finds served, closed or inactive ("there's nothing active on
him") is `historical`, unless a counted criminal warrant is mentioned after that finding.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from callreview.core.mentions import Mention
from callreview.core.rules import Rules

GENERIC = "warrant"
INFERRED = "The kind of this warrant is not said; it was inferred from the rest of the call."
_TYPED = ("criminal_warrant", "immigration_warrant")


def resolve_warrants(mentions: list[Mention], texts: Sequence[str | None], rules: Rules) -> list[Mention]:
    """Resolve provisional `warrant` mentions and retire warrants the call finds inactive.

    Args:
        mentions: the call's mentions in transcript order, some of kind `warrant`.
        texts: each segment's text, or None for a segment left out of tagging.
        rules: the compiled rules (for the "no longer active" vocabulary).

    Returns:
        Mentions with only DESIGN.md kinds, in transcript order.
    """
    typed = [m for m in mentions if m.kind in _TYPED and m.qualifier is None]
    denied = {m.kind for m in mentions if m.kind in _TYPED and m.qualifier == "negated"}
    resolved: list[Mention] = []
    for m in mentions:
        if m.kind != GENERIC:
            resolved.append(m)
            continue
        kind, inferred = _kind_for(m, typed, denied)
        if kind is not None:
            resolved.append(replace(m, kind=kind, weak=INFERRED if inferred and m.qualifier is None else m.weak))
    return _retire_inactive(resolved, texts, rules)


def _kind_for(m: Mention, typed: list[Mention], denied: set[str]) -> tuple[str | None, bool]:
    """The kind for a provisional warrant, and whether it was inferred rather than read (a person checks
    an inferred kind when the verdict rests on it)."""
    if m.qualifier in ("negated", "hypothetical", "historical"):
        return "criminal_warrant", False
    kinds = {t.kind for t in typed}
    if len(kinds) == 1:
        return kinds.pop(), False
    if kinds:
        # Both kinds in the call: the nearest typed mention, preferring the one that follows (the reveal).
        nearest = min(typed, key=lambda t: (abs(t.segment - m.segment), t.segment < m.segment,
                                            abs(t.char_start - m.char_start)))
        return nearest.kind, True
    if len(denied) == 1:  # the call rules out one kind only: "a warrant" is the other
        return ("immigration_warrant" if "criminal_warrant" in denied else "criminal_warrant"), True
    return None, False


def last_inactive_finding(texts: Sequence[str | None], rules: Rules) -> tuple[int, int, str] | None:
    """Where the call last finds a criminal warrant served or inactive: (segment, offset, the words), or None.

    `texts` holds each segment's text, None for a segment left out of tagging.
    """
    findings = [(i, m.start(), m.group(0)) for i, text in enumerate(texts) if text
                for m in rules.resolution.inactive.finditer(text)]
    return max(findings) if findings else None


def _retire_inactive(mentions: list[Mention], texts: Sequence[str | None], rules: Rules) -> list[Mention]:
    finding = last_inactive_finding(texts, rules)
    if finding is None:
        return mentions
    last_finding = finding[:2]
    live_after = any(m.kind == "criminal_warrant" and m.qualifier is None
                     and (m.segment, m.char_start) > last_finding for m in mentions)
    if live_after:
        return mentions
    return [replace(m, qualifier="historical", weak=None)
            if m.kind == "criminal_warrant" and m.qualifier is None and (m.segment, m.char_start) < last_finding
            else m for m in mentions]
