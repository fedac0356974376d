"""uncertain_evidence end to end over plain data: which weak readings become doubts, and when a doubt
sends a call that would be consistent to a person (DESIGN.md "Verdict"; issue 16 item 3).

The lines are written for these tests, not taken from any case file.
"""
from __future__ import annotations

import pytest
import yaml

from callreview.core.assessment import assess_call, assessment_to_json
from callreview.core.decisions import DecisionLog
from callreview.core.doubts import describe_doubt, find_doubts
from callreview.core.errors import InvalidRules
from callreview.core.rules import DEFAULT_RULES, compile_rules, load_rules
from callreview.core.tagging import tag_transcript
from callreview.transcribe.segments import Segment

RULES = load_rules()
WARRANT = ("ice", "We have a felony warrant on him out of circuit court, burglary.")
DISPATCHED = DecisionLog(decision="dispatched", basis=("criminal_warrant",))
DECLINED = DecisionLog(decision="declined")


def call(*turns: tuple[str, str]) -> list[Segment]:
    return [Segment(start=2.0 * i, end=2.0 * i + 1.5, text=text, speaker=speaker)
            for i, (speaker, text) in enumerate(turns)]


def test_a_contact_request_without_a_clear_verb_sends_a_dispatch_to_review_naming_the_words():
    segs = call(WARRANT, ("ice", "Could one of your guys talk to him for us first, he knows your uniforms."))
    result = assess_call(DISPATCHED, segs, "en", RULES)
    assert (result.verdict.verdict, result.verdict.reasons) == ("needs_review", ("uncertain_evidence",))
    [doubt] = result.doubts
    assert (doubt.kind, doubt.reading, doubt.text, doubt.segment) == ("door_knock", "may_count",
                                                                       "talk to him for us", 1)
    assert (doubt.start, doubt.end) == (2.0, 3.5)
    line = describe_doubt(doubt.to_dict())
    assert "talk to him for us" in line and "may be a door knock" in line and "2.0" in line
    assert assessment_to_json(result)["uncertain"][0]["text"] == "talk to him for us"


def test_the_same_words_in_a_declined_call_decide_nothing():
    segs = call(WARRANT, ("ice", "Could one of your guys talk to him for us first, he knows your uniforms."))
    result = assess_call(DECLINED, segs, "en", RULES)
    assert (result.verdict.verdict, result.doubts) == ("consistent", ())


def test_a_danger_word_no_rule_reads_as_present_sends_a_declined_call_to_review():
    segs = call(("ice", "We have an I-200 on him. He is a violent man, everybody on the block knows it."),
                ("officer", "We are not coming for an administrative warrant."))
    result = assess_call(DECLINED, segs, "en", RULES)
    assert result.verdict.reasons == ("uncertain_evidence",)
    assert [(d.kind, d.text) for d in result.doubts] == [("emergency", "violent")]


def test_a_firm_qualifier_silences_a_doubt():
    segs = call(WARRANT, ("ice", "Nobody needs to talk to him for us, he is already in the car."))
    assert find_doubts(segs, tag_transcript(segs, RULES), RULES) == []


def test_a_weak_counted_basis_is_a_doubt_only_when_nothing_firm_counts_its_kind():
    only_weak = call(("ice", "He's armed, that's all I know, we have an I-205."))
    firm_too = call(("ice", "He's armed and he is pointing a pistol at his neighbour right now."))
    log = DecisionLog(decision="dispatched", basis=("emergency",))
    weak = assess_call(log, only_weak, "en", RULES)
    assert weak.verdict.reasons == ("uncertain_evidence",)
    assert [(d.kind, d.reading) for d in weak.doubts] == [("emergency", "may_not_count")]
    assert assess_call(log, firm_too, "en", RULES).verdict.verdict == "consistent"


