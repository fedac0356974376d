"""Out-of-range and malformed input: a 4xx page and an audit row naming the input, never a 500.

Before the fix `/items/99999999999999999999/claim` (an id SQLite cannot hold) and `date_to=9999-12-31`
(whose day after does not exist) raised inside the app: a 500, and nothing in the audit log.
"""
from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from callreview.storage.db import open_session
from callreview.storage.tables import AuditEvent, ReviewItem
from tests.web.conftest import page_csrf, sign_in

HUGE = "99999999999999999999"


@pytest.fixture
def quiet_client(app):
    """A client that shows a server error as the 500 it is, instead of raising it in the test."""
    with TestClient(app, follow_redirects=False, raise_server_exceptions=False) as c:
        yield c


def _bad_input_rows(storage) -> list[AuditEvent]:
    with open_session(storage) as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.action == "bad_request").order_by(AuditEvent.id)))


@pytest.mark.parametrize("action", ["claim", "release", "disposition"])
@pytest.mark.parametrize("item_id", [HUGE, "2147483648", "0", "-1", "one"])
def test_an_item_id_out_of_range_is_a_422_with_an_audit_row(quiet_client, web_storage, action, item_id):
    sign_in(quiet_client, "alice")
    response = quiet_client.post(f"/items/{item_id}/{action}", data={
        "csrf_token": page_csrf(quiet_client, "/queue"), "disposition": "confirmed", "note": "x"})
    assert response.status_code == 422 and "item_id" in response.text
    [row] = _bad_input_rows(web_storage)
    assert (row.actor, row.object_id, row.outcome) == ("web:alice", f"/items/{item_id}/{action}", "invalid_item_id")
    assert json.loads(row.detail_json)["problems"][0]["value"] == item_id
    with open_session(web_storage) as s:
        assert s.get(ReviewItem, 1).claimed_by is None


@pytest.mark.parametrize("user,path,name", [
    ("sam", "/search?q=door&date_to=9999-12-31", "date_to"),
    ("sam", "/search?date_from=0001-01-01", "date_from"),
    ("sam", "/search?q=door&date_from=2017-02-30", "date_from"),
    ("alice", "/queue?date_to=9999-12-31", "date_to"),
    ("alice", "/queue?date_from=yesterday", "date_from"),
    ("alice", "/queue?status=deleted", "status"),
    ("sam", "/search?q=door&verdict=guilty", "verdict"),
    ("ada", f"/admin/audit?page={HUGE}", "page"),
    ("ada", "/admin/audit?page=many", "page"),
])
def test_a_bad_query_value_is_a_422_with_an_audit_row_naming_it(quiet_client, web_storage, user, path, name):
    sign_in(quiet_client, user)
    response = quiet_client.get(path)
    assert response.status_code == 422 and name in response.text
    [row] = _bad_input_rows(web_storage)
    assert (row.actor, row.object_id, row.outcome) == (f"web:{user}", path.split("?")[0], f"invalid_{name}")
    assert json.loads(row.detail_json)["problems"][0]["input"] == name


def test_dates_inside_the_range_still_work(make_client, web_storage):
    sam, alice = make_client(), make_client()
    sign_in(sam, "sam")
    assert sam.get("/search?q=door&date_from=1900-01-01&date_to=2999-12-31").status_code == 200
    sign_in(alice, "alice")
    assert alice.get("/queue?date_from=1900-01-01&date_to=2999-12-31").status_code == 200
    assert _bad_input_rows(web_storage) == []


def test_a_refused_role_is_refused_before_its_input_is_read(quiet_client, web_storage):
    sign_in(quiet_client, "sam")
    assert quiet_client.get("/queue?date_to=9999-12-31").status_code == 403
    assert _bad_input_rows(web_storage) == []


def test_a_refused_role_is_refused_before_a_bad_path_value_is_read(quiet_client, web_storage):
    sign_in(quiet_client, "sam")
    response = quiet_client.post(f"/items/{HUGE}/claim", data={"csrf_token": page_csrf(quiet_client, "/search")})
    assert response.status_code == 403
    assert _bad_input_rows(web_storage) == []
