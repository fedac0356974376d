"""Transcript search: the query language, only-current versions, filters; on SQLite and PostgreSQL.

The `session` fixture runs every test here on SQLite and, when CALLREVIEW_TEST_POSTGRES_URL is set, on
PostgreSQL too (tests/storage/conftest.py).
"""
from datetime import date, datetime, timezone

import pytest

from calldata import add_call, add_version
from callreview.storage import calls as store
from callreview.storage.errors import StorageError
from callreview.storage.search import (ELLIPSIS, MARK_END, MARK_START, InvalidSearchQuery, list_calls_sql,
                                       list_matching_calls, parse_query, search, search_sql, to_fts5)

JUNE_2 = datetime(2017, 6, 2, 13, 0, tzinfo=timezone.utc)
JULY_9 = datetime(2017, 7, 9, 23, 30, tzinfo=timezone.utc)


@pytest.fixture
def calls(session):
    add_call(session, "CR-1", [("officer", "Lieutenant Reyes, go ahead."),
                               ("ice", "Our subject has a felony warrant for burglary out of Jefferson Circuit."),
                               ("officer", "I will send a unit to serve that warrant.")],
             decision="dispatched", basis=("criminal_warrant",), officer="Lt. A. Reyes", received_at=JUNE_2,
             verdict="consistent", tags=(("criminal_warrant", 1, None),))
    add_call(session, "CR-2", [("officer", "Sergeant Lowry."),
                               ("ice", "We have an administrative warrant, an I-200, for a man in apartment four."),
                               ("ice", "We need two of your officers to knock on the door and get him out."),
                               ("officer", "Okay, I will send two cars.")],
             decision="dispatched", basis=("criminal_warrant",), officer="Sgt. P. Lowry", received_at=JULY_9,
             verdict="mismatch", reasons=("dispatch_without_basis", "door_knock_request_dispatched"),
             tags=(("immigration_warrant", 1, None), ("door_knock", 2, None)))
    add_call(session, "CR-3", [("officer", "Lieutenant Hale."),
                               ("ice", "We have a detainer on a man being released from the county jail."),
                               ("officer", "We don't do door knocks or detainers for ICE.")],
             decision="declined", officer="Lt. M. Hale", received_at=datetime(2017, 8, 1, 4, tzinfo=timezone.utc),
             verdict="consistent", tags=(("immigration_warrant", 1, None), ("door_knock", 2, "refused")))
    add_call(session, "CR-4", [("ice", "He is a deportation target, he has a knife and he is threatening people.")],
             decision=None, verdict="needs_review", reasons=("missing_log",))
    session.commit()
    return session


def _ids(hits):
    return sorted({(h.call_id, h.segment_idx) for h in hits})


def test_a_word_finds_every_segment_that_contains_it(calls):
    assert _ids(search(calls, "warrant")) == [("CR-1", 1), ("CR-1", 2), ("CR-2", 1)]


def test_words_are_stemmed_so_knock_finds_knocks(calls):
    assert _ids(search(calls, "knock")) == [("CR-2", 2), ("CR-3", 2)]


def test_adjacent_words_must_all_occur(calls):
    assert _ids(search(calls, "warrant burglary")) == [("CR-1", 1)]


def test_an_exact_phrase_matches_only_those_words_in_that_order(calls):
    assert _ids(search(calls, '"knock on the door"')) == [("CR-2", 2)]
    assert _ids(search(calls, '"door on the knock"')) == []


def test_a_prefix_matches_words_that_start_with_it(calls):
    assert _ids(search(calls, "deport*")) == [("CR-4", 0)]
    assert _ids(search(calls, "detain*")) == [("CR-3", 1), ("CR-3", 2)]


def test_or_not_and_parentheses(calls):
    assert _ids(search(calls, "detainer OR burglary")) == [("CR-1", 1), ("CR-3", 1), ("CR-3", 2)]
    assert _ids(search(calls, "warrant NOT felony")) == [("CR-1", 2), ("CR-2", 1)]
    assert _ids(search(calls, "warrant AND NOT (felony OR administrative)")) == [("CR-1", 2)]


def test_lower_case_operators_are_ordinary_words(calls):
    assert _ids(search(calls, "knock door")) == [("CR-2", 2), ("CR-3", 2)]
    # "and" is a word, not an operator: SQLite requires it (only CR-2 says it); PostgreSQL's english
    # configuration drops it as a stop word. Either way no error and no OR semantics.
    assert _ids(search(calls, "knock and door")) in ([("CR-2", 2)], [("CR-2", 2), ("CR-3", 2)])
    assert _ids(search(calls, "knock or detainer")) == [("CR-3", 2)]  # "door knocks or detainers"


def test_a_hyphenated_word_is_searched_as_its_parts_in_order(calls):
    assert _ids(search(calls, "I-200")) == [("CR-2", 1)]


