"""Nearness doubts with the real sentence model (all-MiniLM-L6-v2 from its offline pack): a counted mention
whose sentence reads like labelled sentences where its kind did not count sends a consistent call to a
person, naming the words and the nearest example; it never changes a tag (issue 16 item 3).

The example sentences and calls are written for these tests, not taken from any case file.
"""
from __future__ import annotations

import copy
import json
import re
from dataclasses import replace

import pytest
import yaml

from callreview.core.assessment import assess_call
from callreview.core.decisions import DecisionLog
from callreview.core.errors import InvalidRules
from callreview.core.nearness import Example, load_examples, missed_doubts, nearness_doubts, sentence_spans
from callreview.core.rules import DEFAULT_RULES, compile_rules, load_rules
from callreview.core.tagging import tag_transcript
from callreview.transcribe import embedding
from callreview.transcribe.segments import Segment, Word

RULES = load_rules()
DISPATCHED = DecisionLog(decision="dispatched", basis=("criminal_warrant",))
PAST = ("criminal_warrant", False)
NOW = ("criminal_warrant", True)
SERVED = ["He had a felony warrant with the county, but they picked him up on it last spring and he bonded out.",
          "There was a bench warrant on him, it got served back in March, so that one is done.",
          "He used to have a warrant out of circuit court, they arrested him on it already.",
          "That warrant was cleared last year when he went in and took care of it."]
ACTIVE = ["He has an active felony warrant out of circuit court for burglary.",
          "There is a criminal warrant for his arrest right now, signed by a county judge.",
          "The judge signed a criminal warrant on him today for robbery.",
          "We confirmed the warrant is active in NCIC, it's a criminal one for robbery."]
QUIET = ["How's the weather on your end today?", "Okay, what's your callback number?",
         "Thanks, have a good night.", "Hold on one second, let me grab a pen."]


def examples(*groups: tuple[list[str], tuple[str, bool] | None]) -> tuple[Example, ...]:
    return tuple(Example(text, "tests", f"T-{i}", frozenset([label] if label else []))
                 for texts, label in groups for i, text in enumerate(texts))


def near_rules(bank: tuple[Example, ...]):
    # three neighbours: the test banks hold four sentences of each label, not thousands
    return replace(RULES, nearness=replace(RULES.nearness, examples=bank, neighbours=3))


def call(*texts: str) -> list[Segment]:
    return [Segment(start=3.0 * i, end=3.0 * i + 2.5, text=t, speaker="ice") for i, t in enumerate(texts)]


SPOKEN = call("Sergeant, we're at the gas station on Fifth.",
              "The felony warrant, he went to court on it in February and walked out the same day.")


def test_a_warrant_said_like_past_ones_sends_a_dispatch_to_review_naming_the_nearest_example():
    rules = near_rules(examples((SERVED, PAST), (ACTIVE, NOW), (QUIET, None)))
    result = assess_call(DISPATCHED, SPOKEN, "en", rules)
    # the tagger still counts the warrant: a doubt changes no tag
    assert "criminal_warrant" in result.counted
    assert (result.verdict.verdict, result.verdict.reasons) == ("needs_review", ("uncertain_evidence",))
    [doubt] = result.doubts
    assert (doubt.rule, doubt.kind, doubt.reading, doubt.segment) == ("near_uncounted", "criminal_warrant",
                                                                       "may_not_count", 1)
    assert doubt.text in SPOKEN[1].text and (doubt.start, doubt.end) == (3.0, 5.5)
    assert "did not count" in doubt.why and any(s in doubt.why for s in SERVED)


def test_no_doubt_when_the_nearest_examples_count_the_kind():
    # the same call against a bank whose past-tense sentences are labelled as counting: nothing to doubt
    rules = near_rules(examples((SERVED, NOW), (ACTIVE, NOW), (QUIET, None)))
    result = assess_call(DISPATCHED, SPOKEN, "en", rules)
    assert result.verdict.verdict == "consistent" and result.doubts == ()


