"""Mapping what Whisper decoded from joined speech back to the recording's own time."""
from __future__ import annotations

from callreview.transcribe.engine import _place, _Timeline
from callreview.transcribe.segments import Segment, Word

# speech at 1-2 s and 10-11 s of the file (offset 100 s), joined into 0-2 s
TIMELINE = _Timeline([(16000, 32000), (160000, 176000)], offset=100.0)


def _segment(*words: tuple[str, float, float]) -> Segment:
    ws = tuple(Word(start=a, end=b, text=f" {t}", probability=0.9) for t, a, b in words)
    return Segment(start=ws[0].start, end=ws[-1].end, text="".join(w.text for w in ws), words=ws)


def test_timeline_maps_joined_speech_back_to_file_time():
    t = TIMELINE
    assert t.original(0.5) == 101.5 and t.original(1.0, is_end=True) == 102.0 and t.original(1.0) == 110.0
    assert t.original(1.9, stretch=0) == 102.0  # a word is kept inside its own stretch


def test_a_segment_across_a_joint_is_split_between_sentences():
    pieces = _place(_segment(("Thanks.", 0.4, 0.8), ("Go", 1.2, 1.4), ("ahead.", 1.4, 1.7)),
                    TIMELINE, "ice", 1)
    assert [(p.text, p.start, p.end) for p in pieces] == [("Thanks.", 101.4, 101.8), ("Go ahead.", 110.2, 110.7)]
    assert {p.speaker for p in pieces} == {"ice"}


def test_a_word_timed_just_before_a_joint_stays_with_its_sentence():
    # Whisper timed the "No" of "No criminal warrant, no." into the silence before the joint: cut by time,
    # the negation would land before the other party's turn and the rest after it.
    pieces = _place(_segment(("No", 0.85, 0.98), ("criminal", 1.2, 1.5), ("warrant,", 1.5, 1.8), ("no.", 1.8, 1.95)),
                    TIMELINE, "ice", 1)
    assert [p.text for p in pieces] == ["No criminal warrant, no."]
    assert pieces[0].start == 110.0 and pieces[0].words[0].start == 110.0  # kept inside the later stretch


def test_a_cut_far_from_any_sentence_boundary_stays_where_the_times_put_it():
    pieces = _place(_segment(("we", 0.1, 0.2), ("want", 0.2, 0.3), ("you", 0.3, 0.4), ("to", 0.4, 0.5),
                             ("knock", 0.5, 0.9), ("on", 1.1, 1.2), ("the", 1.2, 1.3), ("door", 1.3, 1.5),
                             ("over", 1.5, 1.6), ("there.", 1.6, 1.9)), TIMELINE, "ice", 1)
    assert [p.text for p in pieces] == ["we want you to knock", "on the door over there."]




# Two stretches decoded with 0.8 s of padding on each side: 1-3 s and 10-12 s of the file (offset 100 s),
# joined into 0-4 s, in which speech was heard at 1.8-2.2 s and 10.8-11.2 s.
PADDED = _Timeline([(16000, 48000), (160000, 192000)], offset=100.0, voiced=[(28800, 35200), (172800, 179200)])


def test_times_stay_near_the_speech_voice_detection_heard_not_at_the_padding():
    # Whisper puts a sentence's first word at the start of the padding it was given: 0.8 s early here.
    t = PADDED
    assert t.original(0.0) == 101.55  # 0.25 s before the speech heard at 101.8, not 101.0
    assert t.original(1.0) == 102.0  # inside the speech: as it was
    assert t.original(1.9, is_end=True) == 102.45  # 0.25 s after the speech heard, not 102.9
    assert t.original(2.0) == 110.55 and t.original(3.0) == 111.0
    pieces = _place(_segment(("He's", 0.0, 0.3), ("armed.", 0.3, 1.0)), t, "ice", 1)
    assert [(w.text, w.start, w.end) for w in pieces[0].words] == [("He's", 101.55, 101.55), ("armed.", 101.55, 102.0)]
    assert (pieces[0].start, pieces[0].end) == (101.55, 102.0)
