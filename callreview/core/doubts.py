"""Doubts: the evidence the tagger reads only weakly, gathered for the policy's `uncertain_evidence`.

In this order:
1. a mention with a `weak` reason is a doubt: a qualified one may count after all (a danger qualified
   only by a weak trigger); a counted one may not count, when nothing firm counts its kind too (a warrant
   whose kind was inferred);
2. each doubt rule of the rules file (`doubts:`) that matches words no mention of its kind covers, that
   no exclusion of its kind covers, and that no firm qualifier reaches, is a doubt that the words may count as that kind ("go up and ask for
   him by name" may be a door knock).
   A doubt rule with `reading: may_not_count` works the other way: a counted mention its words overlap may
   not count ("the felony warrant's on the brother": a warrant, but not the subject's), and with it every
   counted mention of its kind that names the same thing (shares a word), when that is all of them;
2b. a kind counted and then denied in a later turn, with nothing counting it after the denial ("We have a
   warrant for him" ... "So this is not a criminal warrant." "No."): the later turn may correct the
   earlier, so each counted mention before it may not count (rule `denied_later`);
2b'. a counted mention that reads back what another speaker said of its kind as past or denied ("He was
   picked up for assault in 2012." ... "A domestic assault. Alright."): a read-back carries no tense or
   denial of its own, so it may be the past or denied one said again (rule `qualified_elsewhere`);
2b''. a counted crime or emergency described before the officer asked whether anything is happening now
   and the caller's next turn denied it ("Is he doing anything right now?" "No, he's just standing in
   line."), with nothing counting the kind after the answer: it may be over (rule `present_denied`);
2c. a counted mention whose sentence reads like labelled sentences where its kind did not count (rule
   `near_uncounted`, the rules' `nearness` section; callreview.core.nearness);
2d. a sentence with no mention of a kind the rules' `nearness.missed` names, where no mention counts that
   kind, that reads like labelled sentences where it counted (rule `near_counted`): it may count;
3. a word of a mention's segment that Whisper heard with less than the rules' `min_word_probability`
   is a doubt about that mention (rule `low_confidence_word`): inside a counted mention it may not count;
   anywhere in the segment of a qualified one (where its trigger is) it may count after all.
Whether a doubt decides the verdict is `callreview.core.policy`'s question; nothing here changes a tag.
"""
from __future__ import annotations

import re
from dataclasses import replace
from typing import Sequence

from callreview.core.mentions import MAY_COUNT, MAY_NOT_COUNT, Doubt, Mention
from callreview.core.nearness import missed_doubts, nearness_doubts
from callreview.core.policy import UNSURE_WORD_RULE
from callreview.core.qualifiers import SegmentScope
from callreview.core.rules import Rules
from callreview.core.tagging import answer_opens_with, exchanges
from callreview.core.warrants import last_inactive_finding
from callreview.transcribe import embedding
from callreview.transcribe.segments import Segment, placed_words


def find_doubts(segments: Sequence[Segment], mentions: Sequence[Mention], rules: Rules,
                missed_kinds: Sequence[str] | None = None) -> list[Doubt]:
    """Every weakly read piece of evidence in a tagged call.

    Args:
        segments: the call's segments, as tagged (flagged ones are skipped, as in tagging).
        mentions: the tagger's mentions for those segments.
        rules: the compiled rules (weak rules and triggers, and the `doubts:` rules).
        missed_kinds: of the rules' `nearness.missed` kinds, those to look for (None: all of them); the
            assessment names only the kinds that could decide the verdict, as looking encodes every sentence.

    Returns:
        Doubts in transcript order, each with the words, their place and times, and why.
    """
    firm = {m.kind for m in mentions if m.qualifier is None and m.weak is None}
    doubts = [_from_mention(m, MAY_NOT_COUNT if m.qualifier is None else MAY_COUNT)
              for m in mentions if m.weak and (m.qualifier is not None or m.kind not in firm)]
    for index, seg in enumerate(segments):
        if seg.flags or not seg.text:
            continue
        doubts.extend(_rule_doubts(index, seg, [m for m in mentions if m.segment == index], rules))
    doubts.extend(overlapped(segments, mentions, rules))
    doubts.extend(denied_later(mentions))
    read_back = qualified_elsewhere(segments, mentions, rules.restated_qualifiers)
    if rules.restated_after_inactive:
        seen = {(d.segment, d.char_start, d.kind) for d in read_back}
        read_back += [d for d in restated_after_inactive(segments, mentions, rules)
                      if (d.segment, d.char_start, d.kind) not in seen]
    doubts.extend(read_back)
    if rules.present_denied is not None:
        doubts.extend(present_denied(segments, mentions, rules))
    near = rules.nearness
    if near is not None:
        missed = tuple(k for k in near.missed_kinds if missed_kinds is None or k in missed_kinds)
        if missed or any(m.qualifier is None for m in mentions):
            vectors = embedding.example_vectors([e.text for e in near.examples], near.digest)
            doubts.extend(nearness_doubts(segments, mentions, near, embedding.encode, vectors))
            doubts.extend(missed_doubts(segments, mentions, near, embedding.encode, vectors, missed))
    if rules.min_word_probability > 0:
        doubts.extend(unsure_words(segments, mentions, rules.min_word_probability))
    return sorted(doubts, key=lambda d: (d.segment, d.char_start, d.kind))


