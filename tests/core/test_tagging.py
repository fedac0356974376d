"""The tagger on phrasings of its own (not the dev set's): kinds, warrant resolution, evidence, flags."""
from __future__ import annotations

import pytest

from callreview.core.mentions import counted_kinds
from callreview.core.rules import load_rules
from callreview.core.tagging import tag_transcript
from callreview.transcribe.segments import Segment

RULES = load_rules()


def _segs(*lines: str, speaker: str = "unknown") -> list[Segment]:
    return [Segment(start=float(i), end=float(i) + 1, text=t, speaker=speaker) for i, t in enumerate(lines)]


def counted(*lines: str, speaker: str = "unknown") -> list[str]:
    return counted_kinds(tag_transcript(_segs(*lines, speaker=speaker), RULES))


@pytest.mark.parametrize("lines, kinds", [
    # criminal vs immigration warrants, typed outright
    (["he's got a felony warrant out of oldham county"], ["criminal_warrant"]),
    (["there's a capias on him from district court"], ["criminal_warrant"]),
    (["we're holding an i 200 on him"], ["immigration_warrant"]),
    (["it's an I two hundred signed by my supervisor"], ["immigration_warrant"]),
    (["we lodged an i-247a with the jail"], ["immigration_warrant"]),
    (["he has a final order of deportation"], ["immigration_warrant"]),
    (["ice detainer on him, that's all"], ["immigration_warrant"]),
    # "a warrant" takes the kind the call reveals later
    (["I got a warrant on this guy.", "it's a removal warrant, the i two oh five"], ["immigration_warrant"]),
    (["we have a warrant for him", "yeah it's a bench warrant for failure to appear"], ["criminal_warrant"]),
    (["he's got a warrant", "is it criminal?", "no, it is not a criminal warrant, it's ours"], ["immigration_warrant"]),
    (["he has a warrant, that's all I know"], []),
    # "never" negates a clause, not the compound it starts
    (["he has never had a felony warrant"], []),
    (["it's one more case in a never-ending pile: a felony warrant out of circuit court"], ["criminal_warrant"]),
    (["we have a warrant for his arrest", "and this is not an immigration warrant?", "correct, not an immigration warrant"],
     ["criminal_warrant"]),
    # both kinds ruled out: nothing is left to guess
    (["he has a warrant", "it's not a criminal warrant and not an immigration warrant either"], []),
    # crimes in the incident at hand; immigration status is never a crime
    (["a guy just broke into a car in the lot and took a laptop"], ["crime"]),
    (["he's selling dope out of the trunk right now"], ["crime"]),
    (["he punched my partner and took off running"], ["crime"]),
    (["he's an illegal alien, re-entry after removal, that's a federal crime"], []),
    (["he overstayed his visa, that is a crime in my book"], []),
    # emergencies
    (["shots fired shots fired he's shooting from the roof"], ["crime", "emergency"]),
    (["he's got a knife to her throat in the kitchen"], ["emergency"]),
    (["the driver's not breathing after the wreck"], ["emergency"]),
    (["he's barricaded in the bathroom with a shotgun"], ["emergency"]),
    # door knocks, direct and indirect
    (["we need a couple of your officers to knock on the door for us"], ["door_knock"]),
    (["could you have a unit stand by at the front door while we make contact"], ["door_knock"]),
    (["if your guys could cover the back door while we knock that would be great"], ["door_knock"]),
    (["just get him to come out, he'll come out for a uniform"], ["door_knock"]),
    (["we'd want your people to clear the apartment first"], ["door_knock"]),
    (["we knocked twice already and nobody answered"], []),
    (["we're going to be sitting on the house all night"], []),
    # police posted at the front or back of the house, whatever the noun after it (or Whisper's version of it)
    (["what we'd like is a marked unit at the front more while we talk to him"], ["door_knock"]),
    (["have two cars on the back while we go up"], ["door_knock"]),
    (["he can wait for you at the front desk of the station"], []),
    # "your" with a word of its own before the police noun
    (["put your patrol guys on that door and he'll open right up"], ["door_knock"]),
    (["your guy is at the front door right now yelling at his neighbour"], []),  # the subject, not police
])
def test_counted_kinds(lines, kinds):
    assert counted(*lines) == kinds


