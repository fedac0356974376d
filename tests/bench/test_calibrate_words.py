"""bench/calibrate_words.py: words aligned as WER counts them, deciding words found by the real tagger, and
the suggested threshold read off the figures it prints."""
from __future__ import annotations

import pytest

from bench.calibrate_words import align, calibration, call_words
from callreview.core.rules import load_rules
from callreview.transcribe.segments import Segment, Word

RULES = load_rules()


def test_align_marks_substitutions_and_insertions_wrong_and_matches_right():
    ref = "we have a felony warrant for him".split()
    assert align(ref, "we have a felony want for him".split()) == [True, True, True, True, False, True, True]
    assert align(ref, "we have uh a felony warrant for him".split()) == [True, True, False, True, True, True, True, True]
    assert align(ref, "we a felony warrant".split()) == [True, True, True, True]  # deletions cost no hyp word
    assert align([], ["noise"]) == [False] and align(ref, []) == []


def _words(text: str, probs: list[float], start: float = 0.0) -> tuple[Word, ...]:
    return tuple(Word(start + i * 0.3, start + i * 0.3 + 0.25, f" {w}", p) for i, (w, p) in enumerate(zip(text.split(), probs)))


def test_call_words_scores_each_channel_against_its_party_and_marks_the_mentions_words():
    ice_text = "We have a felony warning for him."
    segments = [
        Segment(0.0, 2.0, " This is the lieutenant.", speaker="officer", channel=0,
                words=_words("This is the lieutenant.", [0.9, 0.9, 0.9, 0.4])),
        Segment(2.0, 4.0, f" {ice_text}", speaker="ice", channel=1,
                words=_words(ice_text, [0.95, 0.9, 0.9, 0.3, 0.2, 0.8, 0.7], 2.0)),
        Segment(4.0, 5.0, " thank you for watching", speaker="ice", channel=1, flags=("known_phantom",),
                words=_words("thank you for watching", [0.1] * 4, 4.0)),
    ]
    case = [Segment(0.0, 2.0, "This is the lieutenant.", speaker="officer"),
            Segment(2.0, 4.0, "We have a felony warrant for him.", speaker="ice")]
    found = call_words(type("T", (), {"segments": tuple(segments)})(), case, RULES)
    assert [(w["channel"], w["word"], w["correct"]) for w in found] == [
        (0, "this", True), (0, "is", True), (0, "the", True), (0, "lieutenant", True),
        (1, "we", True), (1, "have", True), (1, "a", True), (1, "felony", True), (1, "warning", False),
        (1, "for", True), (1, "him", True)]  # the flagged phantom is neither tagged nor scored
    # "felony warning" is not read as a warrant, so nothing decides; with "warrant" heard, both words do
    assert not any(w["deciding"] for w in found)
    segments[1] = Segment(2.0, 4.0, " We have a felony warrant for him.", speaker="ice", channel=1,
                          words=_words("We have a felony warrant for him.", [0.95, 0.9, 0.9, 0.3, 0.2, 0.8, 0.7], 2.0))
    found = call_words(type("T", (), {"segments": tuple(segments)})(), case, RULES)
    assert [(w["word"], w["probability"]) for w in found if w["deciding"]] == [("felony", 0.3), ("warrant", 0.2)]


def test_calibration_bins_and_the_highest_edge_under_which_deciding_words_are_mostly_wrong():
    words = ([{"probability": p, "correct": ok, "deciding": True}
              for p, ok in [(0.05, False), (0.15, False), (0.25, True), (0.35, True), (0.45, False)]]
             + [{"probability": 0.95, "correct": True, "deciding": True}] * 6
             + [{"probability": 0.15, "correct": True, "deciding": False}] * 3
             + [{"probability": None, "correct": True, "deciding": True}])
    c = calibration(words)
    assert c["words"] == 14 and c["deciding_words"] == 11  # a word without a probability is left out
    b = c["bins"]
    assert (b[1]["words"], b[1]["correct"], b[1]["deciding_words"], b[1]["deciding_correct"]) == (4, 0.75, 1, 0.0)
    assert b[9]["deciding_words"] == 6 and b[9]["deciding_correct"] == 1.0
    wrong_share = {e["edge"]: e["deciding_wrong_share"] for e in c["edges"]}
    assert wrong_share[0.1] == 1.0 and wrong_share[0.2] == 1.0
    assert wrong_share[0.3] == pytest.approx(2 / 3) and wrong_share[0.4] == 0.5 and wrong_share[0.5] == pytest.approx(3 / 5)
    # 0.5 .. 0.9 hold the same five words (3 of 5 wrong); with the six sure words, 3 of 11
    assert c["suggested_min_word_probability"] == 0.9
    assert calibration([{"probability": 0.05, "correct": True, "deciding": True}])["suggested_min_word_probability"] == 0.0