def test_a_warrant_known_only_by_a_judges_signature_sends_a_dispatch_on_it_to_review():
    # an immigration judge signs removal orders too: the signature alone does not make a warrant criminal
    signed = ("ice", "He has a warrant signed by a judge, we just need a hand picking him up.")
    result = assess_call(DISPATCHED, call(signed), "en", RULES)
    assert result.verdict.reasons == ("uncertain_evidence",)
    assert [(d.kind, d.reading, d.text) for d in result.doubts] == [
        ("criminal_warrant", "may_not_count", "warrant signed by a judge")]
    assert "immigration judges" in describe_doubt(result.doubts[0].to_dict())
    # the court or the crime said as well makes it firm
    for firm in ("He has a felony warrant signed by a judge, burglary.",
                 "He has a warrant signed by a judge out of circuit court."):
        assert assess_call(DISPATCHED, call(("ice", firm)), "en", RULES).verdict.verdict == "consistent", firm


def test_an_excluded_phrase_is_no_doubt_either():
    segs = call(("dispatcher", "Metro police, where's your emergency?"), ("ice", "No emergency, an I-200 arrest."))
    assert [d for d in find_doubts(segs, tag_transcript(segs, RULES), RULES) if d.kind == "emergency"] == []


@pytest.mark.parametrize("section, item, message", [
    ("doubts", {"id": "d", "kind": "burglary", "why": "w", "pattern": "x"}, "kind 'burglary'"),
    ("doubts", {"id": "d", "kind": "crime", "pattern": "x"}, "missing key 'why'"),
    ("mentions", {"id": "m", "kind": "crime", "weak": "", "pattern": "xyz"}, "weak must be a sentence"),
])
def test_bad_doubt_and_weak_entries_are_refused_naming_the_place(section, item, message):
    import yaml

    data = yaml.safe_load(RULES.source and open(RULES.source, encoding="utf-8").read())
    data.setdefault(section, []).append(item)
    with pytest.raises(InvalidRules, match=message):
        compile_rules(data, "rules.yaml")


def test_a_dispatch_whose_only_emergency_is_a_weapon_named_goes_to_a_person():
    log = DecisionLog(decision="dispatched", basis=("emergency",))
    named = call(("ice", "Our informant says he keeps a pistol in the bedroom; we have an I-200."))
    assert assess_call(log, named, "en", RULES).verdict.reasons == ("uncertain_evidence",)
    threatening = call(("ice", "He's standing in the yard waving a pistol at the neighbours right now."))
    assert assess_call(log, threatening, "en", RULES).verdict.verdict == "consistent"


def _heard(text: str, probabilities: dict[str, float], speaker: str = "ice", start: float = 10.0):
    from callreview.transcribe.segments import Word

    words, t = [], start
    for token in text.split():
        words.append(Word(start=t, end=t + 0.4, text=" " + token, probability=probabilities.get(token.strip(".,"), 0.95)))
        t += 0.5
    return Segment(start=start, end=t, text=text, speaker=speaker, words=tuple(words))


def test_an_unsure_word_inside_the_only_basis_is_uncertain_transcript_naming_the_word_and_its_time():
    import dataclasses

    rules = dataclasses.replace(RULES, min_word_probability=0.5)
    log = DecisionLog(decision="dispatched", basis=("crime",))
    segs = [_heard("He is assaulting the clerk inside the store.", {"assaulting": 0.21})]
    result = assess_call(log, segs, "en", rules)
    assert result.verdict.reasons == ("uncertain_transcript",)
    [doubt] = result.doubts
    assert (doubt.text, doubt.start, doubt.reading) == ("assaulting", 11.0, "may_not_count")
    assert "0.21" in doubt.why
    sure = [_heard("He is assaulting the clerk inside the store.", {})]
    assert assess_call(log, sure, "en", rules).verdict.verdict == "consistent"
    assert assess_call(log, segs, "en", RULES).verdict.verdict == "consistent"  # the packaged rules: off


