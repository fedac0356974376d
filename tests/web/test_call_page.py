"""The call page: log beside transcript, tags with qualifiers, flagged segments, gaps, dispositions."""
from __future__ import annotations

import json
import re

import pytest
from sqlmodel import select

from callreview.storage.audit import verify_audit_chain
from callreview.storage.calls import current_assessment, current_transcript, find_call, segments_of
from callreview.storage.db import open_session
from callreview.storage.tables import AuditEvent, Disposition, GapRecord, ReviewItem, TagRecord
from tests.web.conftest import csrf_of, sign_in


def test_call_page_puts_the_logged_decision_beside_what_the_transcript_shows(client):
    sign_in(client, "alice")
    html = client.get("/calls/CR-SAMPLE-002").text
    logged = html[html.index('<div class="logged">'):html.index('<div class="shown">')]
    shown = html[html.index('<div class="shown">'):html.index('<section class="recording">')]
    assert "dispatched" in logged and "criminal_warrant" in logged and "Sgt. P. Lowry" in logged
    assert "door_knock" in shown and "immigration_warrant" in shown and "criminal_warrant" not in shown
    assert "Officers were dispatched, but the call shows no criminal warrant, crime or emergency." in html


def test_transcript_has_speakers_timestamps_and_seekable_lines(client):
    sign_in(client, "alice")
    html = client.get("/calls/CR-SAMPLE-002").text
    assert '<li id="seg-2" class="segment" data-seek="10.72"' in html
    assert 'class="speaker speaker-ice">ice<' in html and 'class="speaker speaker-officer">officer<' in html
    assert ">0:10.7<" in html
    assert '<audio id="player" controls preload="metadata" src="/calls/CR-SAMPLE-002/audio">' in html
    assert '<script src="/static/call.js"></script>' in html and "<script>" not in html  # no inline script (CSP)


def test_tags_are_highlighted_at_their_character_span(client, web_storage):
    sign_in(client, "alice")
    html = client.get("/calls/CR-SAMPLE-002").text
    with open_session(web_storage) as s:
        call = find_call(s, "CR-SAMPLE-002")
        tags = s.exec(select(TagRecord).where(TagRecord.assessment_pk == current_assessment(s, call.id).id)).all()
    assert tags
    for tag in tags:
        assert re.search(rf'<mark class="tag-{tag.kind} ?" title="{tag.kind}">{re.escape(tag.text)}</mark>', html), tag


def test_qualified_mentions_show_their_qualifier(client):
    sign_in(client, "alice")
    html = client.get("/calls/CR-SAMPLE-003").text  # the detainer call: the officer refuses
    assert "qualified" in html
    labels = re.findall(r'<sup class="tag-label[^"]*">([^<]+)</sup>', html)
    assert any("(" in label for label in labels), labels


def test_flagged_segments_are_greyed_with_the_reason_and_gaps_are_shown(client, web_storage):
    with open_session(web_storage) as s:
        call = find_call(s, "CR-SAMPLE-002")
        transcript = current_transcript(s, call.id)
        seg = segments_of(s, transcript.id)[3]
        seg.flags_json = json.dumps(["no_speech", "repetition"])
        s.add(seg)
        s.add(GapRecord(transcript_pk=transcript.id, start=1.5, end=2.7, reason="no_voice_detected"))
        s.commit()
    sign_in(client, "alice")
    html = client.get("/calls/CR-SAMPLE-002").text
    assert '<li id="seg-3" class="segment flagged"' in html
    assert "probably no speech here" in html and "repeats earlier text" in html
    gap = html.index('class="gap"')
    assert html.index('id="seg-0"') < gap < html.index('id="seg-1"')  # in time order
    assert "no voice detected" in html and "0:01.5–0:02.7" in html


def test_transcript_text_is_escaped(client, web_storage):
    with open_session(web_storage) as s:
        call = find_call(s, "CR-SAMPLE-001")
        seg = segments_of(s, current_transcript(s, call.id).id)[0]
        seg.text = '<script>alert("x")</script> & <b>bold</b>'
        s.add(seg)
        s.commit()
    sign_in(client, "alice")
    html = client.get("/calls/CR-SAMPLE-001").text
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html


def test_viewing_a_call_is_audited(client, web_storage):
    sign_in(client, "sam")
    client.get("/calls/CR-SAMPLE-001")
    client.get("/calls/CR-MISSING")
    with open_session(web_storage) as s:
        events = s.exec(select(AuditEvent).where(AuditEvent.action == "view_call")).all()
    assert [(e.actor, e.object_id, e.outcome) for e in events] == [("web:sam", "CR-SAMPLE-001", "ok"),
                                                                   ("web:sam", "CR-MISSING", "not_found")]


def _dispose(client, disposition="confirmed", note="Door knock requested and cars sent."):
    page = client.get("/calls/CR-SAMPLE-002")
    return client.post("/items/1/disposition", data={"csrf_token": csrf_of(page.text), "disposition": disposition,
                                                     "note": note})


