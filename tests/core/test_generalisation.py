"""Rules 2025.11.2+ on phrasings of their own, per rule family, and the held-out cases' measured bar
(tests/data/heldout and the second blind set, tests/data/blind2).

Each family gets lines that should count and look-alikes that should not, written for these tests (not
copied from any case file), in clean text and in the lowercase, unpunctuated shape Whisper produces.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from callreview.core.assessment import assess_call
from callreview.core.cases import read_case, read_expected
from callreview.core.evaluation import ScoredCase, evaluate_cases, score_cases
from callreview.core.mentions import counted_kinds
from callreview.core.rules import load_rules
from callreview.core.tagging import tag_transcript
from callreview.transcribe.segments import Segment

from degrade import degrade_segments

RULES = load_rules()
HELDOUT = Path(__file__).resolve().parents[1] / "data" / "heldout"
BLIND2 = Path(__file__).resolve().parents[1] / "data" / "blind2"


def counted(*lines: str, speaker: str = "unknown") -> list[str]:
    segs = [Segment(start=float(i), end=float(i) + 1, text=t, speaker=speaker) for i, t in enumerate(lines)]
    return counted_kinds(tag_transcript(segs, RULES))


def qualifiers(kind: str, *lines: str, speaker: str = "unknown") -> list[str | None]:
    segs = [Segment(start=float(i), end=float(i) + 1, text=t, speaker=speaker) for i, t in enumerate(lines)]
    return [m.qualifier for m in tag_transcript(segs, RULES) if m.kind == kind]


@pytest.mark.parametrize("lines, kinds", [
    # crime: categories beyond theft and assault, happening now
    (["the boyfriend is menacing her with a tire iron in the driveway"], ["crime", "emergency"]),
    (["somebody's spray painting the side of the church right this minute"], ["crime"]),
    (["he rear-ended a lady at the light and drove off"], ["crime"]),
    (["she locked her baby inside the van and went into the casino"], ["crime"]),
    (["there's a man going after the cashier, swinging at her"], ["crime"]),
    (["he's resisting, he's fighting my partner on the ground"], ["crime"]),
    (["he just violated the no-contact order, he's on her porch"], ["crime"]),
    (["a kid just snatched a purse off an old lady at the bus stop"], ["crime"]),
    # ... but not status offenses or notices
    (["the only thing on him is marriage fraud, the green card case"], []),
    (["the store trespassed him last spring"], []),
    (["you'll want to break the window if the dog is in distress"], []),
])
def test_crime_categories(lines, kinds):
    assert counted(*lines) == kinds


@pytest.mark.parametrize("lines, kinds", [
    (["a truck just rolled over on the interstate, the driver's slumped over the wheel"], ["emergency"]),
    (["the duplex next door is on fire and there's a kid upstairs"], ["emergency"]),
    (["a guy got stabbed outside the bar, he's on the sidewalk"], ["emergency"]),
    (["an suv plowed into the bus shelter"], ["emergency"]),
    # danger words inside other terms
    (["she has an emergency protective order against him"], []),
    (["he rents a shotgun house on the west end"], []),
    (["he works at the gun shop on preston"], []),
])
def test_emergency_families(lines, kinds):
    assert counted(*lines) == kinds


@pytest.mark.parametrize("lines, kinds", [
    # a danger described without its name (rules 2025.12.9)
    (["he's got his wife and the baby locked in the basement with him"], ["emergency"]),
    (["she splashed lighter fluid all over the porch and the front door"], ["emergency"]),
    (["the tenant is holding the landlord's kids upstairs with him"], ["emergency"]),
    # ... and what only looks like it
    (["we stopped for gas on the way over"], []),
    (["his kids are with him this weekend, he has custody"], []),
])
def test_danger_described_not_named(lines, kinds):
    assert counted(*lines) == kinds


@pytest.mark.parametrize("lines, kind, expected", [
    # a warrant being looked for is not yet one; an earlier case recalled is not this one (2025.12.9)
    (["we're checking her for a warrant out of ohio, nothing back yet"], "criminal_warrant", ["hypothetical"]),
    (["dispatch is running him on a possible bench warrant"], "criminal_warrant", ["hypothetical"]),
    (["the last guy had a felony warrant, this one is different"], "criminal_warrant", ["historical"]),
    (["in march was a bench warrant for theft, remember"], "criminal_warrant", ["historical"]),
    (["this one has a felony warrant out of bullitt county"], "criminal_warrant", [None]),
    # a knock asked for as "if": "if an officer knocks he'll open up"
    (["if an officer knocks on his door he'll open up for you"], "door_knock", [None]),
    (["if one of your guys knocks, she answers, she trusts the uniform"], "door_knock", [None]),
])
def test_looked_for_recalled_and_if_put(lines, kind, expected):
    assert set(qualifiers(kind, *lines)) == set(expected)


@pytest.mark.parametrize("lines, kinds", [
    # the officer's cars busy elsewhere, a warrant's offence: not the incident at hand (2025.12.10)
    (["sorry, all my units are tied up on a shooting in shively"], []),
    (["i've got two cars at a house fire on preston, nobody to send"], []),
    (["he had a bench warrant for the shooting at the gas station, that got served"], []),
    # ... while the danger at hand still counts
    (["officers are on the scene and he is shooting at them"], ["crime", "emergency"]),
    (["he has a felony warrant and he's shooting at us right now"], ["criminal_warrant", "emergency"]),
    (["my guys are there now, he's waving a gun at the neighbors"], ["crime", "emergency"]),
])
def test_danger_elsewhere_or_behind_a_warrant(lines, kinds):
    assert counted(*lines) == kinds


@pytest.mark.parametrize("lines, kinds", [
    # Whisper spellings of the paperwork
    (["theres a copious on him out of circuit court for failure to appear"], ["criminal_warrant"]),
    (["we lodged a detain her on him at the jail in june"], ["immigration_warrant"]),
    (["we just want to detain her and go"], []),
    (["he came back with an ncic hit, a felony out of tennessee"], ["criminal_warrant"]),
    (["there is no criminal process outstanding in this county"], []),
    (["is there any criminal process on him"], []),
])
def test_warrant_vocabulary(lines, kinds):
    assert counted(*lines) == kinds


@pytest.mark.parametrize("lines, kinds", [
    (["could you guys do a knock in talk for us"], ["door_knock"]),
    (["can you do knock n talk at the trailer"], ["door_knock"]),
    (["if you could just park a cruiser in front so she comes out, we'd grab her"], ["door_knock"]),
    (["we need your officers to walk up to the apartment first, he trusts police"], ["door_knock"]),
    (["have one of your guys guard the side door while we make contact"], ["door_knock"]),
    (["your people could breach the door, we don't have a ram"], ["door_knock"]),
    (["all we need is you to help us get inside"], ["door_knock"]),
    # ICE's own efforts, and the subject sitting at a door
    (["we've been trying to talk him out for an hour"], []),
    (["he's sitting on the back porch smoking"], []),
])
def test_door_knock_requests(lines, kinds):
    assert counted(*lines) == kinds


def test_request_put_as_if_counts_and_asr_repeats_do_not_hide_it():
    assert counted("what we'd love is if some of your officers would stand at the door with us") == ["door_knock"]
    assert counted("we were thinking if uh if your officers could cover the back door") == ["door_knock"]
    # a real condition still makes it hypothetical
    assert qualifiers("emergency", "if he pulls a gun we'll back off") == ["hypothetical"]


def test_if_as_a_turn_of_speech_is_not_a_condition():
    assert counted("So if I follow you right, you want my officers to knock and bring him out.",
                   speaker="officer") == ["door_knock"]


def test_the_thing_is_is_not_a_question():
    assert counted("the problem is he sees our cars so we need one of your units out front so he opens up"
                   ) == ["door_knock"]


def test_radio_negatives():
    assert qualifiers("criminal_warrant", "Ran him, neg felony warrants.") == ["negated"]
    assert qualifiers("emergency", "Negative weapons on subj.") == ["negated"]


def test_refusal_by_the_department_named_as_subject():
    quals = qualifiers("door_knock", "This department does not knock on doors for ICE.", speaker="officer")
    assert quals == ["refused"]
    assert qualifiers("door_knock", "Metro won't be knocking on any doors for you.", speaker="officer") == ["refused"]


def test_warrant_charge_named_with_its_court_is_old():
    quals = qualifiers("crime", "Found it: burglary third, Circuit Court, issued in March. Still good.")
    assert quals == ["historical"]


def test_old_charge_named_again_stays_old_but_the_incident_at_hand_counts():
    call = ["He's got a misdemeanor warrant for criminal trespass.", "What was the criminal trespass?"]
    assert qualifiers("crime", *call) == ["historical", "historical"]
    call = ["He has an old assault conviction.", "He just assaulted the manager!"]
    assert qualifiers("crime", *call) == ["historical", None]
    call = ["His warrant is for trespass.", "He's trespass right now, in the back lot."]
    assert qualifiers("crime", *call)[-1] is None


@pytest.mark.parametrize("line, kind, expected", [
    # an answering "no" that Whisper left unpunctuated does not negate the next clause
    ("no no she just pulled a knife on the cashier", "emergency", [None]),
    ("no he is not armed at all", "emergency", ["negated"]),
    # days and weeks ago are the past too
    ("his girlfriend says he smacked her around three weeks ago", "crime", ["historical"]),
    # someone's paper: the charge it was issued for, and a warrant already served
    ("he's wanted for embezzlement up in Ohio", "crime", ["historical"]),
    ("the sheriff served that felony warrant on him last year", "criminal_warrant", ["historical"]),
    # age, not history
    ("some kid just mugged an old man by the bus stop", "crime", [None]),
])
def test_scope_fixes(line, kind, expected):
    assert qualifiers(kind, line) == expected


@pytest.mark.parametrize("lines, kinds", [
    (["would one of your officers ring the doorbell for us"], ["door_knock"]),
    (["all we're after is a police presence at the door when he answers"], ["door_knock"]),
    (["we need your officer to do the talking at the front door"], ["door_knock"]),
    (["a woman is yelling for help from the upstairs window"], ["emergency"]),
    (["there's a guy pinned under a motorcycle on dixie"], ["emergency"]),
    (["he's going the wrong way on the gene snyder"], ["emergency"]),
    (["they held up the pharmacy at knifepoint just now"], ["crime", "emergency"]),
    (["that unit is dealing out of the back bedroom"], ["crime"]),
])
def test_more_request_and_danger_vocabulary(lines, kinds):
    assert counted(*lines) == kinds


# --- rules 2025.11.4 (after the second blind run, tests/data/blind2) ---

@pytest.mark.parametrize("lines, kinds", [
    # Whisper's homophones for "warrant", only after a warrant's modifier or a verb of having one
    (["he has an open felony warren out of hamilton county ohio"], ["criminal_warrant"]),
    (["they got a bench war and on him from bullitt"], ["criminal_warrant"]),
    (["we have a civil warren from our field office"], ["immigration_warrant"]),
    (["an i 205 on him", "its a 205 warren for removal"], ["immigration_warrant"]),
    # warrants from other states, radio shorthand, "paper" from a court
    (["there's a warrant out of Tennessee on him for the robbery"], ["criminal_warrant"]),
    (["the Ohio warrant is still good, Ohio will extradite"], ["criminal_warrant"]),
    (["he's got an FTA from traffic court"], ["criminal_warrant"]),
    (["Nelson County has a parole violator warrant on her"], ["criminal_warrant"]),
    (["we'd pick him up on the Bullitt County paper"], ["criminal_warrant"]),
    # immigration paper named obliquely
    (["we have the paperwork from the immigration court on her"], ["immigration_warrant"]),
    (["on our end it's administrative, nothing else"], ["immigration_warrant"]),
    # look-alikes: places, newspapers, history, a war
    (["he lives out in warren county with his aunt"], []),
    (["the county paper ran a story about him"], []),
    (["he moved up here from Indiana two years ago"], []),
    (["my grandfather was in the war and came home fine"], []),
])
def test_warrant_asr_and_oblique_wording(lines, kinds):
    assert counted(*lines) == kinds


def test_someone_elses_warrant_and_a_served_one_are_criminal_and_do_not_count():
    assert qualifiers("criminal_warrant", "hold on that's his cousin's warrant not his") == ["negated"]
    assert qualifiers("criminal_warrant", "the warrant is for his brother actually") == ["negated"]
    assert counted("he had a warrant years ago down in Georgia, got served", "we've got the final order") \
        == ["immigration_warrant"]


@pytest.mark.parametrize("lines, kinds", [
    # violence, theft, drugs, threats, driving described without the offense's name
    (["he's out front beating on his wife"], ["crime"]),
    (["the guy is striking her with a belt"], ["crime"]),
    (["he's lunging at people with a broken bottle"], ["crime"]),
    (["he stuffed a woman into the trunk of a sedan"], ["crime", "emergency"]),
    (["she emptied the tip jar and ran"], ["crime"]),
    (["he drove off with the lady's purse"], ["crime"]),
    (["he's dealing out of the back of his trunk right now"], ["crime"]),
    (["her ex keeps texting that he's gonna torch her car"], ["crime"]),
    (["he's swerving all over, crossed the double yellow twice"], ["crime"]),
    # look-alikes: arrests, errands, kids at play, businesses
    (["we grabbed him at the bus stop, he's in our car"], []),
    (["he grabbed his kid from daycare and went home"], []),
    (["the kids were swinging at the park all afternoon"], []),
    (["the store is selling out of generators"], []),
    (["he did a couple years for possession of cocaine in 2012"], []),
])
def test_crimes_without_their_keyword(lines, kinds):
    assert counted(*lines) == kinds


@pytest.mark.parametrize("lines, kinds", [
    (["black smoke is billowing out of the garage"], ["emergency"]),
    (["we heard three pops from behind the laundromat"], ["emergency"]),
    (["he nearly ran over a bunch of kids in the crosswalk lot"], ["emergency"]),
    (["folks are diving out of his way on the sidewalk"], ["emergency"]),
    (["the shooter is still in the parking garage"], ["emergency"]),
    # look-alikes
    (["he stepped out back for a smoke"], []),
    (["his pops is the one who owns the shop"], []),
    (["he almost hit the curb parking"], []),
])
def test_unnamed_fire_shots_and_people_in_the_way(lines, kinds):
    assert counted(*lines) == kinds


def test_a_bare_danger_word_turn_is_a_question_in_asr_text():
    assert counted("armed", speaker="unknown") == []
    assert counted("any weapons on him") == []
    assert counted("he carrying") == []
    assert counted("hes armed he has a rifle") == ["emergency"]
    assert counted("gun") == ["emergency"]


@pytest.mark.parametrize("lines, kinds", [
    (["we need a couple of your officers to help us gain entry"], ["door_knock"]),
    (["can one of yours knock for us, he knows our cars"], ["door_knock"]),
    # ICE doing it themselves
    (["we already gained entry through the garage ourselves"], []),
])
def test_door_knock_in_other_words(lines, kinds):
    assert counted(*lines) == kinds


def test_chance_and_hearsay_are_hypothetical():
    assert qualifiers("emergency", "there's a good chance he's got a rifle in the truck") == ["hypothetical"]
    assert qualifiers("emergency", "we've been told he carries a handgun") == ["hypothetical"]
    # a request put as "any chance" still counts
    assert counted("any chance one of your guys could knock on the door") == ["door_knock"]


def test_the_answer_to_whats_the_charge_is_the_warrants_charge():
    assert counted("he's got a felony warrant out of Hardin", "whats the charge on that warrant",
                   "theft over five hundred") == ["criminal_warrant"]
    # unless the answer marks the incident at hand
    assert counted("he's got a felony warrant out of Hardin", "whats the charge on that warrant",
                   "forget the warrant he just robbed the clerk") == ["crime", "criminal_warrant"]


def test_short_call_that_drops_before_any_request_is_unusable():
    from callreview.core.usability import is_unusable

    def segs(*lines):
        return [Segment(start=float(i), end=float(i) + 1, text=t, speaker="unknown") for i, t in enumerate(lines)]

    assert is_unusable(segs("lieutenant go ahead", "hello", "hello you still there", "i think we lost him"),
                        "en", RULES)
    assert not is_unusable(segs("lieutenant reyes", "shots fired at fifth and main send units", "sending now"),
                           "en", RULES)
    assert not is_unusable(segs("you still there", "yeah sorry", "he's got a felony warrant out of clark county",
                                "okay ill send a car"), "en", RULES)


# Case sets written before their writers read the rules, in other styles than dev (each was tuned on after
# its first blind run; the commit that added each set records that run's figures).
BLIND_SETS = {"heldout": HELDOUT, "blind2": BLIND2}


def _meets_the_bar(result: dict) -> None:
    assert result["tags"]["f1"] >= 0.97, result["wrong"]
    assert result["verdict_accuracy"] >= 0.95, result["wrong"]
    assert result["mismatch"]["recall"] == 1.0, result["wrong"]


@pytest.mark.parametrize("name", sorted(BLIND_SETS))
def test_blind_case_sets_meet_the_bar(name):
    result = evaluate_cases(sorted(BLIND_SETS[name].glob("*.json")), RULES)
    assert result["cases"] == 30
    _meets_the_bar(result)


@pytest.mark.parametrize("apostrophes", [True, False])
@pytest.mark.parametrize("name", sorted(BLIND_SETS))
def test_blind_case_sets_as_whisper_would_write_them(name, apostrophes):
    scored = []
    for path in sorted(BLIND_SETS[name].glob("*.json")):
        log, segments, language = read_case(path)
        assessment = assess_call(log, degrade_segments(segments, apostrophes=apostrophes), language, RULES)
        scored.append(ScoredCase(path.stem, str(path), assessment, read_expected(path)))
    _meets_the_bar(score_cases(scored, RULES.version))
