"""Qualifier scope: which trigger phrases (if any) reach a mention, ConText style (Harkema et al. 2009).

For one segment, `SegmentScope` finds every trigger once (dropping those inside pseudo-triggers) and
knows where clauses end. `qualify` then takes a mention's span and returns the qualifier of the nearest
trigger whose scope covers it:
- a forward trigger reaches mentions after it, a backward one mentions before it, `both` either way;
- never across a terminator (sentence end, "but", ...; a comma too for `stop_at_comma` triggers);
- never more than `window` words away;
- a trigger that lies inside the mention's own text is part of the mention ("she's not moving");
- historical triggers do not reach across words that mark the incident at hand ("just", "right now").
Ties go to the rules file's qualifier priority.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from callreview.core.rules import Rules, Trigger

_WORD = re.compile(r"[\w']+")
_COMMA = re.compile(r",|\u2014|--")
_CLAUSE_PUNCT = re.compile(r"[.!?;:,\u2014-]\s*$")
_QUESTION = re.compile(r"[^.!?]*\?")
# Sentences that end in "?" but are requests or wh-questions, not doubt about a fact.
_NOT_A_DOUBT = re.compile(
    r"^\W*(?:(?:and|so|okay|ok|alright|well|now|then|but)\W+)*"
    r"(?:can|could|would|will|won'?t|can'?t|may|why|what|what'?s|which|who|whose|where|where'?s|when|how|even|so you)\b", re.I)
_DOUBT_KINDS = frozenset({"crime", "emergency", "criminal_warrant", "warrant"})


@dataclass(frozen=True)
class _Hit:
    trigger: Trigger
    start: int
    end: int


class SegmentScope:
    """Everything about one segment's text that qualifier scope needs, computed once."""

    def __init__(self, text: str, rules: Rules):
        self.text = text
        self.rules = rules
        self.word_starts = [m.start() for m in _WORD.finditer(text)]
        self.terminators = [m.start() for m in rules.terminators.finditer(text)]
        self.commas = [m.start() for m in _COMMA.finditer(text)]
        self.present = [(m.start(), m.end()) for m in rules.present_markers.finditer(text)]
        pseudo = [(m.start(), m.end()) for p in rules.pseudo_triggers for m in p.finditer(text)]
        hits = []
        for trig in rules.triggers:
            for m in trig.pattern.finditer(text):
                if any(ps <= m.start() and m.end() <= pe for ps, pe in pseudo):
                    continue
                if trig.clause_start and not self._at_clause_start(m.start()):
                    continue
                hits.append(_Hit(trig, m.start(), m.end()))
        self.hits = hits
        self.questions = [(m.start(), m.end()) for m in _QUESTION.finditer(text)
                          if not _NOT_A_DOUBT.match(m.group(0))]

    def _at_clause_start(self, pos: int) -> bool:
        before = self.text[:pos].rstrip()
        if not before or _CLAUSE_PUNCT.search(before):
            return True
        words = _WORD.findall(before)
        return bool(words) and self.rules.clause_openers.fullmatch(words[-1]) is not None

    def words_between(self, a: int, b: int) -> int:
        """Number of words starting in [a, b)."""
        return sum(1 for s in self.word_starts if a <= s < b)

    def _blocked(self, a: int, b: int, trig: Trigger) -> bool:
        if not trig.ignore_terminators and any(a <= t < b for t in self.terminators):
            return True
        if trig.stop_at_comma and any(a <= c < b for c in self.commas):
            return True
        if trig.qualifier == "historical" and any(a <= s and e <= b for s, e in self.present):
            return True
        return False

    def qualify(self, start: int, end: int, kind: str) -> str | None:
        """The qualifier for a mention of `kind` spanning text[start:end], or None when it counts."""
        return self.qualify_with(start, end, kind)[0]

    def qualify_with(self, start: int, end: int, kind: str) -> tuple[str | None, Trigger | None]:
        """The qualifier and the trigger that gave it (None for a question's doubt, or when it counts)."""
        best: tuple[int, int, Trigger] | None = None
        priority = self.rules.qualifier_priority
        for hit in self.hits:
            trig = hit.trigger
            if kind not in trig.kinds:
                continue
            if hit.start < end and start < hit.end:  # the trigger is part of the mention itself
                continue
            distance = None
            if hit.end <= start and trig.direction in ("forward", "both"):
                if not self._blocked(hit.end, start, trig):
                    distance = self.words_between(hit.end, start)
            elif end <= hit.start and trig.direction in ("backward", "both"):
                if not self._blocked(end, hit.start, trig):
                    distance = self.words_between(end, hit.start)
            if distance is None or distance > trig.window:
                continue
            rank = (distance, priority.index(trig.qualifier))
            if best is None or rank < best[:2]:
                best = (*rank, trig)
        if best is not None:
            return best[2].qualifier, best[2]
        if kind in _DOUBT_KINDS and any(qs <= start and end <= qe for qs, qe in self.questions):
            return "hypothetical", None  # "He pointed it at you?"
        return None, None