def test_a_firm_mention_of_the_kind_elsewhere_keeps_it_counted():
    rules = near_rules(examples((SERVED, PAST), (ACTIVE, NOW), (QUIET, None)))
    segs = [*SPOKEN, *call("", "", "And he has a new felony warrant out of circuit court for robbery, active today.")[2:]]
    mentions = tag_transcript(segs, rules)
    near = rules.nearness
    vectors = embedding.encode([e.text for e in near.examples])
    assert nearness_doubts(segs, mentions, near, embedding.encode, vectors) == []
    assert nearness_doubts(SPOKEN, tag_transcript(SPOKEN, rules), near, embedding.encode, vectors) != []


KNOCK = ["Have one of your officers knock on his door so he comes out.",
         "We need a uniform to ring the bell and get him to open up.",
         "Just have your guys go up to the apartment and ask for him by name.",
         "Send a marked unit to his front door so he'll answer."]
# The second sentence is no phrasing the rules list (a recognizer's "guy's" for "guys" here), so the tagger
# reads no door knock in it; the sentences around it hold nothing of the kind.
ASKED = "He won't open for us. But if your guy's at that door and say police, he'll open right up."
WORDS = tuple(Word(20.0 + 0.3 * i, 20.25 + 0.3 * i, w) for i, w in enumerate(ASKED.split()))
ASKING = [Segment(start=3.0, end=8.0, text="Sergeant, we have a felony warrant for robbery out of circuit court.",
                  speaker="ice"),
          Segment(start=20.0, end=20.0 + 0.3 * len(WORDS), text=ASKED, speaker="ice", words=WORDS)]


def missed_rules(bank: tuple[Example, ...], **change):
    settings = {"neighbours": 3, "missed_kinds": ("door_knock", "emergency"), "missed_min_similarity": 0.5,
                "missed_min_share": 0.6, **change}
    return replace(RULES, nearness=replace(RULES.nearness, examples=bank, **settings))


def test_a_door_knock_no_rule_reads_sends_a_dispatch_to_review_naming_the_sentence_and_its_times():
    rules = missed_rules(examples((KNOCK, ("door_knock", True)), (QUIET, None)))
    result = assess_call(DISPATCHED, ASKING, "en", rules)
    assert "door_knock" not in result.counted  # a doubt, never a tag
    assert (result.verdict.verdict, result.verdict.reasons) == ("needs_review", ("uncertain_evidence",))
    [doubt] = result.doubts
    assert (doubt.rule, doubt.kind, doubt.reading, doubt.segment) == ("near_counted", "door_knock", "may_count", 1)
    assert doubt.text == "But if your guy's at that door and say police, he'll open right up."
    # the sentence's own words' times, not the whole segment's
    assert (doubt.start, doubt.end) == (WORDS[5].start, WORDS[-1].end)
    assert "no rule reads a door knock" in doubt.why and any(k in doubt.why for k in KNOCK)
    # declined, the same words decide nothing: no door was knocked on
    assert assess_call(DecisionLog(decision="declined"), ASKING, "en", rules).verdict.verdict == "consistent"


def test_a_car_asked_for_on_the_road_is_no_door_knock_doubt():
    # "a marked unit to stop him" reads like "a marked unit to his front door"; the rules' not_if says it asks
    # for something else, for the door-knock doubt only
    road = [Segment(start=0.0, end=4.0, text="We need a uniform to stop his car so he gets out.", speaker="ice")]
    bank = examples((KNOCK, ("door_knock", True)), (QUIET, None))
    rules = missed_rules(bank)
    vectors = embedding.encode([e.text for e in bank])
    assert [d.kind for d in missed_doubts(road, [], rules.nearness, embedding.encode, vectors)] == ["door_knock"]
    guarded = replace(rules.nearness, missed_not_if=(("door_knock", re.compile(r"\bstop his car\b")),))
    assert missed_doubts(road, [], guarded, embedding.encode, vectors) == []
    # the guard is per kind, and a sentence it does not find is doubted as before
    other = replace(rules.nearness, missed_not_if=(("emergency", re.compile(r"\bstop his car\b")),))
    assert [d.kind for d in missed_doubts(road, [], other, embedding.encode, vectors)] == ["door_knock"]
    assert [d.kind for d in missed_doubts(ASKING, tag_transcript(ASKING, rules), guarded, embedding.encode,
                                          vectors)] == ["door_knock"]
    # and the shipped rules say it
    assert any(k == "door_knock" and p.search("I want a marked unit to stop him.")
               for k, p in RULES.nearness.missed_not_if)


