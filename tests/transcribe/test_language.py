"""Whisper's language detection, with the real multilingual base weights on both engines.

A call where Whisper cannot tell that anyone speaks English is flagged throughout, so it goes to a person
(`transcript_unusable`) instead of being tagged from words Whisper may have invented.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from callaudio import needs_tools, silence, speak, write_wav
from callreview.core.rules import load_rules
from callreview.core.usability import is_unusable
from callreview.transcribe.audio import load_audio
from callreview.transcribe.engine import best_english_probability, get_engine
from callreview.transcribe.segments import Transcript
from callreview.transcribe.settings import WhisperSettings

ENGLISH = ("Lieutenant Ainsley, what do you need?",
           "I've got a warrant subject standing outside the store on Kessler Road right now.")
SPANISH = ("Buenos días, habla el sargento Ibarra. ¿En qué le puedo ayudar?",
           "Le llamo de parte del agente Morales, por un asunto en la calle Brentmoor.")


def _two_party_call(folder: Path, lines: tuple[str, str], voice: str) -> Path:
    """Officer on the left, then the caller on the right, 8 kHz stereo."""
    officer = speak(lines[0], folder / "officer.wav", voice=voice)
    caller = speak(lines[1], folder / "caller.wav", voice=f"{voice}+m3")
    gap = silence(0.7, 8000)
    left = np.concatenate([officer, gap, silence(len(caller) / 8000, 8000)])
    right = np.concatenate([silence(len(officer) / 8000, 8000), gap, caller])
    return write_wav(folder / "call.wav", [left, right], 8000)


@pytest.fixture(scope="module")
def base_engines(tmp_path_factory):
    """Both engines on the multilingual base pack (joined, and converted for openai-whisper, once)."""
    cache = tmp_path_factory.mktemp("whisper-cache")
    return {name: get_engine(WhisperSettings(engine=name, model="base", beam_size=1, cache_dir=cache))
            for name in ("faster-whisper", "openai-whisper")}


@pytest.fixture(scope="module")
def calls(tmp_path_factory) -> dict[str, Path]:
    folders = {name: tmp_path_factory.mktemp(name) for name in ("english", "spanish")}
    return {"english": _two_party_call(folders["english"], ENGLISH, "en-us"),
            "spanish": _two_party_call(folders["spanish"], SPANISH, "es")}


@pytest.fixture(scope="module")
def transcripts(base_engines, calls) -> dict[tuple[str, str], Transcript]:
    return {(engine, call): e.transcribe(load_audio(path))
            for engine, e in base_engines.items() for call, path in calls.items()}


@pytest.mark.whisper
@needs_tools
@pytest.mark.parametrize("engine", ["faster-whisper", "openai-whisper"])
def test_a_call_in_english_is_not_flagged_and_stays_usable(transcripts, engine):
    t = transcripts[(engine, "english")]
    assert t.language == "en" and t.segments
    assert not any("uncertain_language" in s.flags for s in t.segments)
    assert "warrant" in " ".join(s.text.lower() for s in t.segments)
    assert not is_unusable(t.segments, t.language, load_rules())


@pytest.mark.whisper
@needs_tools
@pytest.mark.parametrize("engine", ["faster-whisper", "openai-whisper"])
def test_a_call_no_one_speaks_english_in_is_flagged_throughout_and_unusable(transcripts, engine):
    t = transcripts[(engine, "spanish")]
    assert t.language == "es" and t.segments
    assert all("uncertain_language" in s.flags for s in t.segments)  # kept, with the reason, never dropped
    # Whisper wrote Spanish (the exact words vary with the CPU threads the int8 kernels split across)
    spanish = {"de", "la", "el", "en", "que", "por", "le", "del", "los", "las", "un", "una", "parte", "calle"}
    assert len(spanish & set(re.findall(r"\w+", " ".join(s.text.lower() for s in t.segments)))) >= 4
    assert is_unusable(t.segments, t.language, load_rules())


@pytest.mark.whisper
@needs_tools
def test_a_check_turned_off_flags_nothing(base_engines, calls):
    e = base_engines["faster-whisper"]
    off = type(e)(e.settings.model_copy(update={"min_english_probability": 0.0}), e.backend)
    t = off.transcribe(load_audio(calls["spanish"]))
    assert t.segments and not any("uncertain_language" in s.flags for s in t.segments)

def test_the_best_channel_decides_whether_a_call_is_english():
    # channel 0: 10 s at 0.9 and 30 s at 0.5 -> 0.6; channel 1: 5 s at 0.3
    assert best_english_probability([(0, 0.9, 10.0), (0, 0.5, 30.0), (1, 0.3, 5.0)]) == pytest.approx(0.6)
    assert best_english_probability([(0, None, 10.0), (1, None, 3.0)]) is None  # never detected
    assert best_english_probability([]) is None
