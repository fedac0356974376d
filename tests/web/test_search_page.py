"""Search over transcripts through the web app: callreview/web/routes_search.py -> callreview/service/search.py ->
callreview/storage/search.py (the one search module; its query language has tests in tests/storage/test_search.py).
"""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlmodel import select

from callreview.storage.calls import current_assessment, current_transcript, find_call, segments_of
from callreview.storage.db import open_session
from callreview.storage.search import ELLIPSIS, LISTING_SNIPPET_CHARS, list_matching_calls, search
from callreview.storage.tables import AuditEvent, TagRecord
from tests.web.conftest import sign_in


def _hits(storage, q: str = "", **kw):
    """(call, segment) of each hit: words through the full-text index, filters alone one line per call."""
    with open_session(storage) as s:
        hits = search(s, q, **kw) if q else list_matching_calls(s, **kw)
        return [(h.call_id, h.segment_idx) for h in hits]


@pytest.mark.parametrize("query,expected", [
    ("knock", [("CR-SAMPLE-002", 2)]),
    ("KNOCK door", [("CR-SAMPLE-002", 2)]),  # every word, any case
    ('"knock on the door"', [("CR-SAMPLE-002", 2)]),  # a phrase
    ('"door knock"', []),  # the phrase's words in another order do not match
    ("knock warrant", []),  # all words must be in one segment
    ("i-200", [("CR-SAMPLE-002", 1)]),
])
def test_words_and_phrases(web_storage, query, expected):
    assert _hits(web_storage, query) == expected


def test_like_wildcards_in_a_filter_are_literal(web_storage):
    assert _hits(web_storage, officer="%") == [] and _hits(web_storage, officer="_") == []


def test_tag_filter_alone_lists_the_call_at_its_first_counted_mention(web_storage):
    assert _hits(web_storage, tag="door_knock") == [("CR-SAMPLE-002", 2)]
    assert _hits(web_storage, tag="criminal_warrant") == [("CR-SAMPLE-001", 1)]


def test_tag_filter_with_words_narrows_to_calls_where_the_kind_counts(web_storage):
    # The tag is a call filter, as on the CLI: CR-SAMPLE-002's "warrant" segment is found because the
    # call has a counted door_knock, wherever in the call that mention is.
    assert _hits(web_storage, "warrant", tag="door_knock") == [("CR-SAMPLE-002", 1)]
    assert _hits(web_storage, "detainer", tag="door_knock") == []


def test_tag_filter_skips_calls_where_the_kind_does_not_count(web_storage, client):
    # CR-SAMPLE-003's officer refuses a door knock: a mention with a qualifier, which does not count.
    with open_session(web_storage) as s:
        call = find_call(s, "CR-SAMPLE-003")
        s.add(TagRecord(assessment_pk=current_assessment(s, call.id).id, kind="door_knock", qualifier="refused",
                        segment_idx=2, speaker="officer", start=9.0, end=12.0, char_start=0, char_end=5,
                        text="We do", rule="test"))
        s.commit()
    assert _hits(web_storage, tag="door_knock") == [("CR-SAMPLE-002", 2)]
    assert _hits(web_storage, "detainer", tag="door_knock") == []
    sign_in(client, "sam")
    html = client.get("/search?tag=door_knock").text
    assert "CR-SAMPLE-002" in html and "CR-SAMPLE-003" not in html


@pytest.mark.parametrize("filters,calls", [
    ({"officer": "LOWRY"}, {"CR-SAMPLE-002"}),
    ({"decision": "none"}, {"CR-SAMPLE-003"}),
    ({"decision": "declined"}, set()),
    ({"verdict": "consistent"}, {"CR-SAMPLE-001"}),
    ({"verdict": "needs_review"}, {"CR-SAMPLE-003"}),
    ({"date_from": datetime(2017, 6, 5, tzinfo=timezone.utc), "date_to": datetime(2017, 6, 6, tzinfo=timezone.utc)},
     {"CR-SAMPLE-002"}),
])
def test_call_filters_alone_list_one_hit_per_call(web_storage, filters, calls):
    hits = _hits(web_storage, **filters)
    assert {c for c, _ in hits} == calls and len(hits) == len(calls)