def test_mention_carries_its_evidence():
    segs = _segs("Morning. He has an I-205 and a felony warrant.", speaker="ice")
    mentions = tag_transcript(segs, RULES)
    for m in mentions:
        assert segs[m.segment].text[m.char_start:m.char_end] == m.text
        assert m.speaker == "ice" and (m.start, m.end) == (0.0, 1.0) and m.rule
    assert {m.kind for m in mentions} == {"immigration_warrant", "criminal_warrant"}


def test_flagged_segments_are_left_out_of_tagging():
    segs = [Segment(0, 1, "Shots fired! Shots fired!", flags=("known_phantom",)),
            Segment(1, 2, "we have an i-200 for him")]
    mentions = tag_transcript(segs, RULES)
    assert {m.kind for m in mentions} == {"immigration_warrant"}
    assert all(m.segment == 1 for m in mentions)


def test_spanish_segments_are_skipped_and_english_ones_tagged():
    segs = _segs("Sí, está en la casa, no tiene armas.", "we got a detainer on him, can your guys knock on the door")
    assert counted_kinds(tag_transcript(segs, RULES)) == ["door_knock", "immigration_warrant"]


def test_a_warrant_found_inactive_later_does_not_count():
    segs = _segs("he's got a county warrant for theft", "let me look", "that was served last year, there's nothing active on him")
    assert "criminal_warrant" not in counted_kinds(tag_transcript(segs, RULES))


def test_refusal_by_the_officer_does_not_cancel_ices_request():
    segs = [Segment(0, 1, "can one of your officers knock on the door for us", speaker="ice"),
            Segment(1, 2, "no, we don't knock on doors for ICE", speaker="officer")]
    mentions = tag_transcript(segs, RULES)
    assert [(m.segment, m.qualifier) for m in mentions if m.kind == "door_knock"] == [(0, None), (1, "refused")]


def _call(*turns: tuple[str, str]) -> list[Segment]:
    return [Segment(start=float(i), end=float(i) + 1, text=t, speaker=who) for i, (who, t) in enumerate(turns)]


def test_what_the_officer_asked_about_does_not_count_when_the_caller_denies_it():
    # Whisper lost the question ("Is anybody there a danger ..."); the flat "no" still answers it.
    segs = _call(("officer", "The men and women are danger to your people right now."),
                 ("ice", "No, nobody else has done anything."))
    assert counted_kinds(tag_transcript(segs, RULES)) == []
    confirmed = _call(("officer", "So he's a danger to your people right now."), ("ice", "Yes, he is."))
    assert counted_kinds(tag_transcript(confirmed, RULES)) == ["emergency"]


def test_a_denial_answers_only_the_officers_last_sentence():
    segs = _call(("officer", "Okay, I'll send a car for the assault. Is anybody hurt?"), ("ice", "No."))
    mentions = tag_transcript(segs, RULES)
    assert [(m.text, m.qualifier) for m in mentions if m.kind == "crime"] == [("assault", None)]


def test_a_no_from_the_officer_denies_nothing_ice_said():
    segs = _call(("ice", "He's got a gun and he's threatening the neighbours."), ("officer", "No kidding. Sending units."))
    assert "emergency" in counted_kinds(tag_transcript(segs, RULES))
    refused = _call(("ice", "We need your officers to knock on the door for us."),
                    ("officer", "No, we don't do that."))
    assert "door_knock" in counted_kinds(tag_transcript(refused, RULES))