def test_snippet_marks_the_match_and_hits_carry_call_facts(calls):
    hit = search(calls, "burglary")[0]
    assert f"{MARK_START}burglary{MARK_END}" in hit.snippet
    assert (hit.call_id, hit.segment_idx, hit.start, hit.speaker) == ("CR-1", 1, 4.0, "ice")
    assert (hit.commanding_officer, hit.decision, hit.verdict) == ("Lt. A. Reyes", "dispatched", "consistent")
    assert hit.received_at == JUNE_2


def test_better_matches_rank_first(calls):
    hits = search(calls, "warrant")
    assert [h.rank for h in hits] == sorted((h.rank for h in hits), reverse=True)
    assert search(calls, "warrant", limit=1)[0] == hits[0]
    assert search(calls, "warrant", limit=2, offset=1) == hits[1:3]



def test_each_hit_of_a_page_carries_its_own_segments_snippet(calls):
    # SQLite takes a page's snippets in one pass over the page's rowid range: the matches in that range
    # that are not on the page (filtered out, or on another page) must not lend a hit their snippet.
    for query, filters in (("warr*", {}), ("warr*", {"decision": "dispatched"}), ("de*", {}),
                           ("warrant OR knock*", {"officer": "lowry"})):
        everything = search(calls, query, **filters)
        assert len(everything) >= 2, query
        for offset in range(len(everything)):  # pages of two ranked hits: other matches lie between their rows
            page = search(calls, query, limit=2, offset=offset, **filters)
            assert page == everything[offset:offset + 2]
            for hit in page:
                transcript = store.current_transcript(calls, store.find_call(calls, hit.call_id).id)
                (text,) = [s.text for s in store.segments_of(calls, transcript.id) if s.idx == hit.segment_idx]
                shown = hit.snippet.replace(MARK_START, "").replace(MARK_END, "").strip(ELLIPSIS).strip()
                assert len(shown) > 10 and shown in text and MARK_START in hit.snippet, (query, filters, hit, text)


def test_only_the_current_transcript_version_is_searched(calls):
    call = store.find_call(calls, "CR-1")
    add_version(calls, call, [("officer", "Lieutenant Reyes."), ("ice", "The subject has a bench capias.")])
    calls.commit()
    assert _ids(search(calls, "burglary")) == []
    assert _ids(search(calls, "capias")) == [("CR-1", 1)]
    assert _ids(search(calls, "warrant")) == [("CR-2", 1)]


def test_a_transcript_made_current_again_is_searched_again(calls):
    call = store.find_call(calls, "CR-1")
    add_version(calls, call, [("ice", "The subject has a bench capias.")])
    calls.commit()
    versions = store.transcript_versions(calls, call.id)
    versions[1].is_current = False
    calls.add(versions[1])
    calls.flush()
    versions[0].is_current = True
    calls.add(versions[0])
    calls.commit()
    assert _ids(search(calls, "burglary")) == [("CR-1", 1)]
    assert _ids(search(calls, "capias")) == []


@pytest.mark.parametrize("filters, expected", [
    ({"officer": "REYES"}, [("CR-1", 1), ("CR-1", 2)]),
    ({"officer": "lowry"}, [("CR-2", 1)]),
    ({"officer": "%"}, []),
    ({"decision": "dispatched"}, [("CR-1", 1), ("CR-1", 2), ("CR-2", 1)]),
    ({"decision": "declined"}, []),
    ({"verdict": "mismatch"}, [("CR-2", 1)]),
    ({"tag": "criminal_warrant"}, [("CR-1", 1), ("CR-1", 2)]),
    ({"date_from": date(2017, 7, 9)}, [("CR-2", 1)]),
    ({"date_to": date(2017, 6, 2)}, [("CR-1", 1), ("CR-1", 2)]),
    ({"date_from": date(2017, 6, 3), "date_to": date(2017, 7, 8)}, []),
    ({"date_to": datetime(2017, 6, 2, 13, 0, tzinfo=timezone.utc)}, []),
])
def test_filters_narrow_to_calls(calls, filters, expected):
    assert _ids(search(calls, "warrant", **filters)) == expected


def test_tag_filter_counts_only_unqualified_mentions(calls):
    # CR-3's door_knock mention is the officer refusing: it does not count, so the call is not returned.
    assert _ids(search(calls, "door OR knock", tag="door_knock")) == [("CR-2", 2)]


def test_decision_none_finds_calls_without_a_log(calls):
    assert _ids(search(calls, "knife", decision="none")) == [("CR-4", 0)]
    assert _ids(search(calls, "knife", decision="declined")) == []


def test_filters_combine(calls):
    assert _ids(search(calls, "door", decision="declined", officer="hale")) == [("CR-3", 2)]
    assert _ids(search(calls, "door", decision="declined", officer="reyes")) == []