def overlapped(segments: Sequence[Segment], mentions: Sequence[Mention], rules: Rules) -> list[Doubt]:
    """Doubts from the `may_not_count` doubt rules: counted mentions their words overlap may not count.

    "One of the roommates, Dale Whitt, has an active felony warrant" names a warrant that is not for the
    person the call is about. Earlier words that name the same warrant ("he's got a felony warrant",
    retracted later: "scratch that, the felony warrant's on the brother") go with it; when some counted
    mention of the kind is neither overlapped nor the same, the kind counts whatever these words mean, and
    nothing is doubted.
    """
    counted = [m for m in mentions if m.qualifier is None]
    found: list[Doubt] = []
    for rule in (r for r in rules.doubt_rules if r.reading == MAY_NOT_COUNT):
        of_kind = [m for m in counted if m.kind == rule.kind]
        if not of_kind:
            continue
        # each segment that holds a mention of the kind is searched once
        spans = {i: [match.span() for match in rule.pattern.finditer(segments[i].text or "")]
                 for i in {m.segment for m in mentions if m.kind == rule.kind} if not segments[i].flags}
        # the words may overlap a mention that does not count ("no wait, his roommate has the felony warrant")
        # and still say whose the counted one is
        hit = [m for m in mentions if m.kind == rule.kind and
               any(start < m.char_end and m.char_start < end for start, end in spans.get(m.segment, ()))]
        if not hit:
            continue
        named = _stems(" ".join(m.text for m in hit)) - _KIND_NOUNS
        same = [m for m in of_kind if m in hit or _stems(m.text) & named]
        if len(same) < len(of_kind):
            continue
        found.extend(replace(_from_mention(m, MAY_NOT_COUNT), rule=rule.id, why=rule.why) for m in same)
    return found


# Words every mention of a kind may hold: sharing one says nothing about naming the same thing.
_KIND_NOUNS = frozenset({"warrant", "paper", "active", "the", "and", "his", "her"})

DENIED_LATER_RULE = "denied_later"


def denied_later(mentions: Sequence[Mention]) -> list[Doubt]:
    """Doubts for counted mentions of a kind that a later turn denies, when nothing counts it after that.

    Callers correct each other across turns ("What kind of warrant? From the court?" ... "So this is not
    a criminal warrant." "No, not criminal."): the denial is read where it is said, but the words it
    corrects were counted turns before. Which reading is right is for a person; this only says where.
    """
    found: list[Doubt] = []
    ordered = sorted(mentions, key=lambda m: (m.segment, m.char_start))
    for kind in dict.fromkeys(m.kind for m in ordered):
        of_kind = [m for m in ordered if m.kind == kind]
        denials = [i for i, m in enumerate(of_kind) if m.qualifier == "negated"]
        if not denials:
            continue
        denial = of_kind[denials[-1]]
        if any(m.qualifier is None for m in of_kind[denials[-1] + 1:]):
            continue
        why = (f"later in the call {denial.speaker} says “{denial.text}” "
               f"({denial.start:.1f} s) in a denial; it may correct these words")
        found.extend(replace(_from_mention(m, MAY_NOT_COUNT), rule=DENIED_LATER_RULE, why=why)
                     for m in of_kind[:denials[-1]] if m.qualifier is None and m.segment < denial.segment)
    return found


PRESENT_DENIED_RULE = "present_denied"