def test_an_unsure_word_beside_a_denied_danger_may_undo_the_denial():
    import dataclasses

    rules = dataclasses.replace(RULES, min_word_probability=0.5)
    segs = [_heard("No, he is not armed and there are no shots.", {"not": 0.3}),
            _heard("We have an I-200 for him.", {}, start=20.0)]
    result = assess_call(DECLINED, segs, "en", rules)
    assert "uncertain_transcript" in result.verdict.reasons
    assert any(d.text == "not" and d.kind == "emergency" for d in result.doubts)


def test_the_threshold_is_a_checked_number_in_the_rules_file():
    import yaml

    data = yaml.safe_load(open(RULES.source, encoding="utf-8").read())
    data["transcript_confidence"] = {"min_word_probability": 1.5}
    with pytest.raises(InvalidRules, match="min_word_probability must be a number from 0 to 1"):
        compile_rules(data, "rules.yaml")


def test_a_warrant_denied_in_a_later_turn_sends_its_dispatch_to_a_person_naming_the_denial():
    segs = call(("ice", "We have a felony warrant for him, he is in the blue house."),
                ("officer", "So this is not a criminal warrant, it is the deportation order?"),
                ("ice", "Yes, the deportation order. Not criminal, no."))
    result = assess_call(DISPATCHED, segs, "en", RULES)
    assert (result.verdict.verdict, result.verdict.reasons) == ("needs_review", ("uncertain_evidence",))
    [doubt] = result.doubts
    assert (doubt.kind, doubt.reading, doubt.segment, doubt.rule) == ("criminal_warrant", "may_not_count", 0,
                                                                      "denied_later")
    assert "later in the call" in doubt.why and "officer" in doubt.why


def test_a_denial_the_call_takes_back_leaves_the_warrant_counted():
    segs = call(("officer", "Is it a criminal warrant or not?"),
                ("ice", "It's not a criminal warrant, sorry, I misread. It's the felony warrant, burglary, "
                        "circuit court."),
                ("officer", "A felony warrant for burglary. Okay."))
    assert all(d.rule != "denied_later" for d in find_doubts(segs, tag_transcript(segs, RULES), RULES))
    assert assess_call(DISPATCHED, segs, "en", RULES).verdict.verdict == "consistent"


CRIME = DecisionLog(decision="dispatched", basis=("crime",))
PAST_ASSAULT = ("ice", "Picked up for assault in 2012, a domestic thing, did eighteen months.")


def test_a_past_crime_read_back_by_the_officer_sends_the_dispatch_to_a_person_naming_the_first_saying():
    segs = call(PAST_ASSAULT, ("officer", "A domestic assault. Alright, I'll have a car swing by."))
    result = assess_call(CRIME, segs, "en", RULES)
    assert (result.verdict.verdict, result.verdict.reasons) == ("needs_review", ("uncertain_evidence",))
    [doubt] = result.doubts
    assert (doubt.kind, doubt.reading, doubt.segment, doubt.text, doubt.rule) == (
        "crime", "may_not_count", 1, "domestic assault", "qualified_elsewhere")
    assert "ice spoke of it before as past: \u201cassault\u201d (0.0 s)" in doubt.why


def test_no_read_back_without_another_speaker_an_earlier_saying_and_a_shared_word():
    read_back = ("officer", "A domestic assault. Alright, I'll have a car swing by.")
    same_speaker = call(PAST_ASSAULT, ("ice", "A domestic assault, so you know who he is."))
    earlier = call(read_back, PAST_ASSAULT)
    news = call(PAST_ASSAULT, ("officer", "A felony assault on his landlord today, you said? I'll have a car swing by."))
    for segs in (same_speaker, earlier, news):
        assert all(d.rule != "qualified_elsewhere" for d in find_doubts(segs, tag_transcript(segs, RULES), RULES))


