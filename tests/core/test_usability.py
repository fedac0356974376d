"""transcript_unusable: the dev positives, none of the rest, and the edge cases around them."""
from __future__ import annotations

from pathlib import Path

import pytest

from callreview.core.cases import read_case
from callreview.core.rules import load_rules
from callreview.core.usability import is_unusable
from callreview.transcribe.segments import Segment

RULES = load_rules()
DEV = Path(__file__).resolve().parents[3] / "shared" / "eval" / "dev"
DEV_UNUSABLE = {"DV-010", "DV-018", "DV-024", "DV-034", "DV-047"}


@pytest.mark.skipif(not DEV.is_dir(), reason="shared/eval/dev not present")
def test_dev_set_unusable_calls_exactly():
    flagged = set()
    for path in sorted(DEV.glob("*.json")):
        _, segments, language = read_case(path)
        if is_unusable(segments, language, RULES):
            flagged.add(path.stem)
    assert flagged == DEV_UNUSABLE


def _segs(*texts: str) -> list[Segment]:
    return [Segment(float(i), float(i) + 1, t) for i, t in enumerate(texts)]


def test_spanish_call_with_some_english_is_usable():
    segs = _segs("Buenos días, ¿en qué le puedo ayudar?", "Un momento, le paso al agente.",
                 "Lieutenant, this is agent Ruiz with ICE, we have a detainer on a man at the house on Elm.",
                 "What do you need from us?", "Just a car out front while we talk to him.")
    assert not is_unusable(segs, "es", RULES)


def test_terse_radio_english_is_usable():
    segs = _segs("Command, ICE-7.", "Go.", "Shots fired, Fourth and Main, one down.", "Copy, units rolling.")
    assert not is_unusable(segs, "en", RULES)


def test_only_noise_markers_is_unusable():
    assert is_unusable(_segs("[static]", "[inaudible]", "[crosstalk] [inaudible]"), "en", RULES)


def test_all_segments_flagged_is_unusable():
    segs = [Segment(0, 1, "Thank you for watching.", flags=("known_phantom",))]
    assert is_unusable(segs, "en", RULES)
    assert is_unusable([], None, RULES)


def test_a_few_inaudible_bits_in_a_long_call_are_fine():
    texts = ["we have an I-200 for a man on Elm street and I'd like a car nearby"] * 9 + ["[inaudible]"]
    assert not is_unusable(_segs(*texts), "en", RULES)