@pytest.mark.parametrize("disposition", ["confirmed", "dismissed", "escalated"])
def test_disposition_closes_the_item_and_appears_in_the_history(client, web_storage, disposition):
    sign_in(client, "alice")
    response = _dispose(client, disposition)
    assert response.status_code == 303 and response.headers["location"] == "/calls/CR-SAMPLE-002?msg=disposed"
    html = client.get(response.headers["location"]).text
    assert "Disposition recorded; the item is closed." in html
    history = html[html.index('<section class="history">'):]
    assert "alice" in history and disposition in history and "Door knock requested and cars sent." in history
    assert 'action="/items/1/disposition"' not in html
    with open_session(web_storage) as s:
        item = s.get(ReviewItem, 1)
        assert (item.status, item.claimed_by, item.close_reason) == ("closed", "alice", f"disposition: {disposition}")
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "dispose")).one()
        assert verify_audit_chain(s) == []
    assert (event.actor, event.object_id, event.outcome) == ("web:alice", "1", "ok")
    assert json.loads(event.detail_json)["note"] == "Door knock requested and cars sent."
    assert "CR-SAMPLE-002" not in client.get("/queue").text


@pytest.mark.parametrize("disposition,note,problem", [
    ("confirmed", "   ", "a note is required"),
    ("resolved", "fine", "disposition must be one of confirmed, dismissed, escalated"),
    ("", "fine", "disposition must be one of"),
])
def test_disposition_needs_a_known_value_and_a_note(client, web_storage, disposition, note, problem):
    sign_in(client, "alice")
    response = _dispose(client, disposition, note)
    assert response.status_code == 422 and problem in response.text
    with open_session(web_storage) as s:
        assert s.get(ReviewItem, 1).status == "open"
        assert s.exec(select(Disposition)).all() == []
        assert s.exec(select(AuditEvent).where(AuditEvent.action == "dispose")).one().outcome == "invalid"


def test_a_closed_item_cannot_be_disposed_twice(client):
    sign_in(client, "alice")
    _dispose(client)
    page = client.get("/calls/CR-SAMPLE-002")
    second = client.post("/items/1/disposition", data={"csrf_token": csrf_of(page.text), "disposition": "dismissed",
                                                       "note": "again"})
    assert second.status_code == 409 and "already closed" in second.text


def test_words_an_uncertain_verdict_hinges_on_are_marked_and_explained(client, web_storage):
    doubt = {"kind": "door_knock", "reading": "may_count", "segment": 1, "speaker": "ice", "start": 3.3, "end": 9.88,
             "char_start": 0, "char_end": 4, "text": "This", "rule": "doubt.door_knock.contact_at_home",
             "why": "ICE may be asking officers to make contact at a home."}
    with open_session(web_storage) as s:
        record = current_assessment(s, find_call(s, "CR-SAMPLE-001").id)
        record.verdict, record.reasons_json, record.doubts_json = "needs_review", '["uncertain_evidence"]', json.dumps([doubt])
        s.add(record)
        s.commit()
    sign_in(client, "alice")
    html = client.get("/calls/CR-SAMPLE-001").text
    assert "Words to judge" in html
    assert "\u201cThis\u201d (ice, 3.3\u20139.9 s) may be a door knock: ICE may be asking officers to make contact at a home." in html
    assert re.search(r'<mark class="tag-unsure ?" title="unsure: may be door knock">This</mark>', html)
    assert "only because of words the tagger reads weakly" in html


def _add_unusable_call(settings, folder) -> str:
    """A call whose transcript is only noise markers, run through intake, transcript import and assessment."""
    from callreview.core.rules import load_rules
    from callreview.service.assessment import assess_stored_call
    from callreview.service.intake import take_in
    from callreview.service.transcription import transcribe_call
    from tests.conftest import write_tone_wav

    folder.mkdir()
    wav = write_tone_wav(folder / "CR-NOISE-1.wav", seconds=2.0)
    (folder / "CR-NOISE-1.transcript.json").write_text(json.dumps({"language": "en", "segments": [
        {"start": 0.0, "end": 1.0, "speaker": "officer", "text": "[inaudible]"},
        {"start": 1.0, "end": 2.0, "speaker": "ice", "text": "[static] [inaudible]"}]}), encoding="utf-8")
    with open_session(settings) as session:
        intake = take_in(session, "batch", settings, wav)
        transcribe_call(session, "batch", settings.archive_dir, intake.call_pk, wav, engine_factory=None)
        result = assess_stored_call(session, "batch", intake.call_pk, load_rules())
    assert result.verdict == "needs_review"
    return intake.call_id


def test_an_unusable_transcript_says_it_was_not_tagged_not_that_nothing_was_found(client, web_storage, tmp_path):
    call_id = _add_unusable_call(web_storage, tmp_path / "inbox")
    with open_session(web_storage) as s:
        assert current_assessment(s, find_call(s, call_id).id).unusable
    sign_in(client, "alice")
    html = client.get(f"/calls/{call_id}").text
    shown = html[html.index('<div class="shown">'):html.index('<section class="recording">')]
    assert "Not tagged: transcript judged unusable." in shown
    assert "was found" not in shown
    # A usable call with nothing in it keeps the old sentence.
    with open_session(web_storage) as s:
        record = current_assessment(s, find_call(s, "CR-SAMPLE-001").id)
        for tag in s.exec(select(TagRecord).where(TagRecord.assessment_pk == record.id)).all():
            s.delete(tag)
        s.commit()
    assert "door knock was found" in client.get("/calls/CR-SAMPLE-001").text