def present_denied(segments: Sequence[Segment], mentions: Sequence[Mention], rules: Rules) -> list[Doubt]:
    """Doubts for a crime or emergency described before the caller said that nothing is happening now.

    Callers describe a person by what he has done ("He beats his wife. Assault fourth, twice"); the officer
    asks whether he is doing anything now, and the answer ("Not that we've heard.", "No, he's just washing
    cars.") says that what was described is not the incident at hand. The words before the answer were
    counted where they were said; whether they describe the present is for a person. A mention in or after
    the answer ("No, he just punched my partner") is news, and keeps its kind counted.
    """
    cfg = rules.present_denied
    found: dict[tuple[int, int, str], Doubt] = {}  # two denied questions doubt the same words once
    for asked, answered in exchanges([None if seg.flags else seg.text for seg in segments]):
        question, answer = segments[asked], segments[answered]
        if (question.speaker not in cfg.asked_by or answer.speaker in cfg.asked_by
                or not cfg.now.search(question.text) or not cfg.about.search(question.text)
                or not answer_opens_with(cfg.answer, answer.text)):
            continue
        if any(m.segment == answered and m.qualifier is None and m.kind in cfg.kinds for m in mentions):
            continue  # "No, he just pulled a knife on the cashier": the answer is news, not a denial
        for kind in sorted(cfg.kinds):
            counted = [m for m in mentions if m.kind == kind and m.qualifier is None]
            if not counted or any(m.segment >= answered for m in counted):
                continue
            words = " ".join(answer.text.split()[:6])
            why = (f"the {question.speaker} asked at {question.start:.1f} s whether anything is happening now "
                   f"and {answer.speaker} answered \u201c{words}\u201d; what was described before may be over")
            for m in counted:
                found.setdefault((m.segment, m.char_start, m.kind),
                                 replace(_from_mention(m, MAY_NOT_COUNT), rule=PRESENT_DENIED_RULE, why=why))
    return list(found.values())


QUALIFIED_ELSEWHERE_RULE = "qualified_elsewhere"


def qualified_elsewhere(segments: Sequence[Segment], mentions: Sequence[Mention],
                        qualifiers: Sequence[str]) -> list[Doubt]:
    """Doubts for counted mentions that read back what another speaker said of their kind with a qualifier.

    On the phone the listener reads back what was said, briefly and without its tense or its denial ("There
    was a felony warrant, burglary, served in May." ... "Felony warrant, burglary, okay, a unit's coming.";
    "He was picked up for assault in 2012." ... "A domestic assault. Alright."). Read alone, the read-back
    counts. A counted mention is taken for a possible read-back when the last thing another speaker said of
    its kind was qualified (one of `qualifiers`), it shares a word with that, and it adds no word the call had
    not said before it; whether it is that one again or something new is for a person to hear.
    """
    found: list[Doubt] = []
    ordered = sorted(mentions, key=lambda m: (m.segment, m.char_start))
    for i, m in enumerate(ordered):
        if m.qualifier is not None:
            continue
        said = next((q for q in reversed(ordered[:i]) if q.kind == m.kind and q.speaker != m.speaker
                     and q.segment < m.segment), None)
        if (said is None or said.qualifier not in qualifiers or not _stems(said.text) & _stems(m.text)
                or not _adds_nothing(m, segments)):
            continue
        why = (f"{said.speaker} spoke of it before as {_QUALIFIER_WORDS.get(said.qualifier, said.qualifier)}: "
               f"\u201c{said.text}\u201d ({said.start:.1f} s); these words may read that back")
        found.append(replace(_from_mention(m, MAY_NOT_COUNT), rule=QUALIFIED_ELSEWHERE_RULE, why=why))
    return found


def restated_after_inactive(segments: Sequence[Segment], mentions: Sequence[Mention], rules: Rules) -> list[Doubt]:
    """Doubts for a criminal warrant named again, by someone else, after a speaker found it no longer active.

    A warrant the call finds served or inactive is past (callreview.core.warrants), unless a counted one is
    mentioned after the finding. That later mention may be a new warrant, or the dead one read back ("that
    one's not active anymore, they let him go" ... "felony warrant, burglary, okay"): when it adds no
    word the call had not said before it, a person should hear which.
    """
    finding = last_inactive_finding([None if seg.flags else seg.text for seg in segments], rules)
    if finding is None:
        return []
    index, _, words = finding
    finder = segments[index].speaker
    why = (f"{finder} said at {segments[index].start:.1f} s that the warrant is no longer active "
           f"(\u201c{words}\u201d); these words may name that one again")
    return [replace(_from_mention(m, MAY_NOT_COUNT), rule=QUALIFIED_ELSEWHERE_RULE, why=why)
            for m in mentions if m.kind == "criminal_warrant" and m.qualifier is None and m.segment > index
            and m.speaker != finder and _adds_nothing(m, segments)]


