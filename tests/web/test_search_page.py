"""Search over transcripts (callreview/storage/web_search.py through callreview/web/routes_search.py)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlmodel import select

from callreview.storage.calls import current_transcript, find_call, segments_of
from callreview.storage.db import open_session
from callreview.storage.tables import AuditEvent
from callreview.storage.web_search import MARK_END, MARK_START, make_snippet, parse_terms, search_segments
from tests.web.conftest import sign_in


def _hits(storage, **kw):
    kw.setdefault("text", "")
    with open_session(storage) as s:
        return [(h.call_id, h.segment_idx) for h in search_segments(s, **kw)]


@pytest.mark.parametrize("query,expected", [
    ("knock", [("CR-SAMPLE-002", 2)]),
    ("KNOCK door", [("CR-SAMPLE-002", 2)]),  # every word, any case
    ('"knock on the door"', [("CR-SAMPLE-002", 2)]),  # a phrase
    ('"door knock"', []),  # the phrase's words in another order do not match
    ("knock warrant", []),  # all words must be in one segment
    ("i-200", [("CR-SAMPLE-002", 1)]),
])
def test_words_and_phrases(web_storage, query, expected):
    assert _hits(web_storage, text=query) == expected


def test_like_wildcards_in_the_query_are_literal(web_storage):
    assert _hits(web_storage, text="%") == [] and _hits(web_storage, text="_") == []


def test_tag_filter_finds_segments_with_that_kind(web_storage):
    assert _hits(web_storage, tag="door_knock") == [("CR-SAMPLE-002", 2)]
    assert _hits(web_storage, text="warrant", tag="door_knock") == []


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


def test_only_the_current_transcript_version_is_searched(web_storage):
    from callreview.storage.calls import add_transcript_version
    from callreview.storage.tables import SegmentRecord

    with open_session(web_storage) as s:
        call = find_call(s, "CR-SAMPLE-002")
        add_transcript_version(s, call.id, engine="test", model="", language="en", imported=True,
                               segments=[SegmentRecord(idx=0, start=0, end=1, speaker="ice", text="brand new words")],
                               gaps=[])
        s.commit()
    assert _hits(web_storage, text="knock") == []
    assert _hits(web_storage, text="brand new") == [("CR-SAMPLE-002", 0)]


def test_snippets_mark_every_match_and_trim_long_text():
    text = "a" * 200 + " knock on the door, then knock again " + "b" * 200
    snippet = make_snippet(text, parse_terms("knock"))
    assert snippet.startswith("…") and snippet.endswith("…")
    assert snippet.count(MARK_START + "knock" + MARK_END) == 2


def test_unbalanced_quotes_are_read_as_words():
    assert parse_terms('"door knock') == ["door", "knock"]
    assert parse_terms('knock "the  DOOR"') == ["knock", "the door"]


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
