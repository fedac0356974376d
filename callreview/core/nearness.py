"""Nearness doubts: a sentence read one way by the rules that reads like labelled sentences read the other.

The rules list phrasings; writers they were not written against phrase things otherwise ("he had a felony
warrant with you guys ... you picked him up on it in February"). A sentence-embedding model puts such a
sentence near the labelled sentences it resembles. When most of a counted mention's nearest labelled
sentences hold the same kind *not* counting (past, denied, conditional, somebody else's) and none holds it
counting, the mention may not count: a doubt, never a changed tag, so the verdict becomes needs_review
(`uncertain_evidence`) only where it hinges on it.

The other way round (`missed_doubts`, rule `near_counted`): a sentence in which the rules found no mention
of a door knock or an emergency, but whose nearest labelled sentences mostly hold that kind counting ("your
guys been on that door and say please, he'll open right up", a recognizer's hearing of "bang on that
door and say police"), may be one: a doubt that the kind may count, which sends a dispatched (door knock)
or declined (emergency) call to a person instead of calling it consistent.

Plain functions over plain data: the encoder is passed in (callreview.transcribe.embedding gives the real
one), so nothing here loads a model.

Measured leave one writer out (bench/generalisation.py): the examples of the writer being scored are left
out with its rules.
"""
from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from callreview.core.errors import InvalidRules
from callreview.core.mentions import KINDS, MAY_COUNT, MAY_NOT_COUNT, Doubt, Mention
from callreview.transcribe.segments import Segment, placed_words

NEARNESS_RULE = "near_uncounted"
MISSED_RULE = "near_counted"
MIN_WORDS = 3  # the shortest sentence missed_doubts reads
# texts -> one L2-normalised row per text
Encoder = Callable[[Sequence[str]], np.ndarray]

_SENTENCE_END = re.compile(r"(?<=[.?!])\s+")
_KIND_WORDS = {"criminal_warrant": "a criminal warrant", "immigration_warrant": "an immigration warrant",
               "crime": "a crime", "emergency": "an emergency", "door_knock": "a door knock"}


@dataclass(frozen=True)
class Example:
    """One labelled sentence: which kinds it mentions, and whether each counted there."""

    text: str
    set: str  # the labelled set it comes from (a writer's folder), for leaving a writer out
    call_id: str
    labels: frozenset[tuple[str, bool]]  # (kind, counted)


@dataclass(frozen=True)
class Nearness:
    """The rules file's `nearness` section, compiled: the model's name, the examples and the thresholds."""

    model: str
    examples: tuple[Example, ...]
    neighbours: int
    min_similarity: float  # cosine of the nearest example; below it the sentence is like nothing labelled
    min_share: float  # share of the neighbours that must hold the kind not counting
    # The other way round (`missed:` in the rules): a sentence the rules read no mention of these kinds in,
    # which reads like examples where the kind counted. Empty: no such doubts.
    missed_kinds: tuple[str, ...] = ()
    missed_min_similarity: float = 1.0
    missed_min_share: float = 1.0
    # (kind, pattern): a sentence a pattern finds asks for something else, so it is no doubt of that kind
    # ("a marked unit to stop him" on the road reads like "a marked unit out front so he opens up")
    missed_not_if: tuple[tuple[str, re.Pattern], ...] = ()

    @functools.cached_property
    def digest(self) -> str:
        """SHA-256 over the model name and the examples, so cached example vectors match what is compiled
        (computed once: every assessed call asks for it)."""
        h = hashlib.sha256(self.model.encode())
        for e in self.examples:
            h.update(b"\0" + e.text.encode("utf-8"))
        return h.hexdigest()


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of a segment's text; unpunctuated text is one sentence."""
    spans, pos = [], 0
    for part in _SENTENCE_END.split(text):
        if not part:
            continue
        at = text.find(part, pos)
        spans.append((at, at + len(part)))
        pos = at + len(part)
    return spans


def load_examples(path: Path, without_sets: Sequence[str] = ()) -> tuple[Example, ...]:
    """Read a JSON-lines file of labelled sentences (`{"text", "set", "call_id", "labels": [[kind, counted]]}`).

    Raises:
        InvalidRules: the file is missing, or a line is not such a record (named by its line number).
    """
    if not path.is_file():
        raise InvalidRules(str(path), "nearness examples file not found")
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            labels = frozenset((str(k), bool(c)) for k, c in row["labels"])
            example = Example(str(row["text"]), str(row["set"]), str(row["call_id"]), labels)
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidRules(str(path), f"line {number}: not a labelled sentence ({exc})") from exc
        unknown = {k for k, _ in labels} - set(KINDS)
        if unknown:
            raise InvalidRules(str(path), f"line {number}: unknown kind {', '.join(sorted(unknown))}")
        if example.set not in without_sets:
            out.append(example)
    return tuple(out)