def test_no_missed_doubt_when_the_kind_counts_or_the_sentence_is_like_nothing_or_the_kind_is_not_looked_for():
    bank = examples((KNOCK, ("door_knock", True)), (QUIET, None))
    rules = missed_rules(bank)
    vectors = embedding.encode([e.text for e in bank])
    counted = [*ASKING, Segment(start=30.0, end=33.0, text="Have a uniform knock on his door.", speaker="ice")]
    assert missed_doubts(counted, tag_transcript(counted, rules), rules.nearness, embedding.encode, vectors) == []
    for near in (replace(rules.nearness, missed_min_similarity=0.95), replace(rules.nearness, missed_kinds=()),
                 replace(rules.nearness, missed_min_share=1.0,
                         examples=examples((KNOCK[:2], ("door_knock", True)), (QUIET, None)))):
        vectors = embedding.encode([e.text for e in near.examples])
        assert missed_doubts(ASKING, tag_transcript(ASKING, rules), near, embedding.encode, vectors) == []
    # the sentence itself labelled as another kind is its nearest (1.0), but no door-knock example is near:
    # sharing a neighbourhood is not enough
    twin = examples((KNOCK, ("door_knock", True)), ([ASKED.split(". ")[1]], ("crime", True)))
    near = replace(rules.nearness, examples=twin, missed_min_similarity=0.9)
    vectors = embedding.encode([e.text for e in twin])
    assert missed_doubts(ASKING, tag_transcript(ASKING, rules), near, embedding.encode, vectors) == []
    assert missed_doubts(ASKING, tag_transcript(ASKING, rules), replace(near, missed_min_similarity=0.3),
                         embedding.encode, vectors) != []
    # a flagged segment is read by no one, nearness included
    flagged = [ASKING[0], replace(ASKING[1], flags=("low_confidence",))]
    assert missed_doubts(flagged, [], rules.nearness, embedding.encode, embedding.encode([e.text for e in bank])) == []


def test_a_sentence_like_nothing_labelled_raises_no_doubt():
    rules = near_rules(examples((QUIET, None),
                                (["My cousin's dog had puppies in February, six of them."], PAST)))
    near = replace(rules.nearness, min_similarity=0.9)
    mentions = tag_transcript(SPOKEN, rules)
    vectors = embedding.encode([e.text for e in near.examples])
    assert nearness_doubts(SPOKEN, mentions, near, embedding.encode, vectors) == []


def test_sentences_split_on_their_end_marks_and_unpunctuated_text_is_one():
    text = "We have a warrant. Is he home? yes"
    assert [text[s:e] for s, e in sentence_spans(text)] == ["We have a warrant.", "Is he home?", "yes"]
    assert sentence_spans("we have a warrant for him hes at home") == [(0, 37)]


def test_the_packaged_examples_never_hold_the_set_kept_aside():
    sets = {e.set for e in RULES.nearness.examples}
    assert "ramble" not in sets and {"radio", "esl", "asr"} <= sets
    assert all(k in {"criminal_warrant", "immigration_warrant", "crime", "emergency", "door_knock"}
               for e in RULES.nearness.examples for k, _ in e.labels)


def test_leaving_a_set_out_drops_its_examples(tmp_path):
    data = yaml.safe_load(DEFAULT_RULES.read_text(encoding="utf-8"))
    data["nearness"]["without_sets"] = ["radio"]
    rules = compile_rules(data, "lo", DEFAULT_RULES.parent)
    assert "radio" not in {e.set for e in rules.nearness.examples}
    assert len(rules.nearness.examples) < len(RULES.nearness.examples)


