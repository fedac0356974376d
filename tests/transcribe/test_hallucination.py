"""callreview.transcribe.hallucination: suspect segments are flagged with why, never removed."""
from __future__ import annotations

import pytest

from callreview.transcribe.hallucination import flag_segments, longest_repeat, segment_flags
from callreview.transcribe.segments import Segment
from callreview.transcribe.settings import WhisperSettings

S = WhisperSettings()


def seg(text, **kw):
    return Segment(start=0.0, end=1.0, text=text, **kw)


@pytest.mark.parametrize("segment, flags", [
    (seg("We have an I-200 for him.", avg_logprob=-0.3, no_speech_prob=0.1), ()),
    (seg("Thank you for watching!", avg_logprob=-0.3, no_speech_prob=0.1), ("known_phantom",)),
    (seg("you", avg_logprob=-0.2, no_speech_prob=0.2), ("known_phantom",)),
    (seg("the hospital", avg_logprob=-1.6, no_speech_prob=0.8), ("no_speech", "low_confidence")),
    (seg("the hospital", avg_logprob=-1.6, no_speech_prob=0.1), ("low_confidence",)),
    (seg("go to the door " * 6, avg_logprob=-0.2, no_speech_prob=0.1), ("repetition",)),
    (seg("No, no, we don't do that.", avg_logprob=-0.2, no_speech_prob=0.1), ()),
    (seg("Anything imported", ), ()),
])
def test_segment_flags(segment, flags):
    assert segment_flags(segment, S) == flags


def test_flagging_keeps_every_segment_and_existing_flags():
    segments = [seg("real words", avg_logprob=-0.1), seg("thank you for watching", flags=("manual",))]
    out = flag_segments(segments, S)
    assert len(out) == 2 and out[0] is segments[0]
    assert out[1].flags == ("manual", "known_phantom") and out[1].text == "thank you for watching"


def test_longest_repeat_counts_phrases_in_a_row():
    assert longest_repeat("I'm going to go, I'm going to go, I'm going to go") == 3
    assert longest_repeat("one two three") == 1 and longest_repeat("") == 0


def test_a_segment_that_reads_back_the_prompt_is_flagged_but_real_speech_with_its_words_is_not():
    from callreview.transcribe.hallucination import segment_flags
    from callreview.transcribe.settings import WhisperSettings
    from callreview.transcribe.segments import Segment

    settings = WhisperSettings()
    echo = Segment(0, 5, "HSI agents call LMPD and MetroSafe about an I-205 warrant, a detainer.", avg_logprob=-0.3)
    real = Segment(0, 5, "We have an I-205 warrant, a detainer, and an NCIC hit on him.", avg_logprob=-0.3)
    assert "prompt_echo" in segment_flags(echo, settings)
    assert "prompt_echo" not in segment_flags(real, settings)
    assert "prompt_echo" not in segment_flags(echo, WhisperSettings(initial_prompt=""))


def test_a_spelled_out_decoder_loop_is_flagged_even_when_whisper_rated_its_window_fine():
    from callreview.transcribe.hallucination import segment_flags
    from callreview.transcribe.segments import Segment
    from callreview.transcribe.settings import WhisperSettings

    settings = WhisperSettings()
    # Whisper's ratio is for the whole window, which also held real speech
    loop = Segment(0, 5, "-R-O-T-R-O-T-R-T-R-T-R-T-R-T-R-T-R-T-R-T-R-T-R-T-R-T-R-T", avg_logprob=-0.4,
                   compression_ratio=1.6)
    name = Segment(0, 5, "Last name V-I-L-L-A-S-E-N-O-R, first name Teodoro, T-E-O-D-O-R-O.", avg_logprob=-0.4,
                   compression_ratio=1.6)
    assert "repetition" in segment_flags(loop, settings)
    assert segment_flags(name, settings) == ()