def test_a_warrant_named_again_after_it_was_found_inactive_goes_to_a_person():
    segs = call(("ice", "There's a felony warrant on him for burglary out of circuit court."),
                ("dispatcher", "Sergeant, that one's not active anymore, they let him go Tuesday."),
                ("officer", "Felony warrant, burglary. Okay, I'll send a unit."))
    result = assess_call(DISPATCHED, segs, "en", RULES)
    assert (result.verdict.verdict, result.verdict.reasons) == ("needs_review", ("uncertain_evidence",))
    assert {(d.segment, d.rule) for d in result.doubts} == {(2, "qualified_elsewhere")}
    assert "dispatcher said at 2.0 s that the warrant is no longer active" in result.doubts[0].why


def test_a_new_warrant_after_an_old_one_was_found_inactive_is_no_read_back():
    segs = call(("ice", "There's a felony warrant on him for burglary out of circuit court."),
                ("dispatcher", "Sergeant, that warrant shows served on the ninth, nothing active on him."),
                ("officer", "There's a new capias from district court though, for assault. I'll send a unit."))
    assert all(d.rule != "qualified_elsewhere" for d in find_doubts(segs, tag_transcript(segs, RULES), RULES))


def test_read_backs_are_set_in_the_rules_file_and_checked():
    data = yaml.safe_load(DEFAULT_RULES.read_text(encoding="utf-8"))
    data["restated"] = {"qualifiers": ["historical", "old"]}
    with pytest.raises(InvalidRules, match="restated.qualifiers must list some of"):
        compile_rules(data, "rules.yaml")
    data["restated"] = {"qualifiers": ["historical"], "after_inactive": "no"}
    with pytest.raises(InvalidRules, match="restated.after_inactive must be true or false, got 'no'"):
        compile_rules(data, "rules.yaml")
    del data["restated"]
    segs = call(PAST_ASSAULT, ("officer", "A domestic assault. Alright, I'll have a car swing by."))
    without = compile_rules(data, "rules.yaml")
    assert assess_call(CRIME, segs, "en", without).verdict.verdict == "consistent"


# --- present_denied: the caller says nothing is happening now --------------------------------------------

BEATS = ("ice", "He beats his girlfriend, and he's been in fights at the bar on Main.")


def test_a_crime_described_before_the_caller_says_nothing_is_happening_now_goes_to_a_person():
    segs = call(BEATS, ("officer", "Is he doing anything right now? Threatening anybody?"),
                ("ice", "Not that we've heard. He's at work."))
    result = assess_call(CRIME, segs, "en", RULES)
    assert result.verdict.counted == ("crime",)  # the tag stands: a doubt, never a changed tag
    assert (result.verdict.verdict, result.verdict.reasons) == ("needs_review", ("uncertain_evidence",))
    assert {(d.kind, d.reading, d.segment, d.rule) for d in result.doubts} == {
        ("crime", "may_not_count", 0, "present_denied")}
    assert "asked at 2.0 s whether anything is happening now" in result.doubts[0].why
    assert "ice answered \u201cNot that we've heard. He's at" in result.doubts[0].why


@pytest.mark.parametrize("answer", ["Eating lunch in his truck.", "He's just sitting on the porch.",
                                    "Working his shift at the plant."])
def test_a_harmless_activity_for_an_answer_denies_as_a_no_does(answer):
    segs = call(BEATS, ("officer", "What's he doing right now?"), ("ice", answer))
    result = assess_call(CRIME, segs, "en", RULES)
    assert (result.verdict.verdict, result.verdict.reasons) == ("needs_review", ("uncertain_evidence",))
    assert {(d.kind, d.segment, d.rule) for d in result.doubts} == {("crime", 0, "present_denied")}


