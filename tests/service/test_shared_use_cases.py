"""Use cases the CLI and the web app share (callreview/service/): each writes one audit row and commits it.

The web tests cover the web's shapes through the pages; these cover the shapes the CLI has always
written (`callreview show`, `callreview search`, `callreview queue`), so that switching the CLI to the
service functions changes no audit row. Each row is read back in a new session: it was committed.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timezone

import pytest
from sqlmodel import select

from calldata import add_call
from callreview.service.calls import CallNotFound, view_call
from callreview.service.queue import view_queue
from callreview.service.queue_view import QueueFilters
from callreview.service.search import search_calls
from callreview.storage.audit import verify_audit_chain
from callreview.storage.dates import DateOutOfRange
from callreview.storage.db import open_session
from callreview.storage.search import InvalidSearchQuery
from callreview.storage.tables import AuditEvent

CLI = "cli:jones"


@pytest.fixture
def storage(storage_settings):
    with open_session(storage_settings) as s:
        add_call(s, "CR-1", [("ice", "We need officers to knock on the door.")], decision="dispatched",
                 received_at=datetime(2017, 6, 2, tzinfo=timezone.utc), verdict="mismatch",
                 reasons=("door_knock_request_dispatched",), tags=(("door_knock", 0, None),))
        add_call(s, "CR-2", [("officer", "We don't do door knocks for ICE.")], decision="declined",
                 received_at=datetime(2017, 6, 3, tzinfo=timezone.utc), verdict="needs_review",
                 reasons=("uncertain_evidence",), tags=(("door_knock", 0, "refused"),))
        s.commit()
    return storage_settings


def _rows(storage) -> list[tuple]:
    with open_session(storage) as s:
        assert verify_audit_chain(s) == []
        return [(e.actor, e.action, e.object_type, e.object_id, e.outcome, json.loads(e.detail_json))
                for e in s.exec(select(AuditEvent).order_by(AuditEvent.id))]


def test_view_call_returns_the_detail_and_writes_the_show_row(storage):
    with open_session(storage) as s:
        detail = view_call(s, CLI, "CR-1")
    assert detail["call_id"] == "CR-1" and detail["assessment"]["verdict"] == "mismatch"
    assert _rows(storage) == [(CLI, "view_call", "call", "CR-1", "ok", {})]


def test_view_call_of_an_unknown_call_is_refused_after_its_row(storage):
    with open_session(storage) as s, pytest.raises(CallNotFound, match="CR-404"):
        view_call(s, CLI, "CR-404")
    assert _rows(storage) == [(CLI, "view_call", "call", "CR-404", "not_found", {})]


def test_search_without_a_form_writes_the_cli_row(storage):
    with open_session(storage) as s:
        hits = search_calls(s, CLI, "door", tag="door_knock", date_from=date(2017, 6, 1))
    assert [h.call_id for h in hits] == ["CR-1"]  # CR-2's door knock is refused: it does not count
    filters = {"tag": "door_knock", "officer": None, "date_from": "2017-06-01", "date_to": None, "decision": None,
               "verdict": None}
    assert _rows(storage) == [(CLI, "search", "transcripts", "door", "ok", {"filters": filters, "hits": 1})]


def test_a_refused_query_writes_its_error_and_is_raised(storage):
    with open_session(storage) as s, pytest.raises(InvalidSearchQuery, match="closing"):
        search_calls(s, CLI, '"knock on')
    [row] = _rows(storage)
    assert row[1:5] == ("search", "transcripts", '"knock on', "invalid_query")
    assert set(row[5]) == {"filters", "error"} and "closing" in row[5]["error"]


def test_a_day_out_of_range_names_the_filter(storage):
    with open_session(storage) as s, pytest.raises(DateOutOfRange):
        search_calls(s, CLI, "door", date_to=date(3000, 1, 1))
    [row] = _rows(storage)
    assert row[4] == "invalid_date_to" and "2999-12-31" in row[5]["error"]


def test_a_blank_query_is_refused_unless_filters_alone_are_asked_for(storage):
    with open_session(storage) as s:
        with pytest.raises(InvalidSearchQuery, match="no words"):
            search_calls(s, CLI, "", decision="declined")
        hits = search_calls(s, "web:sam", "", decision="declined", asked={"q": "", "decision": "declined"},
                            filters_alone=True)
    assert [(h.call_id, h.segment_idx) for h in hits] == [("CR-2", 0)]
    assert _rows(storage)[-1] == ("web:sam", "search", "transcripts", "", "ok",
                                  {"query": {"decision": "declined"}, "hits": 1})


def test_view_queue_without_filters_lists_items_as_queued_and_writes_the_count(storage):
    with open_session(storage) as s:
        page = view_queue(s, CLI, "all")
    assert [e.row.call_id for e in page.entries] == ["CR-1", "CR-2"]
    assert _rows(storage) == [(CLI, "view_queue", "queue", "all", "ok", {"items": 2})]


def test_view_queue_with_filters_writes_them(storage):
    with open_session(storage) as s:
        page = view_queue(s, "web:alice", "open", filters=QueueFilters(severity="high", sort="age"))
        with pytest.raises(ValueError):
            view_queue(s, "web:alice", "all", filters=QueueFilters(status="open"))
    assert {e.row.call_id for e in page.entries} == {"CR-1", "CR-2"} and page.officers == ["Lt. A. Reyes"]
    assert _rows(storage) == [("web:alice", "view_queue", "queue", "open", "ok",
                               {"filters": {"status": "open", "severity": "high", "sort": "age"}, "items": 2})]
