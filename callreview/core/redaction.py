"""Redaction of people's names and street addresses in text the department publishes.

The transparency report quotes logs and transcripts; the people in them (the subject, agents, officers,
family) are not the public's business, and neither is where they live. The rules, applied in order:

1. names the caller knows (the log's commanding officer and requester): each surname or given name of
   three or more letters, wherever it appears, any case;
2. a title or form of address followed by a name: "Officer Marsh", "Deportation Officer K. Dunn",
   "Lt. A. Reyes", "Mr. Garcia" -> the title stays, the name goes ("Officer [name]");
3. introductions: "this is Luis", "my name is Ana Ruiz", "goes by Chuy", "last name Soto", "named X";
4. a street address: a house number and a street ("1234 Bardstown Road", "500 W. Main St") -> "[address]";
   a named street without a number ("on Preston Highway") -> "[street]"; an apartment or unit number
   ("apartment 4B", "unit twelve") -> "apartment [number]";
5. telephone numbers -> "[phone]".

Rules are regular expressions over capitalised words, so they err towards redacting too much in
capitalised text ("Officer Safety" becomes "Officer [name]"), which is the safe side for a publication.
"""
from __future__ import annotations

import re
from typing import Iterable

NAME = "[name]"
ADDRESS = "[address]"
STREET = "[street]"
NUMBER = "[number]"
PHONE = "[phone]"

_TITLES = (r"(?:Deportation\s+Officer|Special\s+Agent|Officer|Agent|Detective|Det\.|Lieutenant|Lt\.|Sergeant|"
           r"Sgt\.|Captain|Capt\.|Corporal|Cpl\.|Deputy|Trooper|Chief|Major|Commander|Judge|Mr\.?|Mrs\.?|Ms\.?|"
           r"Miss|Dr\.|Mister)")
# A name: an optional initial or two, then one or two capitalised words (a hyphen or apostrophe inside).
_NAME_WORDS = r"(?:[A-Z]\.\s*){0,2}[A-Z][a-zA-Z'\-]+(?:\s+[A-Z][a-zA-Z'\-]+)?"
_TITLED_NAME = re.compile(rf"\b({_TITLES})(\s+)({_NAME_WORDS})")
_INTRO = re.compile(rf"\b((?:[Tt]his\s+is|[Mm]y\s+name\s+is|[Nn]ame\s+is|[Gg]oes\s+by|[Ll]ast\s+name(?:\s+is)?|"
                    rf"[Ff]irst\s+name(?:\s+is)?|[Nn]amed|[Cc]alled)\s+)({_NAME_WORDS})")
_STREET_TYPES = (r"(?:Street|St\.?|Road|Rd\.?|Avenue|Ave\.?|Boulevard|Blvd\.?|Drive|Dr\.?|Lane|Ln\.?|Highway|"
                 r"Hwy\.?|Parkway|Pkwy\.?|Court|Ct\.?|Place|Pl\.?|Way|Circle|Cir\.?|Pike|Terrace|Trail|Loop)")
_STREET_NAME = rf"(?:(?:[NSEW]\.?|North|South|East|West)\s+)?(?:[A-Z0-9][a-zA-Z0-9'\-]*\s+){{1,3}}{_STREET_TYPES}"
_ADDRESS = re.compile(rf"\b\d{{1,6}}[A-Za-z]?\s+{_STREET_NAME}(?![a-zA-Z])")
_STREET = re.compile(rf"\b{_STREET_NAME}(?![a-zA-Z])")
_NUMBER_WORDS = (r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
                 r"sixteen|seventeen|eighteen|nineteen|twenty)")
_UNIT = re.compile(rf"\b((?:[Aa]partment|[Aa]pt\.?|[Uu]nit|[Ss]uite|[Ll]ot|[Rr]oom)\s+)(?:#\s*)?"
                   rf"(?:\d+[A-Za-z]?|[A-Z]\b|{_NUMBER_WORDS}\b)")
_PHONE = re.compile(r"(?:\(\d{3}\)\s*|\b\d{3}[-.\s])\d{3}[-.\s]\d{4}\b")
# Words that are capitalised in transcripts but are not names, kept out of rule 3 ("this is ICE").
_NOT_NAMES = {"ICE", "ERO", "HSI", "DHS", "FBI", "NCIC", "Dispatch", "The", "A", "An", "It", "That", "Homeland",
              "Immigration", "Louisville", "Metro", "Police", "Sergeant", "Lieutenant", "Officer", "Agent",
              "Captain", "Deportation", "Special", "Detective", "Unit", "Okay", "Yes", "No"}


def redact(text: str, known_names: Iterable[str] = ()) -> str:
    """Return `text` with names, street addresses and phone numbers replaced by markers.

    Args:
        text: anything that will be published.
        known_names: full names known to appear (e.g. "Lt. A. Reyes"); their name words are redacted
            everywhere in `text`.

    Returns:
        The redacted text; markers are "[name]", "[address]", "[street]", "[number]" and "[phone]".
    """
    if not text:
        return text
    text = _PHONE.sub(PHONE, text)
    text = _ADDRESS.sub(ADDRESS, text)
    text = _STREET.sub(STREET, text)
    text = _UNIT.sub(lambda m: m.group(1) + NUMBER, text)
    text = _TITLED_NAME.sub(lambda m: m.group(1) + m.group(2) + NAME, text)
    text = _INTRO.sub(_intro, text)
    for word in _known_words(known_names):
        text = re.sub(rf"(?<![\w\[]){re.escape(word)}(?![\w\]])", NAME, text, flags=re.IGNORECASE)
    return re.sub(rf"{re.escape(NAME)}(?:\s+{re.escape(NAME)})+", NAME, text)


def _intro(m: re.Match) -> str:
    first = m.group(2).split()[0].rstrip(".")
    if first in _NOT_NAMES:
        return m.group(0)
    return m.group(1) + NAME


def _known_words(names: Iterable[str]) -> list[str]:
    """The name words worth redacting: three letters or more, not a title."""
    words = set()
    for name in names:
        for word in re.findall(r"[A-Za-z][A-Za-z'\-]+", name or ""):
            if len(word) >= 3 and not re.fullmatch(_TITLES, word) and word not in _NOT_NAMES:
                words.add(word)
    return sorted(words, key=len, reverse=True)
