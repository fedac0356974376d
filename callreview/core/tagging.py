"""The tagger: transcript segments in, mentions (tags with evidence and qualifiers) out.

For each segment that is not flagged as suspect, in this order:
1. run every mention rule of the rules file; each match is a candidate with its span and rule id;
2. drop candidates inside an exclusion ("where's your emergency?") and, for status-sensitive rules, near
   immigration-status words (illegal entry, re-entry and overstays are never a `crime`);
3. where candidates of one family overlap keep one (an I-200 over "warrant", a firm reading over a weak one,
   the longer span otherwise);
4. qualify each one by trigger scope (review/qualifiers.py), and mark policy lists ("a criminal warrant,
   a crime, or an emergency") as the officer restating policy;
Then, over the whole call, carry an old charge to later mentions of it in the same words, make a crime named
in answer to "what's the charge on the warrant?" that warrant's charge, drop what the officer asked about
when the caller's answer denies it, and resolve "a warrant" to the kind the call reveals (review/warrants.py).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Sequence

from callreview.core.mentions import Mention
from callreview.core.qualifiers import SegmentScope
from callreview.core.rules import Rules
from callreview.core.warrants import resolve_warrants
from callreview.transcribe.segments import Segment

_WORD = re.compile(r"[\w']+")
_SENTENCE_BREAK = re.compile(r"[.?!\u2026]")
# Overlapping candidates of one family: the lower rank wins.
_FAMILY = {"criminal_warrant": "warrant", "immigration_warrant": "warrant", "warrant": "warrant"}
_RANK = {"immigration_warrant": 0, "criminal_warrant": 1, "warrant": 2}
# Kinds whose past mention makes a later one in the same words past too (_carry_charge_history).
_CARRIED = ("crime", "criminal_warrant")


@dataclass(frozen=True)
class _Candidate:
    kind: str
    start: int
    end: int
    rule: str
    fixed: str | None
    status_sensitive: bool
    policy_listable: bool
    weak: str | None = None


def tag_transcript(segments: Sequence[Segment], rules: Rules) -> list[Mention]:
    """Tag a transcript.

    Args:
        segments: the call's segments in order; those with `flags` (suspected hallucination, low
            confidence) are left out of tagging.
        rules: compiled rules from `callreview.core.rules.load_rules`.

    Returns:
        Mentions in transcript order. `segment` indexes `segments`; `char_start`/`char_end` index that
        segment's text; `qualifier` is None when the mention counts.
    """
    texts: list[str | None] = [None if seg.flags else (seg.text or "") for seg in segments]
    mentions: list[Mention] = []
    for index, seg in enumerate(segments):
        text = texts[index]
        if not text:
            continue
        previous = [t for t in texts[max(0, index - rules.status_previous_segments):index] if t]
        candidates = _find_candidates(text, previous, rules)
        scope = SegmentScope(text, rules)
        qualified, weak = [], {}
        for c in candidates:
            qualifier, trigger = (c.fixed, None) if c.fixed else scope.qualify_with(c.start, c.end, c.kind)
            qualified.append((c, qualifier))
            weak[id(c)] = (qualifier, (trigger.weak if trigger else None) if qualifier else c.weak)
        qualified = _mark_policy_lists(text, qualified, rules)
        for c, qualifier in qualified:
            # a weak reading is weak only as long as it is the reading: a policy list overrides it
            first_reading, why = weak[id(c)]
            why = why if qualifier == first_reading else None
            if qualifier == "refused" and seg.speaker in rules.speaker_refusal.not_refused_by:
                qualifier = rules.speaker_refusal.instead
            mentions.append(Mention(
                kind=c.kind, segment=index, speaker=seg.speaker, start=seg.start, end=seg.end,
                char_start=c.start, char_end=c.end, text=text[c.start:c.end], rule=c.rule, qualifier=qualifier,
                weak=why))
    mentions = _carry_charge_history(mentions, texts, rules)
    mentions = _answer_to_charge_question(mentions, texts, rules)
    mentions = _denied_by_the_answer(mentions, segments, texts, rules)
    return resolve_warrants(mentions, texts, rules)


def _denied_by_the_answer(mentions: list[Mention], segments: Sequence[Segment], texts: Sequence[str | None],
                          rules: Rules) -> list[Mention]:
    """What the officer asked about or restated does not count when the caller's next turn flatly denies it
    ("Is anybody there a danger to your people?" "No, nobody else has done anything.").

    Only the last sentence of the officer's segment is answered, and only by the next segment, from someone
    else: "I'll send a car for the assault. Is anybody hurt?" "No." leaves the assault standing.
    """
    cfg = rules.answered_denial
    if cfg is None:
        return mentions
    asked_by = cfg.asked_by
    denied = {question for question, answer in exchanges(texts)
              if segments[question].speaker in asked_by and segments[answer].speaker not in asked_by
              and answer_opens_with(cfg.answer, texts[answer])}

    def in_last_sentence(m: Mention) -> bool:
        rest = (texts[m.segment] or "")[m.char_end:].rstrip(" \"')\u201d.?!\u2026")
        return not _SENTENCE_BREAK.search(rest)

    return [replace(m, qualifier="negated", weak=None)
            if m.qualifier is None and m.segment in denied and m.kind in cfg.kinds and in_last_sentence(m)
            else m for m in mentions]


def exchanges(texts: Sequence[str | None]) -> list[tuple[int, int]]:
    """(segment, the next one) for each pair of consecutive segments that are tagged (not flagged, not empty);
    `texts` holds None for a flagged segment."""
    tagged = [i for i, text in enumerate(texts) if text]
    return list(zip(tagged, tagged[1:]))


def answer_opens_with(answer: re.Pattern, text: str | None) -> bool:
    """Whether a turn starts with `answer` ("No, ..."), past the quotes and dashes transcripts open with."""
    return answer.match((text or "").lstrip(" \"'-\u2014")) is not None


def _answer_to_charge_question(mentions: list[Mention], texts: Sequence[str | None], rules: Rules) -> list[Mention]:
    """A crime named in the answer to "what's the charge on the warrant?" is that warrant's charge
    ("... its a burglary second degree"), not the incident at hand, unless the answer marks the present
    before it ("no, he just punched my partner").

    Whisper splits turns and drops punctuation, so the question is the nearest earlier non-empty segment.
    """
    question = rules.resolution.charge_question
    if question is None:
        return mentions
    answers = {answer for asked, answer in exchanges(texts) if question.search(texts[asked] or "")}

    def present_before(m: Mention) -> bool:
        return any(p.start() < m.char_end for p in rules.present_markers.finditer(texts[m.segment] or ""))

    return [replace(m, qualifier="historical", weak=None)
            if m.kind == "crime" and m.qualifier is None and m.segment in answers and not present_before(m)
            else m for m in mentions]


def _carry_charge_history(mentions: list[Mention], texts: Sequence[str | None], rules: Rules) -> list[Mention]:
    """A crime named again in the same words is the same old charge ("... criminal trespass, District Court."
    then "What was the trespass about?"), and a criminal warrant the same old warrant ("he had a felony
    warrant" then "Felony warrant, I'll send a car"), unless its segment marks the incident at hand ("right
    now").

    Only the exact noun carries over: "he has an assault conviction" must not make "he's assaulting her"
    historical.
    """
    past: set[tuple[str, str]] = set()
    out = []
    for m in mentions:
        key = (m.kind, m.text.lower())
        if m.kind in _CARRIED and m.qualifier == "historical":
            past.add(key)
        elif (m.kind in _CARRIED and m.qualifier is None and key in past
              and not rules.present_markers.search(texts[m.segment] or "")):
            m = replace(m, qualifier="historical", weak=None)
        out.append(m)
    return out


def _find_candidates(text: str, previous: list[str], rules: Rules) -> list[_Candidate]:
    excluded = [(ex.kinds, m.start(), m.end()) for ex in rules.exclusions for m in ex.pattern.finditer(text)]
    found = []
    for rule in rules.mention_rules:
        for m in rule.pattern.finditer(text):
            if m.end() == m.start():
                continue
            if any(rule.kind in kinds and s < m.end() and m.start() < e for kinds, s, e in excluded):
                continue
            if rule.status_sensitive and _near_status_words(text, m.start(), m.end(), previous, rules):
                continue
            found.append(_Candidate(rule.kind, m.start(), m.end(), rule.id, rule.qualifier,
                                    rule.status_sensitive, rule.id in rules.policy_list.rules, rule.weak))
    return _drop_overlaps(found)


def _near_status_words(text: str, start: int, end: int, previous: list[str], rules: Rules) -> bool:
    if any(rules.status_words.search(p) for p in previous):
        return True
    window = rules.status_window
    for m in rules.status_words.finditer(text):
        lo, hi = (m.end(), start) if m.end() <= start else (end, m.start())
        if hi < lo or len(_WORD.findall(text[lo:hi])) <= window:
            return True
    return False


def _drop_overlaps(found: list[_Candidate]) -> list[_Candidate]:
    """Keep one candidate per family where spans overlap: fixed qualifiers, then rank, then a firm reading
    over a weak one (in "a felony warrant signed by a judge" the felony decides, not the judge), then length."""
    def key(c: _Candidate):
        return (c.fixed is None, _RANK.get(c.kind, 0), c.weak is not None, -(c.end - c.start), c.start)

    kept: list[_Candidate] = []
    for c in sorted(found, key=key):
        family = _FAMILY.get(c.kind, c.kind)
        if any(_FAMILY.get(k.kind, k.kind) == family and k.start < c.end and c.start < k.end for k in kept):
            continue
        kept.append(c)
    return sorted(kept, key=lambda c: (c.start, c.end, c.kind))


def _mark_policy_lists(text: str, qualified: list[tuple[_Candidate, str | None]], rules: Rules):
    """Bases listed with "or" ("a criminal warrant, a crime, or an emergency") are policy, not reports."""
    policy = rules.policy_list
    listable = sorted((c for c, q in qualified if c.policy_listable and c.kind in policy.kinds),
                      key=lambda c: c.start)
    chains: list[list[_Candidate]] = []
    for c in listable:
        if chains:
            prev = chains[-1][-1]
            gap = text[prev.end:c.start]
            if c.start >= prev.end and len(_WORD.findall(gap)) <= policy.max_gap_words and not re.search(r"[.!?;]", gap):
                chains[-1].append(c)
                continue
        chains.append([c])
    in_policy: set[int] = set()
    for chain in chains:
        kinds = {c.kind for c in chain}
        between = text[chain[0].start:chain[-1].end]
        if len(kinds) >= 2 and policy.joiner.search(between):
            in_policy.update(id(c) for c in chain)
    # A listed basis is policy even where a warrant nearby made it look like a warrant's old charge.
    return [(c, "refused" if id(c) in in_policy and q in (None, "historical") else q) for c, q in qualified]
