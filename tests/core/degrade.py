"""Turn clean case text into something like Whisper output on a phone call, to check the rules generalise.

Lowercase, no punctuation (optionally no apostrophes), immigration forms and numbers spelled the way ASR
spells them ("I-205" -> "i 205" / "i two oh five", "2015" -> "twenty fifteen"), and a few fillers.
"""
from __future__ import annotations

import re
from dataclasses import replace

_ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_FORMS = {"200": ["i 200", "i two hundred", "i200"], "205": ["i 205", "i two oh five", "i-205"],
          "247": ["i 247", "i two forty seven", "i247"], "203": ["i 203", "i two oh three", "i203"]}


def number_words(n: int) -> str:
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if 1900 <= n <= 2099:  # years as people say them
        hi, lo = divmod(n, 100)
        return number_words(hi) + " " + ("hundred" if lo == 0 else ("oh " + _ONES[lo] if lo < 10 else number_words(lo)))
    if n < 1000:
        hi, lo = divmod(n, 100)
        return _ONES[hi] + " hundred" + ("" if lo == 0 else " " + number_words(lo))
    return str(n)


def degrade_text(text: str, variant: int = 0, apostrophes: bool = True) -> str:
    """One ASR-like rendering of `text`; `variant` picks among spellings deterministically."""
    def form(m: re.Match) -> str:
        options = _FORMS.get(m.group(1), [f"i {m.group(1)}"])
        return options[variant % len(options)] + (" a" if m.group(2) else "")
    text = re.sub(r"\bI-(\d{3})(A?)\b", form, text)
    if variant % 2:
        text = re.sub(r"\b(19\d\d|20\d\d|\d{1,3})\b", lambda m: number_words(int(m.group(1))), text)
    text = text.lower()
    text = re.sub(r"[^\w\s'\-]", " ", text)
    text = re.sub(r"(?<=\w)-(?=\w)", " " if variant % 3 else "-", text)
    text = text.replace("-", " ")
    if not apostrophes:
        text = text.replace("'", "")
    if variant % 4 == 1:
        text = "um " + text
    return re.sub(r"\s+", " ", text).strip()


def degrade_segments(segments, apostrophes: bool = True, unknown_speakers: bool = True):
    """Degrade every segment; Whisper on mono audio also loses who is speaking."""
    return [replace(s, text=degrade_text(s.text, i, apostrophes),
                    speaker="unknown" if unknown_speakers else s.speaker) for i, s in enumerate(segments)]
