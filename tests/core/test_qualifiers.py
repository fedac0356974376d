"""Qualifier scope: negated, hypothetical, historical and refused, punctuated and as ASR text."""
from __future__ import annotations

import pytest

from callreview.core.rules import load_rules
from callreview.core.tagging import tag_transcript
from callreview.transcribe.segments import Segment

RULES = load_rules()


def qualifiers(text: str, kind: str, speaker: str = "unknown") -> list[str | None]:
    mentions = tag_transcript([Segment(0, 1, text, speaker=speaker)], RULES)
    return [m.qualifier for m in mentions if m.kind == kind]


@pytest.mark.parametrize("text, kind, expected", [
    # negated
    ("He's not armed, and he never carried a gun.", "emergency", "negated"),
    ("nobody got hurt it was a little fender bender", "emergency", "negated"),
    ("there are no local warrants on him", "criminal_warrant", "negated"),
    ("i haven't seen any weapon on him", "emergency", "negated"),
    # hypothetical
    ("if he runs into traffic somebody's going to get killed", "emergency", "hypothetical"),
    ("he may be carrying a pistol, we're not sure", "emergency", "hypothetical"),
    ("we're checking whether there's a warrant on him", "criminal_warrant", "hypothetical"),
    ("okay is he armed", "emergency", "hypothetical"),
    ("just in case he comes out with a rifle", "emergency", "hypothetical"),
    # historical
    ("he's got a robbery conviction from twenty fourteen", "crime", "historical"),
    ("he did six years for assault back in 2009", "crime", "historical"),
    ("he had a gun charge a few years ago", "emergency", "historical"),
    # refused: the officer restating policy
    ("We don't do door knocks for immigration.", "door_knock", "refused"),
    ("we only respond on a criminal warrant, a crime, or an emergency", "emergency", "refused"),
])
def test_qualifier(text, kind, expected):
    assert expected in qualifiers(text, kind)


@pytest.mark.parametrize("text, kind", [
    ("she's not moving, she's bleeding from the head", "emergency"),
    ("he just assaulted my partner in the driveway", "crime"),
    ("if your officers could stand by at the door while we knock", "door_knock"),
    ("don't approach the guy with the gun", "emergency"),
    ("he's got a warrant for assault and he just punched my partner", "crime"),
])
def test_counts_despite_trigger_words(text, kind):
    assert None in qualifiers(text, kind)


def test_ice_repeating_policy_back_is_negation_not_refusal():
    assert qualifiers("right, I know you don't do door knocks for us", "door_knock", speaker="ice") == ["negated"]


def test_scope_stops_at_but():
    assert qualifiers("nobody's hurt but he's got a gun on the passenger", "emergency")[-1] is None