def test_who_the_speaker_is_not_negates_no_warrant():
    from callreview.core.qualifiers import SegmentScope

    def qualifier(text: str) -> str | None:
        at = text.index("arrest warrant")
        return SegmentScope(text, RULES).qualify(at, at + len("arrest warrant"), "warrant")

    # "I've got an arrest warrant" as Whisper heard it: the speaker is not a warrant, so nothing is denied
    assert qualifier("I'm not an arrest warrant I'd like some help on") is None
    assert qualifier("it's not an arrest warrant I'd like some help on") == "negated"


def test_a_squad_named_after_a_crime_is_not_a_crime():
    segs = _call(("ice", "we are working this with your narcotics unit and the robbery detectives"))
    assert counted_kinds(tag_transcript(segs, RULES)) == []


def test_a_request_put_as_you_could_is_not_a_possibility():
    segs = _call(("ice", "i was hoping you could send somebody and have your officer knock on the door for us"))
    assert counted_kinds(tag_transcript(segs, RULES)) == ["door_knock"]


def test_a_warrant_someone_had_stays_past_when_it_is_repeated():
    segs = _call(("ice", "He had a felony warrant with you guys, it got served in the spring."),
                 ("officer", "Felony warrant. Okay, I'll send a car."))
    assert counted_kinds(tag_transcript(segs, RULES)) == []
    fresh = _call(("ice", "He had a felony warrant with you guys."), ("officer", "Felony warrant right now, active."))
    assert counted_kinds(tag_transcript(fresh, RULES)) == ["criminal_warrant"]


def test_violence_drink_driving_and_drug_sales_said_plainly_are_crimes():
    for line in ("a man he is hitting the lady at the bus stop",
                 "the driver is drinking from a bottle and driving on the highway",
                 "he is selling little bags of pills from the car"):
        assert counted_kinds(tag_transcript(_call(("ice", line)), RULES)) == ["crime"], line


def test_dangerous_alone_describes_a_person_but_a_danger_to_people_is_an_emergency():
    assert counted_kinds(tag_transcript(_call(("ice", "he is a dangerous guy, we have an I-200")), RULES)) == [
        "immigration_warrant"]
    assert "emergency" in counted_kinds(tag_transcript(_call(("ice", "he is a danger to the kids in there")), RULES))


def test_a_capias_or_a_warrant_followed_by_its_offense_class_is_criminal_beside_immigration_paper():
    segs = _call(("ice", "he's in our car on the I-200 but your capias is priority"))
    assert counted_kinds(tag_transcript(segs, RULES)) == ["criminal_warrant", "immigration_warrant"]
    segs = _call(("ice", "we have an i two hundred on him"),
                 ("dispatcher", "i show an active warrant for a john doe misdemeanor theft out of district court"))
    assert counted_kinds(tag_transcript(segs, RULES)) == ["criminal_warrant", "immigration_warrant"]


@pytest.mark.parametrize("line", [
    "somebody shooting behind the store, many shots",
    "he say he shoot anybody who come in the house",
    "the lady is yelling he take my car, now he drive it away",
    "a man is breaking the windows of the cars on the lot",
])
def test_crimes_in_plain_non_native_speech(line):
    assert "crime" in counted_kinds(tag_transcript(_call(("ice", line)), RULES))


def test_a_perimeter_in_the_street_is_not_a_door_but_one_on_the_house_is():
    open_air = _call(("officer", "All units respond. Agents hold perimeter at the intersection, do not engage."))
    assert "door_knock" not in counted_kinds(tag_transcript(open_air, RULES))
    house = _call(("ice", "we need your officers to hold a perimeter around the house while we go in"))
    assert "door_knock" in counted_kinds(tag_transcript(house, RULES))


def test_what_the_speaker_takes_back_does_not_count():
    segs = _call(("ice", "He has a felony warrant out of circuit court, correction, it is an I-205 from us."))
    assert counted_kinds(tag_transcript(segs, RULES)) == ["immigration_warrant"]