def nearness_doubts(segments: Sequence[Segment], mentions: Sequence[Mention], nearness: Nearness,
                    encode: Encoder, example_vectors: np.ndarray) -> list[Doubt]:
    """Doubts for the counted mentions whose sentences read like the examples where their kind did not count.

    A kind is doubted only when every counted mention of it is: one firm mention elsewhere still counts it.

    Args:
        segments: the call's segments, as tagged.
        mentions: the tagger's mentions.
        nearness: the compiled section.
        encode: the sentence encoder (normalised rows).
        example_vectors: `encode` of the examples' texts, in order.

    Returns:
        One MAY_NOT_COUNT doubt per doubted mention, naming its nearest such example.
    """
    counted = [m for m in mentions if m.qualifier is None]
    if not counted or not nearness.examples:
        return []
    sentences: dict[tuple[int, int, int], list[Mention]] = {}
    for m in counted:
        for start, end in sentence_spans(segments[m.segment].text):
            if start < m.char_end and m.char_start < end:
                sentences.setdefault((m.segment, start, end), []).append(m)
    keys = list(sentences)
    vectors = encode([segments[i].text[s:e] for i, s, e in keys])
    doubted: dict[str, list[Doubt]] = {}
    near_mentions: set[Mention] = set()
    for key, vector in zip(keys, vectors):
        sims = example_vectors @ vector
        top = np.argsort(-sims)[:nearness.neighbours]
        if sims[top[0]] < nearness.min_similarity:
            continue
        for m in sentences[key]:
            if m in near_mentions:
                continue  # a mention across two sentences is doubted once
            against = [j for j in top if (m.kind, False) in nearness.examples[j].labels]
            if (len(against) / len(top) < nearness.min_share
                    or any((m.kind, True) in nearness.examples[j].labels for j in top)):
                continue
            nearest = nearness.examples[against[0]]
            why = (f"it reads like labelled sentences where {_KIND_WORDS.get(m.kind, m.kind)} did not count "
                   f"({len(against)} of its {len(top)} nearest; nearest: \u201c{nearest.text}\u201d, "
                   f"{nearest.call_id}, similarity {float(sims[against[0]]):.2f})")
            near_mentions.add(m)
            doubted.setdefault(m.kind, []).append(Doubt(
                kind=m.kind, reading=MAY_NOT_COUNT, segment=m.segment, speaker=m.speaker, start=m.start,
                end=m.end, char_start=m.char_start, char_end=m.char_end, text=m.text, rule=NEARNESS_RULE,
                why=why))
    firm_left = {m.kind for m in counted if m not in near_mentions}
    return [d for kind, ds in doubted.items() if kind not in firm_left for d in ds]


def missed_doubts(segments: Sequence[Segment], mentions: Sequence[Mention], nearness: Nearness,
                  encode: Encoder, example_vectors: np.ndarray,
                  kinds: Sequence[str] | None = None) -> list[Doubt]:
    """Doubts for sentences with no mention of a kind that read like the examples where that kind counted.

    Only the kinds looked for (`kinds`, by default `nearness.missed_kinds`) that no mention counts in the
    call are (a counted one leaves nothing to doubt), and only in sentences with no mention of that kind
    at all: a sentence the rules read as the kind, qualified, was read; this is for the phrasings no rule
    lists.

    Args:
        segments: the call's segments, as tagged (flagged and empty ones are skipped, as in tagging).
        mentions: the tagger's mentions.
        nearness: the compiled section.
        encode: the sentence encoder (normalised rows).
        example_vectors: `encode` of the examples' texts, in order.
        kinds: the kinds to look for, of those the section names; the assessment passes only those that
            could decide the verdict, as looking encodes every sentence.

    Returns:
        One MAY_COUNT doubt per kind and sentence, naming the sentence, its times and its nearest example.
    """
    kinds = [k for k in nearness.missed_kinds if (kinds is None or k in kinds)
             and not any(m.kind == k and m.qualifier is None for m in mentions)]
    if not kinds or not nearness.examples:
        return []
    # Two words ask for nothing ("Go on.", "Hold on."), and every sentence costs an encoding.
    sentences = [(i, start, end) for i, seg in enumerate(segments) if not seg.flags and seg.text
                 for start, end in sentence_spans(seg.text) if len(seg.text[start:end].split()) >= MIN_WORDS]
    if not sentences:
        return []
    vectors = encode([segments[i].text[s:e] for i, s, e in sentences])
    found: list[Doubt] = []
    for (index, start, end), vector in zip(sentences, vectors):
        sims = example_vectors @ vector
        top = np.argsort(-sims)[:nearness.neighbours]
        if sims[top[0]] < nearness.missed_min_similarity:
            continue
        seg = segments[index]
        for kind in kinds:
            if any(m.kind == kind and m.segment == index and m.char_start < end and start < m.char_end
                   for m in mentions):
                continue
            if any(k == kind and pattern.search(seg.text, start, end) for k, pattern in nearness.missed_not_if):
                continue
            counted = [j for j in top if (kind, True) in nearness.examples[j].labels]
            # the nearest that says so must be near itself, not merely share the neighbourhood of a near
            # example of another kind ("putting it out as a robbery, units to Hikes" is near a robbery)
            if (len(counted) / len(top) < nearness.missed_min_share
                    or sims[counted[0]] < nearness.missed_min_similarity):
                continue
            nearest = nearness.examples[counted[0]]
            why = (f"no rule reads {_KIND_WORDS.get(kind, kind)} here, but it reads like labelled sentences where "
                   f"one counted ({len(counted)} of its {len(top)} nearest; nearest: \u201c{nearest.text}\u201d, "
                   f"{nearest.call_id}, similarity {float(sims[counted[0]]):.2f})")
            start_s, end_s = _sentence_times(seg, start, end)
            found.append(Doubt(kind=kind, reading=MAY_COUNT, segment=index, speaker=seg.speaker, start=start_s,
                               end=end_s, char_start=start, char_end=end, text=seg.text[start:end].strip(),
                               rule=MISSED_RULE, why=why))
    return found


def _sentence_times(seg: Segment, start: int, end: int) -> tuple[float, float]:
    """The file times of a sentence of a segment: its words' times where the words can be placed in the
    text, else the segment's."""
    times = [(word.start, word.end) for at, _, word in placed_words(seg) if start <= at < end]
    if not times:
        return seg.start, seg.end
    return times[0][0], times[-1][1]