@pytest.mark.parametrize("question, answer", [
    ("Is he doing anything right now?", "No, he just pulled a knife on the cashier."),  # news in the answer
    ("What's he doing right now?", "Sitting in the car pointing a pistol at the clerk."),  # an activity, not harmless
    ("Is he doing anything right now?", "Yes, he's still swinging at people."),  # not a denial
    ("Where is he now?", "No idea, somewhere on Main."),  # not about what he is doing
    ("Is he doing anything?", "No."),  # not about the present
])
def test_no_present_doubt_without_a_denied_question_about_what_is_happening_now(question, answer):
    segs = call(BEATS, ("officer", question), ("ice", answer))
    assert all(d.rule != "present_denied" for d in find_doubts(segs, tag_transcript(segs, RULES), RULES))


def test_present_denied_is_set_in_the_rules_file_and_checked():
    data = yaml.safe_load(DEFAULT_RULES.read_text(encoding="utf-8"))
    data["present_denied"]["kinds"] = ["crime", "burglary"]
    with pytest.raises(InvalidRules, match="present_denied: kinds must be a list drawn from"):
        compile_rules(data, "rules.yaml")
    del data["present_denied"]["answer"]
    data["present_denied"]["kinds"] = ["crime"]
    with pytest.raises(InvalidRules, match="missing key 'answer'"):
        compile_rules(data, "rules.yaml")
    del data["present_denied"]
    segs = call(BEATS, ("officer", "Is he doing anything right now?"), ("ice", "No, he's at work."))
    assert assess_call(CRIME, segs, "en", compile_rules(data, "rules.yaml")).verdict.verdict == "consistent"


# --- may_not_count doubt rules: a warrant that is someone else's -------------------------------------------

def test_a_warrant_said_to_be_a_roommates_sends_its_dispatch_to_a_person_with_the_same_warrant_said_before():
    segs = call(("ice", "There's a felony warrant at that address, robbery."),
                ("officer", "On your man?"),
                ("ice", "No wait, his roommate, a guy named Tully, has the felony warrant. Ours has a removal order."))
    result = assess_call(DISPATCHED, segs, "en", RULES)
    assert (result.verdict.verdict, result.verdict.reasons) == ("needs_review", ("uncertain_evidence",))
    # the roommate's words overlap a mention that does not count; they say whose the counted one at 0 is
    assert {(d.segment, d.reading, d.rule) for d in result.doubts if d.kind == "criminal_warrant"} == {
        (0, "may_not_count", "doubt.criminal_warrant.someone_else")}
    assert "belongs to someone else" in result.doubts[0].why


def test_a_relatives_warrant_beside_the_subjects_own_decides_nothing():
    segs = call(("ice", "His brother has a misdemeanor warrant too. Our man has a capias from district court for "
                        "assault."),)
    assert all(d.rule != "doubt.criminal_warrant.someone_else"
               for d in find_doubts(segs, tag_transcript(segs, RULES), RULES))
    assert assess_call(DISPATCHED, segs, "en", RULES).verdict.verdict == "consistent"


def test_a_doubt_rule_reading_must_be_one_of_the_two():
    data = yaml.safe_load(DEFAULT_RULES.read_text(encoding="utf-8"))
    data["doubts"].append({"id": "d", "kind": "crime", "why": "w", "reading": "maybe", "pattern": "x"})
    with pytest.raises(InvalidRules, match=r"doubts\[\d+\] \(d\): reading must be may_count or may_not_count"):
        compile_rules(data, "rules.yaml")


def test_an_aim_of_getting_him_to_talk_is_a_possible_door_knock_even_asked_with_maybe():
    segs = call(WARRANT, ("ice", "Maybe your officers could walk over with us, see if he'll come out and talk."))
    result = assess_call(DISPATCHED, segs, "en", RULES)
    assert (result.verdict.verdict, result.verdict.reasons) == ("needs_review", ("uncertain_evidence",))
    assert ("door_knock", "may_count", "doubt.door_knock.see_if_he_talks") in {
        (d.kind, d.reading, d.rule) for d in result.doubts}
    assert "see if he'll come out" in {d.text for d in result.doubts}
