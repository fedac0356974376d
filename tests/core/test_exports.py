"""callreview.service.exports: WebVTT that a standard parser reads, SRT, and CSV of the queue and dispositions."""
import csv
import io

import pytest
import webvtt

from calldata import add_call, add_version, dispose, load_samples
from callreview.service.exports import ExportError, dispositions_csv, export_transcript, queue_csv, transcript_srt, transcript_vtt
from callreview.storage import calls as store


@pytest.fixture
def samples(session):
    load_samples(session)
    return session


def test_webvtt_parses_with_webvtt_py_and_carries_speakers_as_voices(samples):
    text = transcript_vtt(samples, "CR-SAMPLE-002")
    cues = list(webvtt.from_string(text))
    assert [c.voice for c in cues] == ["officer", "ice", "ice", "officer"]
    assert cues[2].text == "We need two of your officers to knock on the door and get him to come out."
    assert (cues[1].start, cues[1].end) == ("00:00:04.000", "00:00:07.500")


def test_markup_in_the_text_is_escaped_and_still_parses(session):
    add_call(session, "CR-X", [("ice", "He said <b>run</b> & left"), ("officer", "Okay --> noted")])
    session.commit()
    cues = list(webvtt.from_string(transcript_vtt(session, "CR-X")))
    assert len(cues) == 2 and "&lt;b&gt;run" in cues[0].raw_text


def test_exports_use_the_current_transcript_version(samples):
    call = store.find_call(samples, "CR-SAMPLE-001")
    add_version(samples, call, [("officer", "Re-transcribed.")])
    samples.commit()
    assert [c.text for c in webvtt.from_string(transcript_vtt(samples, "CR-SAMPLE-001"))] == ["Re-transcribed."]


def test_srt_numbers_cues_with_comma_times_and_speaker_labels(samples):
    blocks = transcript_srt(samples, "CR-SAMPLE-003").strip().split("\n\n")
    assert blocks[0] == "1\n00:00:00,000 --> 00:00:03,500\n[officer] Lieutenant Hale."
    assert blocks[2].startswith("3\n00:00:08,000 --> 00:00:11,500\n[officer] We do not hold anyone")


def test_unknown_call_and_format_are_clear_errors(samples):
    with pytest.raises(ExportError, match="CR-NOPE: no such call"):
        export_transcript(samples, "CR-NOPE", "vtt")
    with pytest.raises(ExportError, match="format must be one of vtt, srt"):
        export_transcript(samples, "CR-SAMPLE-001", "docx")


def test_queue_csv_has_one_row_per_review_item(samples):
    rows = list(csv.DictReader(io.StringIO(queue_csv(samples))))
    assert [(r["call_id"], r["verdict"], r["reasons"]) for r in rows] == [
        ("CR-SAMPLE-002", "mismatch", "dispatch_without_basis;door_knock_request_dispatched"),
        ("CR-SAMPLE-003", "needs_review", "missing_log")]
    assert rows[0]["received_at"] == "2017-06-05T10:40:00+00:00" and rows[1]["decision"] == ""


def test_dispositions_csv_quotes_notes_and_defuses_formulas(samples):
    dispose(samples, "CR-SAMPLE-002", "confirmed", 'Door knock, "two cars", sent.\nSecond line.')
    dispose(samples, "CR-SAMPLE-003", "escalated", "=HYPERLINK(\"http://x\")", reviewer="ia:smith")
    samples.commit()
    rows = list(csv.DictReader(io.StringIO(dispositions_csv(samples))))
    assert [(r["call_id"], r["disposition"], r["reviewer"]) for r in rows] == [
        ("CR-SAMPLE-002", "confirmed", "ia:jones"), ("CR-SAMPLE-003", "escalated", "ia:smith")]
    assert rows[0]["note"] == 'Door knock, "two cars", sent.\nSecond line.'
    assert rows[1]["note"].startswith("'=")


# Spreadsheets skip leading whitespace before reading a formula, so " =cmd" runs as surely as "=cmd".
@pytest.mark.parametrize("note", [" =HYPERLINK(\"http://x\")", "\t=1+1", "\r=1+1", "\n+1+1", "  \t @SUM(A1)",
                                  "\u00a0-2+3", "\u3000=1", "\t", "\r"])
def test_csv_defuses_formulas_behind_leading_whitespace(samples, note):
    dispose(samples, "CR-SAMPLE-002", "confirmed", note)
    samples.commit()
    [row] = list(csv.DictReader(io.StringIO(dispositions_csv(samples), newline="")))
    assert row["note"] == "'" + note


def test_csv_defuses_formulas_in_sidecar_fields_too(session):
    add_call(session, "CR-F-1", [("ice", "hello")], officer="  =HYPERLINK(\"http://x\",\"Lt. Reyes\")",
             verdict="mismatch", reasons=("dispatch_without_basis",))
    session.commit()
    [row] = list(csv.DictReader(io.StringIO(queue_csv(session), newline="")))
    assert row["commanding_officer"].startswith("'  =")


@pytest.mark.parametrize("note", ["fine", " fine", "Lt. Reyes - sent two cars", "e-mail sent"])
def test_csv_leaves_plain_text_alone(samples, note):
    dispose(samples, "CR-SAMPLE-002", "confirmed", note)
    samples.commit()
    [row] = list(csv.DictReader(io.StringIO(dispositions_csv(samples), newline="")))
    assert row["note"] == note


def test_a_carriage_return_inside_a_note_stays_in_its_row(samples):
    dispose(samples, "CR-SAMPLE-002", "confirmed", "sent two cars\r=1+1")
    samples.commit()
    [row] = list(csv.DictReader(io.StringIO(dispositions_csv(samples), newline="")))
    assert row["note"] == "sent two cars\r=1+1" and row["call_id"] == "CR-SAMPLE-002"
