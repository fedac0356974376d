"""callreview.transcribe.fragments: sentence pieces Whisper cut apart are joined, nothing else is."""
from __future__ import annotations

from callreview.transcribe.fragments import join_fragments
from callreview.transcribe.segments import Segment, Word


def seg(start, end, text, channel=1, flags=(), logprob=-0.2):
    return Segment(start=start, end=end, text=text, speaker="ice" if channel else "officer", channel=channel,
                   avg_logprob=logprob, no_speech_prob=0.1, compression_ratio=1.2, flags=flags,
                   words=(Word(start, end, text.split()[0]),))


def test_a_sentence_cut_in_two_is_joined_with_its_words_and_times():
    a, b = seg(60.0, 65.1, "Shots fired, someone is shooting"), seg(65.1, 70.0, "at us from the second floor.", logprob=-0.6)
    (joined,) = join_fragments([a, b])
    assert joined.text == "Shots fired, someone is shooting at us from the second floor."
    assert (joined.start, joined.end) == (60.0, 70.0) and joined.words == a.words + b.words
    assert -0.6 < joined.avg_logprob < -0.2


def test_sentences_turns_and_suspect_pieces_stay_apart():
    ended = [seg(0, 2, "Stand by."), seg(2, 4, "Okay")]
    assert len(join_fragments(ended)) == 2
    paused = [seg(0, 2, "and then"), seg(3.5, 5, "we knock")]  # a pause: a new turn
    assert len(join_fragments(paused)) == 2
    flagged = [seg(0, 2, "we need"), seg(2, 4, "thank you", flags=("known_phantom",))]
    assert len(join_fragments(flagged)) == 2
    # the other party's turn in between does not stop the same channel's pieces from joining
    crossing = [seg(0, 2, "we need two", channel=1), seg(1, 1.5, "Go on.", channel=0), seg(2, 4, "units there.", channel=1)]
    out = join_fragments(crossing)
    assert [s.text for s in out] == ["we need two units there.", "Go on."]