@pytest.mark.parametrize("query, problem", [
    ("", "no words"),
    ("   ", "no words"),
    ('"knock on the door', "without a closing"),
    ('""', "empty phrase"),
    ("(warrant OR detainer", "without a matching )"),
    ("warrant)", "without a matching ("),
    ("warrant AND", "ends with an operator"),
    ("OR warrant", "OR needs a word on each side"),
    ("NOT warrant", "NOT needs something to exclude from"),
    ("warrant OR NOT detainer", "NOT needs something to exclude from"),
    ("w*", "at least 2 characters"),
    ("*arrant", "* may only end a word"),
    ('"knock on"*', "single words"),
    ("I-2*", "single word"),
    ("x" * 600, "longer than"),
])
def test_malformed_queries_say_what_is_wrong(calls, query, problem):
    with pytest.raises(InvalidSearchQuery) as err:
        search(calls, query)
    assert problem in str(err.value)
    assert isinstance(err.value, StorageError)


@pytest.mark.parametrize("query", ['warrant"', "NEAR(warrant detainer)", "text:warrant", "warrant^", "{text}: x",
                                   "'; DROP TABLE segment; --", "war\"rant", "-warrant", "+warrant", "a:b:c"])
def test_fts_and_sql_syntax_in_user_text_is_never_interpreted(calls, query):
    try:
        search(calls, query)
    except InvalidSearchQuery:
        pass  # a clear message is fine; an SQL or FTS5 error is not
    assert _ids(search(calls, "warrant"))  # and the table is still there


def test_parse_tree_renders_quoted_fts5():
    assert to_fts5(parse_query('warr* "knock on" NOT (detainer OR I-200)')) == \
        '(("warr"* AND "knock on") NOT ("detainer" OR "I 200"))'


def test_search_sql_keeps_user_text_out_of_the_statement():
    for dialect in ("sqlite", "postgresql"):
        sql, params = search_sql(dialect, "reyes' OR 1=1 --", officer="o'brien")
        assert "reyes" not in sql and "brien" not in sql
        assert "o'brien" in params["officer"]


def test_pages_past_the_rank_window_are_refused(calls):
    with pytest.raises(InvalidSearchQuery, match="narrow the query"):
        search(calls, "warrant", limit=50, offset=1_000_000)


# --- filters alone (no words): one line per call, the same filters with the same meaning --------------

def _listed(hits):
    return [(h.call_id, h.segment_idx) for h in hits]


def test_filters_alone_list_one_line_per_call_newest_first_no_log_last(calls):
    assert _listed(list_matching_calls(calls)) == [("CR-3", 0), ("CR-2", 0), ("CR-1", 0), ("CR-4", 0)]


@pytest.mark.parametrize("filters, expected", [
    ({"officer": "REYES"}, [("CR-1", 0)]),
    ({"officer": "%"}, []),
    ({"decision": "declined"}, [("CR-3", 0)]),
    ({"decision": "none"}, [("CR-4", 0)]),
    ({"verdict": "mismatch"}, [("CR-2", 0)]),
    ({"date_from": date(2017, 7, 9)}, [("CR-3", 0), ("CR-2", 0)]),
    ({"date_to": date(2017, 6, 2)}, [("CR-1", 0)]),
    ({"date_to": datetime(2017, 6, 2, 13, 0, tzinfo=timezone.utc)}, []),
    ({"decision": "none", "officer": "reyes"}, []),
])
def test_filters_alone_narrow_as_search_does(calls, filters, expected):
    assert _listed(list_matching_calls(calls, **filters)) == expected


def test_tag_alone_lists_calls_where_the_kind_counts_at_its_first_counted_mention(calls):
    # CR-3 only refuses a door knock (qualifier "refused"): it does not count, as in `search`.
    assert _listed(list_matching_calls(calls, tag="door_knock")) == [("CR-2", 2)]
    assert _listed(list_matching_calls(calls, tag="immigration_warrant")) == [("CR-3", 1), ("CR-2", 1)]


def test_a_listed_line_carries_the_call_facts_and_no_marks(calls):
    [hit] = list_matching_calls(calls, officer="reyes")
    assert (hit.commanding_officer, hit.decision, hit.verdict, hit.received_at) == (
        "Lt. A. Reyes", "dispatched", "consistent", JUNE_2)
    assert hit.snippet == "Lieutenant Reyes, go ahead." and MARK_START not in hit.snippet


def test_listing_pages_and_keeps_user_text_out_of_the_statement(calls):
    assert _listed(list_matching_calls(calls, limit=2, offset=1)) == [("CR-2", 0), ("CR-1", 0)]
    for dialect in ("sqlite", "postgresql"):
        sql, params = list_calls_sql(dialect, officer="o'brien", tag="door_knock")
        assert "brien" not in sql and "o'brien" in params["officer"]
    with pytest.raises(InvalidSearchQuery):
        list_matching_calls(calls, limit=0)
