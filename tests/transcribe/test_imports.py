"""callreview.transcribe.imports and callreview.transcribe.vtt: sidecar transcripts are read, validated, and refused clearly."""
from __future__ import annotations

import json

import pytest

from callreview.transcribe.errors import TranscriptImportError
from callreview.transcribe.imports import find_transcript_sidecar, read_transcript
from callreview.transcribe.segments import Gap, Segment, Transcript
from callreview.transcribe.vtt import write_vtt

SEGMENTS = [
    {"start": 0.5, "end": 3.0, "speaker": "dispatcher", "text": "MetroSafe, go ahead."},
    {"start": 2.5, "end": 6.0, "speaker": "ice", "text": "We have an I-200 & a detainer."},
    {"start": 6.25, "end": 9.0, "speaker": "officer", "text": "We don't do door knocks for ICE."},
]


def write_json(path, segments=SEGMENTS, language="en"):
    path.write_text(json.dumps({"language": language, "segments": segments}))
    return path


def test_find_sidecar_prefers_json(tmp_path):
    rec = tmp_path / "CR-1.wav"
    rec.write_bytes(b"")
    assert find_transcript_sidecar(rec) is None
    (tmp_path / "CR-1.vtt").write_text("WEBVTT\n")
    assert find_transcript_sidecar(rec) == tmp_path / "CR-1.vtt"
    write_json(tmp_path / "CR-1.transcript.json")
    assert find_transcript_sidecar(rec) == tmp_path / "CR-1.transcript.json"


def test_read_json(tmp_path):
    t = read_transcript(write_json(tmp_path / "a.transcript.json"))
    assert t.imported and t.engine == "import" and t.language == "en"
    assert [s.speaker for s in t.segments] == ["dispatcher", "ice", "officer"]
    assert t.segments[1] == Segment(start=2.5, end=6.0, text="We have an I-200 & a detainer.", speaker="ice")


def test_vtt_round_trip(tmp_path):
    t = read_transcript(write_json(tmp_path / "a.transcript.json"))
    path = tmp_path / "a.vtt"
    path.write_text(write_vtt(t))
    back = read_transcript(path)
    assert back.segments == t.segments and back.language == "en" and back.imported


@pytest.mark.parametrize("suffix", [".transcript.json", ".vtt"])
def test_a_transcript_saved_with_a_byte_order_mark_is_read(tmp_path, suffix):
    # Windows tools save UTF-8 with a BOM; json.loads refuses one (the WebVTT parser already skipped it).
    t = read_transcript(write_json(tmp_path / "a.transcript.json"))
    text = json.dumps({"language": "en", "segments": SEGMENTS}) if suffix == ".transcript.json" else write_vtt(t)
    path = tmp_path / f"bom{suffix}"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    back = read_transcript(path)
    assert back.segments == t.segments and back.language == "en"


def test_vtt_voice_tags_classes_and_no_voice(tmp_path):
    path = tmp_path / "v.vtt"
    path.write_text(
        "WEBVTT\n\nNOTE vendor export\n\n"
        "cue-1\n00:01.000 --> 00:02.500 align:start\n<v.loud Officer>Who is <b>this</b>?</v>\n\n"
        "00:00:03.000 --> 00:00:04.000\n<v ice>ICE &amp; ERO.\n\n"
        "00:00:05.000 --> 00:00:06.000\nno voice tag here\n")
    t = read_transcript(path)
    assert [(s.start, s.end, s.speaker, s.text) for s in t.segments] == [
        (1.0, 2.5, "officer", "Who is this?"), (3.0, 4.0, "ice", "ICE & ERO."),
        (5.0, 6.0, "unknown", "no voice tag here")]
    assert t.language == "und"


def test_write_vtt_marks_flags_and_gaps():
    t = Transcript(language="en", engine="openai-whisper", segments=(
        Segment(1.0, 2.0, "Thank you for watching.", "ice", flags=("known_phantom",)),),
        gaps=(Gap(0.0, 1.0),))
    text = write_vtt(t)
    assert "NOTE gap 00:00:00.000 to 00:00:01.000: no_voice_detected" in text
    assert "NOTE flagged: known_phantom" in text and "<v ice>Thank you for watching.</v>" in text
    # WebVTT forbids "-->" inside a NOTE: a strict parser would read it as a cue timing.
    assert not [line for line in text.splitlines() if line.startswith("NOTE") and "-->" in line]


@pytest.mark.parametrize("segments, message", [
    ([{"start": "0", "end": 1, "speaker": "ice", "text": "x"}], r'segment 0: "start" must be a number'),
    ([{"start": 2, "end": 1, "speaker": "ice", "text": "x"}], r"segment 0: ends at 1 s, before it starts at 2 s"),
    ([{"start": 0, "end": 1, "speaker": "agent", "text": "x"}], r"segment 0: speaker 'agent' is not one of"),
    ([{"start": 3, "end": 4, "speaker": "ice", "text": "x"}, {"start": 1, "end": 2, "speaker": "officer", "text": "y"}],
     r"segment 1: starts at 1 s, before the previous one \(3 s\); segments must be in time order"),
    ([{"start": 0, "end": 4, "speaker": "ice", "text": "x"}, {"start": 1, "end": 2, "speaker": "ice", "text": "y"}],
     r"segment 1: starts at 1 s, overlapping segment 0 of the same speaker \(ice\)"),
])
def test_json_validation(tmp_path, segments, message):
    path = write_json(tmp_path / "bad.transcript.json", segments)
    with pytest.raises(TranscriptImportError, match=rf"bad\.transcript\.json: {message}"):
        read_transcript(path)


@pytest.mark.parametrize("body, message", [
    ("not json", r"not valid JSON"),
    ("[]", r"expected a JSON object"),
    ('{"language": "en"}', r'"segments" must be a list'),
])
def test_json_shape_errors(tmp_path, body, message):
    path = tmp_path / "bad.transcript.json"
    path.write_text(body)
    with pytest.raises(TranscriptImportError, match=message):
        read_transcript(path)


@pytest.mark.parametrize("body, message", [
    ("hello\n", r"not a WebVTT file"),
    ("WEBVTT\n\n00:01 --> 00:02\n<v ice>x\n", r"line 3: cannot read cue timing"),
    ("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v boss>x\n", r"cue at line 3: speaker 'boss' is not one of"),
    ("WEBVTT\n\n00:00:05.000 --> 00:00:06.000\n<v ice>x\n\n00:00:01.000 --> 00:00:02.000\n<v ice>y\n",
     r"cue at line 6: starts at 1 s, before the previous one"),
])
def test_vtt_validation(tmp_path, body, message):
    path = tmp_path / "bad.vtt"
    path.write_text(body)
    with pytest.raises(TranscriptImportError, match=rf"bad\.vtt: {message}"):
        read_transcript(path)
