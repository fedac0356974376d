"""callreview.core.redaction: names and street addresses never reach a published quote."""
import pytest

from callreview.core.redaction import redact


@pytest.mark.parametrize("text, expected", [
    ("This is Officer Marsh with ICE.", "This is Officer [name] with ICE."),
    ("Deportation Officer K. Dunn called.", "Deportation Officer [name] called."),
    ("Lt. A. Reyes sent a unit.", "Lt. [name] sent a unit."),
    ("Sergeant Lowry, go ahead.", "Sergeant [name], go ahead."),
    ("Talk to Mrs. O'Neill-Baker first.", "Talk to Mrs. [name] first."),
    ("My name is Ana Ruiz.", "My name is [name]."),
    ("She goes by Chuy, last name Soto.", "She goes by [name], last name [name]."),
    ("this is Luis, the brother", "this is [name], the brother"),
])
def test_names_after_titles_and_introductions_are_redacted(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize("text", ["This is ICE calling.", "This is Dispatch.", "NCIC shows a felony warrant.",
                                  "Two units sent to assist ICE at the apartment."])
def test_text_without_names_is_left_alone(text):
    assert redact(text) == text


@pytest.mark.parametrize("text, expected", [
    ("He lives at 1234 Bardstown Road.", "He lives at [address]."),
    ("Meet at 500 W. Main St now", "Meet at [address] now"),
    ("It's 4410 Poplar Level Rd, apartment 4B.", "It's [address], apartment [number]."),
    ("the motel on Preston Highway", "the motel on [street]"),
    ("a man in apartment four", "a man in apartment [number]"),
    ("unit #12 in the back", "unit [number] in the back"),
])
def test_street_addresses_and_units_are_redacted(text, expected):
    assert redact(text) == expected


def test_phone_numbers_are_redacted():
    assert redact("call back at 502-555-0143 or (502) 555 0199") == "call back at [phone] or [phone]"


def test_names_known_from_the_log_are_redacted_anywhere_in_any_case():
    note = "Reyes confirmed with MARSH; reyes sent one unit."
    assert redact(note, ["Lt. A. Reyes", "Deportation Officer J. Marsh"]) == \
        "[name] confirmed with [name]; [name] sent one unit."


def test_titles_and_short_words_of_known_names_are_not_redacted():
    assert redact("The officer on duty", ["Officer Al Li"]) == "The officer on duty"


def test_empty_text_stays_empty():
    assert redact("") == "" and redact(None) is None
