"""The review queue page: what it shows, filters, sorting, claiming (callreview/web/routes_queue.py)."""
from __future__ import annotations

import re

import pytest
from sqlmodel import select

from callreview.storage.db import open_session
from callreview.storage.tables import AuditEvent, ReviewItem
from tests.web.conftest import csrf_of, page_csrf, sign_in


def _rows(html: str) -> list[str]:
    """Call ids of the queue rows, in order."""
    return re.findall(r'<tr class="item" data-item="\d+" data-call="([^"]+)"', html)


def test_queue_shows_the_sample_mismatches_with_severity_reasons_and_officer(client):
    sign_in(client, "alice")
    html = client.get("/queue").text
    assert _rows(html) == ["CR-SAMPLE-002", "CR-SAMPLE-003"]  # high before medium; the consistent call is absent
    assert "ICE asked for a door knock (or similar) and officers were dispatched." in html
    assert "No decision was logged for this call." in html
    assert 'severity-high">high' in html and 'severity-medium">medium' in html
    assert "Sgt. P. Lowry" in html and "2017-06-05 06:40" in html  # shown in the app's time zone (Louisville)
    assert "(none logged)" in html


@pytest.mark.parametrize("query,expected", [
    ("reason=missing_log", ["CR-SAMPLE-003"]),
    ("reason=door_knock_request_dispatched", ["CR-SAMPLE-002"]),
    ("officer=lowry", ["CR-SAMPLE-002"]),
    ("severity=medium", ["CR-SAMPLE-003"]),
    ("date_from=2017-06-05&date_to=2017-06-05", ["CR-SAMPLE-002"]),
    ("date_from=2017-06-06", []),
    ("status=closed", []),
    ("status=all&sort=age", ["CR-SAMPLE-002", "CR-SAMPLE-003"]),
    ("sort=call_time", ["CR-SAMPLE-002", "CR-SAMPLE-003"]),  # no logged time sorts last
    ("reason=&officer=&date_from=&date_to=&severity=&sort=", ["CR-SAMPLE-002", "CR-SAMPLE-003"]),  # empty form
])
def test_queue_filters_and_sorts(client, query, expected):
    sign_in(client, "alice")
    assert _rows(client.get(f"/queue?{query}").text) == expected


@pytest.mark.parametrize("query", ["status=deleted", "reason=whatever", "date_from=yesterday", "sort=random"])
def test_bad_filter_values_are_refused_with_a_message(client, query):
    sign_in(client, "alice")
    response = client.get(f"/queue?{query}")
    assert response.status_code == 422 and "must be" in response.text


def test_viewing_the_queue_is_audited_with_its_filters(client, web_storage):
    sign_in(client, "alice")
    client.get("/queue?reason=missing_log")
    with open_session(web_storage) as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "view_queue")).one()
    assert event.actor == "web:alice" and '"reason": "missing_log"' in event.detail_json


def test_claiming_an_item_marks_it_for_everyone(make_client, web_storage):
    alice, bob = make_client(), make_client()
    sign_in(alice, "alice")
    sign_in(bob, "bob")
    response = alice.post("/items/1/claim", data={"csrf_token": page_csrf(alice)})
    assert response.status_code == 303 and response.headers["location"] == "/calls/CR-SAMPLE-002?msg=claimed"
    assert "alice" in bob.get("/queue").text
    # Bob's queue offers no claim button for it, and a forced claim is a conflict, audited.
    conflict = bob.post("/items/1/claim", data={"csrf_token": page_csrf(bob)})
    assert conflict.status_code == 409 and "claimed by alice" in conflict.text
    with open_session(web_storage) as s:
        assert s.get(ReviewItem, 1).claimed_by == "alice"
        outcomes = [(e.actor, e.outcome) for e in s.exec(select(AuditEvent).where(AuditEvent.action == "claim_item"))]
    assert outcomes == [("web:alice", "ok"), ("web:bob", "conflict")]


def test_claimed_item_cannot_be_disposed_by_another_reviewer(make_client, web_storage):
    alice, bob = make_client(), make_client()
    sign_in(alice, "alice")
    sign_in(bob, "bob")
    alice.post("/items/1/claim", data={"csrf_token": page_csrf(alice)})
    page = bob.get("/calls/CR-SAMPLE-002")
    assert 'action="/items/1/disposition"' not in page.text and "alice is working on this item" in page.text
    response = bob.post("/items/1/disposition", data={"csrf_token": csrf_of(page.text), "disposition": "dismissed",
                                                      "note": "mine now"})
    assert response.status_code == 409
    with open_session(web_storage) as s:
        assert s.get(ReviewItem, 1).status == "open"


def test_releasing_a_claim_puts_the_item_back(client, web_storage):
    sign_in(client, "alice")
    client.post("/items/1/claim", data={"csrf_token": page_csrf(client)})
    response = client.post("/items/1/release", data={"csrf_token": page_csrf(client)})
    assert response.headers["location"] == "/queue?msg=released"
    with open_session(web_storage) as s:
        assert s.get(ReviewItem, 1).claimed_by is None