@pytest.mark.parametrize("line", [
    "He's at the window yelling that he'll shoot whoever walks up the driveway.",
    "the male has discharged a handgun twice toward the street",
    "somebody just stabbed a guy outside the laundromat",
    "he is waving the machete at our agents in the lot",
])
def test_violence_or_a_threat_happening_now_is_a_crime_as_well(line):
    assert "crime" in counted_kinds(tag_transcript(_call(("ice", line)), RULES))


def test_a_threat_made_years_ago_is_no_crime_now():
    segs = _call(("ice", "Back in 2014 he threatened to shoot his landlord, he did eighteen months for it."))
    assert "crime" not in counted_kinds(tag_transcript(segs, RULES))


@pytest.mark.parametrize("line", [
    "could one of your guys walk up to the door with us, he'll answer for a uniform",
    "we only need an officer to help us with the door at the apartment",
    "send a unit by the house and have him step outside so we can talk to him",
    "if your officers could make her answer the door, that's all",
    "if you could have a couple of your officers uh just go up with us and and knock",
])
def test_contact_at_the_door_asked_for_in_other_words_is_a_door_knock(line):
    assert counted_kinds(tag_transcript(_call(("ice", line)), RULES)) == ["door_knock"]


def test_the_subject_stepping_out_by_himself_asks_nothing_of_police():
    segs = _call(("ice", "He came out of the house on his own and we took him at the car, no police needed."))
    assert "door_knock" not in counted_kinds(tag_transcript(segs, RULES))


def test_a_warrant_the_person_was_picked_up_on_and_bonded_out_of_no_longer_counts():
    segs = _call(("ice", "He had a felony warrant with you guys, burglary."),
                 ("ice", "You picked him up on it in March and he bonded out the next day."))
    assert "criminal_warrant" not in counted_kinds(tag_transcript(segs, RULES))


@pytest.mark.parametrize("line", [
    "He slipped on the ice and hit his head on the curb, he's not moving.",
    "The kid got hit by a car crossing Preston, he's on the ground.",
    "A pickup struck her in the crosswalk, the driver stopped and is with her.",
])
def test_a_person_hurt_by_accident_is_not_a_crime(line):
    assert "crime" not in counted_kinds(tag_transcript(_call(("ice", line)), RULES))


def test_a_year_set_off_by_commas_dates_the_crime_but_an_address_number_does_not():
    dated = _call(("ice", "His cousin did a burglary on that block, 2016, they never found the stuff."))
    assert "crime" not in counted_kinds(tag_transcript(dated, RULES))
    address = _call(("ice", "Somebody is breaking into cars at 2016 Bardstown Road right now."))
    assert "crime" in counted_kinds(tag_transcript(address, RULES))


def test_a_charge_already_brought_is_the_past():
    segs = _call(("ice", "He was charged, burglary second degree, and never went to court."))
    assert "crime" not in counted_kinds(tag_transcript(segs, RULES))


@pytest.mark.parametrize("line", ["a car hit him and took off down Broadway", "A pickup hit her, the driver kept going"])
def test_a_driver_who_hits_someone_and_leaves_commits_a_crime(line):
    assert "crime" in counted_kinds(tag_transcript(_call(("ice", line)), RULES))


def test_a_crime_on_a_day_already_past_is_not_the_incident_at_hand():
    past = _call(("ice", "Last Saturday he got into a fight outside the laundromat and broke a man's jaw."))
    assert "crime" not in counted_kinds(tag_transcript(past, RULES))
    now = _call(("ice", "He got into a fight outside the laundromat just now, the man is on the ground."))
    assert "crime" in counted_kinds(tag_transcript(now, RULES))


def test_a_knock_asked_for_as_if_is_a_door_knock_but_the_subjects_own_if_stays_conditional():
    asked = _call(("ice", "If your officers knock and she sees the uniform, she'll open up for us."))
    assert "door_knock" in counted_kinds(tag_transcript(asked, RULES))
    musing = _call(("ice", "If he knocks on the neighbour's door we might lose him."))
    assert "door_knock" not in counted_kinds(tag_transcript(musing, RULES))