def _adds_nothing(m: Mention, segments: Sequence[Segment]) -> bool:
    """Whether every word of the mention was said earlier in the call (a read-back, not news)."""
    before = " ".join([*(seg.text for seg in segments[:m.segment] if not seg.flags),
                       segments[m.segment].text[:m.char_start]])
    return _stems(m.text) <= _stems(before)


def _stems(text: str) -> set[str]:
    """Words of three letters or more, a plural's s dropped ("warrants" and "warrant" are one word here)."""
    return {w[:-1] if w.endswith("s") and len(w) > 3 else w for w in re.findall(r"[a-z]{3,}", text.lower())}


_QUALIFIER_WORDS = {"historical": "past", "negated": "denied", "hypothetical": "conditional",
                    "refused": "refused"}


def unsure_words(segments: Sequence[Segment], mentions: Sequence[Mention], threshold: float) -> list[Doubt]:
    """Doubts for the words of the evidence that Whisper heard with a probability under `threshold`."""
    found: dict[tuple[str, str, int, int], Doubt] = {}
    for m in mentions:
        seg = segments[m.segment]
        for start, end, word in placed_words(seg):
            if word.probability is None or word.probability >= threshold:
                continue
            inside = start < m.char_end and m.char_start < end
            if m.qualifier is None and not inside:
                continue
            reading = MAY_NOT_COUNT if m.qualifier is None else MAY_COUNT
            why = (f"speech recognition heard \u201c{word.text.strip()}\u201d with probability "
                   f"{word.probability:.2f}; listen to it")
            found.setdefault((m.kind, reading, m.segment, start), Doubt(
                kind=m.kind, reading=reading, segment=m.segment, speaker=seg.speaker, start=word.start,
                end=word.end, char_start=start, char_end=end, text=seg.text[start:end], rule=UNSURE_WORD_RULE,
                why=why))
    return list(found.values())


def _from_mention(m: Mention, reading: str) -> Doubt:
    return Doubt(kind=m.kind, reading=reading, segment=m.segment, speaker=m.speaker, start=m.start, end=m.end,
                 char_start=m.char_start, char_end=m.char_end, text=m.text, rule=m.rule, why=m.weak or "")


def _rule_doubts(index: int, seg: Segment, mentions: list[Mention], rules: Rules) -> list[Doubt]:
    text = seg.text
    scope = None
    found: dict[tuple[str, int, int], Doubt] = {}
    excluded = [(ex.kinds, m.start(), m.end()) for ex in rules.exclusions for m in ex.pattern.finditer(text)]
    for rule in rules.doubt_rules:
        if rule.reading == MAY_NOT_COUNT:
            continue  # callreview.core.doubts.overlapped
        for match in rule.pattern.finditer(text):
            start, end = match.span()
            if end == start or any(m.kind == rule.kind and m.char_start < end and start < m.char_end
                                   for m in mentions):
                continue
            if any(rule.kind in kinds and s < end and start < e for kinds, s, e in excluded):
                continue  # "where's your emergency?" is no more a doubt than a mention
            scope = scope or SegmentScope(text, rules)
            qualifier, trigger = scope.qualify_with(start, end, rule.kind)
            if qualifier is not None and (trigger is None or trigger.weak is None):
                continue  # firmly denied, past or conditional: nothing to doubt
            found.setdefault((rule.kind, start, end), _doubt(index, seg, rule, start, end))
    return list(found.values())


def _doubt(index: int, seg: Segment, rule, start: int, end: int) -> Doubt:
    return Doubt(kind=rule.kind, reading=MAY_COUNT, segment=index, speaker=seg.speaker, start=seg.start,
                 end=seg.end, char_start=start, char_end=end, text=seg.text[start:end], rule=rule.id, why=rule.why)


_KIND_WORDS = {"criminal_warrant": "a criminal warrant", "immigration_warrant": "an immigration warrant",
               "crime": "a crime at hand", "emergency": "an emergency", "door_knock": "a door knock"}


def describe_doubt(doubt: dict) -> str:
    """One doubt in the words reviewers read: the quoted words, who said them and when, the other reading
    and why (`doubt` is `Doubt.to_dict()`, as stored with the assessment)."""
    kind = _KIND_WORDS.get(doubt["kind"], doubt["kind"])
    reading = f"may be {kind}" if doubt["reading"] == MAY_COUNT else f"may not be {kind}"
    return (f"\u201c{doubt['text']}\u201d ({doubt['speaker']}, {doubt['start']:.1f}\u2013{doubt['end']:.1f} s) "
            f"{reading}: {doubt['why']}")