def test_filters_alone_list_the_newest_call_first_and_calls_with_no_log_last(web_storage):
    assert [c for c, _ in _hits(web_storage)] == ["CR-SAMPLE-002", "CR-SAMPLE-001", "CR-SAMPLE-003"]


def test_only_the_current_transcript_version_is_searched(web_storage):
    from callreview.storage.calls import add_transcript_version
    from callreview.storage.tables import SegmentRecord

    with open_session(web_storage) as s:
        call = find_call(s, "CR-SAMPLE-002")
        add_transcript_version(s, call.id, engine="test", model="", language="en", imported=True,
                               segments=[SegmentRecord(idx=0, start=0, end=1, speaker="ice", text="brand new words")],
                               gaps=[])
        s.commit()
    assert _hits(web_storage, "knock") == []
    assert _hits(web_storage, "brand new") == [("CR-SAMPLE-002", 0)]
    assert ("CR-SAMPLE-002", 0) in _hits(web_storage, officer="lowry")


def test_a_listed_call_shows_the_opening_of_its_segment(web_storage):
    with open_session(web_storage) as s:
        seg = segments_of(s, current_transcript(s, find_call(s, "CR-SAMPLE-003").id).id)[0]
        seg.text = "x" * 300
        s.add(seg)
        s.commit()
        [hit] = list_matching_calls(s, decision="none")
    assert hit.snippet == "x" * LISTING_SNIPPET_CHARS + ELLIPSIS and hit.rank == 0.0


def test_search_page_shows_highlighted_results_linking_to_the_moment(client):
    sign_in(client, "sam")
    html = client.get('/search?q="knock on the door"').text
    assert 'href="/calls/CR-SAMPLE-002#t=10.72"' in html
    assert "<mark>knock on the door</mark>" in html
    assert "1 result." in html


def test_search_results_escape_transcript_text(client, web_storage):
    with open_session(web_storage) as s:
        seg = segments_of(s, current_transcript(s, find_call(s, "CR-SAMPLE-001").id).id)[0]
        seg.text = "<img src=x onerror=alert(1)> knock"
        s.add(seg)
        s.commit()
    sign_in(client, "sam")
    html = client.get("/search?q=knock").text
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt; <mark>knock</mark>" in html


def test_every_search_is_audited_with_its_query(client, web_storage):
    sign_in(client, "sam")
    client.get("/search")  # the empty form is not a search
    client.get("/search?q=knock&tag=door_knock&date_from=2017-06-01")
    with open_session(web_storage) as s:
        [event] = s.exec(select(AuditEvent).where(AuditEvent.action == "search")).all()
    assert (event.actor, event.object_id) == ("web:sam", "knock")
    assert '"tag": "door_knock"' in event.detail_json and '"hits": 1' in event.detail_json


def test_date_filters_are_days_in_the_app_time_zone(client):
    # CR-SAMPLE-002 was received 2017-06-05 06:40 in Louisville (10:40 UTC).
    sign_in(client, "sam")
    assert "CR-SAMPLE-002" in client.get("/search?date_from=2017-06-05&date_to=2017-06-05").text
    assert "CR-SAMPLE-002" not in client.get("/search?date_to=2017-06-04").text


def test_a_malformed_query_is_explained_on_the_page_and_audited(client, web_storage):
    sign_in(client, "sam")
    response = client.get('/search?q="knock on')
    assert response.status_code == 200
    assert "without a closing one" in response.text
    with open_session(web_storage) as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "search")).all()[-1]
    assert event.outcome == "invalid_query"


def test_word_search_uses_the_full_text_index_with_stemming(client):
    sign_in(client, "sam")
    html = client.get("/search?q=knocking").text  # the transcript says "knock"; FTS stems both
    assert "CR-SAMPLE-002" in html