@pytest.mark.parametrize("change, problem", [
    ({"min_share": 1.5}, "nearness.min_share must be a number from 0.0 to 1.0"),
    ({"neighbours": 0}, "nearness.neighbours must be a number from 1 to 100"),
    ({"model": "bert-base"}, "nearness.model must be all-MiniLM-L6-v2"),
    ({"examples": "missing.jsonl"}, "nearness examples file not found"),
    ({"missed": {"kinds": ["parking"]}}, "nearness.missed.kinds must be a list of tag kinds"),
    ({"missed": {"kinds": ["door_knock"], "min_similarity": 2}}, "nearness.missed.min_similarity must be a number"),
    ({"missed": ["door_knock"]}, "nearness.missed"),
    ({"missed": {"kinds": ["door_knock"], "not_if": [{"kind": "emergency", "patterns": ["stop him"]}]}},
     r"nearness.missed.not_if\[0\].kind must be one of nearness.missed.kinds"),
    ({"missed": {"kinds": ["door_knock"], "not_if": [{"kind": "door_knock", "patterns": []}]}},
     r"nearness.missed.not_if\[0\].patterns must be a non-empty list"),
])
def test_a_bad_nearness_section_is_refused_naming_the_problem(change, problem):
    data = yaml.safe_load(DEFAULT_RULES.read_text(encoding="utf-8"))
    data["nearness"] = {**data["nearness"], **change}
    with pytest.raises(InvalidRules, match=problem):
        compile_rules(copy.deepcopy(data), "dept.yaml", DEFAULT_RULES.parent)


def test_a_broken_examples_line_is_named_by_file_and_line(tmp_path):
    path = tmp_path / "ex.jsonl"
    good = {"text": "He has a warrant.", "set": "x", "call_id": "X-1", "labels": [["criminal_warrant", True]]}
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "labels": [["parking", True]]}) + "\n")
    with pytest.raises(InvalidRules, match=r"ex.jsonl: line 2: unknown kind parking"):
        load_examples(path)
    path.write_text(json.dumps(good) + "\n{not json\n")
    with pytest.raises(InvalidRules, match=r"line 2: not a labelled sentence"):
        load_examples(path)


def test_the_model_pack_is_checked_and_unzipped_once(tmp_path):
    folder = embedding.model_folder(tmp_path)
    assert (folder / "model.safetensors").is_file() and folder.parent == tmp_path
    mtime = (folder / "model.safetensors").stat().st_mtime_ns
    assert embedding.model_folder(tmp_path) == folder
    assert (folder / "model.safetensors").stat().st_mtime_ns == mtime
    assert not list(tmp_path.glob(".*.partial"))


def test_example_vectors_are_kept_on_disk_by_digest(tmp_path):
    texts = ("He has a warrant.", "Nice weather.")
    first = embedding.example_vectors(texts, "ab" * 32, tmp_path)
    assert first.shape == (2, 384) and (tmp_path / f"nearness-{'ab' * 8}.npy").is_file()
    assert abs(float(first[0] @ first[0]) - 1.0) < 1e-4
    embedding._VECTORS.clear()  # a new process: only the file on disk is left
    again = embedding.example_vectors(texts, "ab" * 32, tmp_path)
    assert (again == first).all()


def test_the_numpy_encoder_gives_sentence_transformers_vectors():
    from sentence_transformers import SentenceTransformer

    texts = [*SERVED, *ACTIVE, *QUIET, "", "we got him on an i two hundred " * 60]  # empty, and past 256 tokens
    reference = SentenceTransformer(str(embedding.model_folder()), device="cpu").encode(
        texts, normalize_embeddings=True, show_progress_bar=False)
    mine = embedding.encode(texts)
    assert mine.shape == reference.shape and mine.dtype.name == "float32"
    assert float((mine * reference).sum(1).min()) > 0.99999
