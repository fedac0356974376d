"""Admin pages: users and the audit log (callreview/web/routes_admin.py)."""
from __future__ import annotations

from sqlmodel import select

from callreview.storage.db import open_session
from callreview.storage.tables import AuditEvent
from callreview.storage.users import find_user
from tests.web.conftest import PASSWORD, page_csrf, sign_in


def test_admin_creates_a_user_who_can_then_sign_in(client, make_client, web_storage):
    sign_in(client, "ada")
    response = client.post("/admin/users", data={"csrf_token": page_csrf(client), "username": "carol",
                                                 "role": "supervisor", "password": PASSWORD})
    assert response.headers["location"] == "/admin/users?msg=user_added"
    assert "carol" in client.get("/admin/users").text
    carol = make_client()
    assert sign_in(carol, "carol").headers["location"] == "/search"
    with open_session(web_storage) as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "user_add",
                                                AuditEvent.object_id == "carol")).one()
    assert event.actor == "web:ada"


def test_bad_new_users_are_refused_with_the_reason(client):
    sign_in(client, "ada")
    for fields, problem in ((("Carol Smith", "reviewer", PASSWORD), "must be 2-64 characters"),
                            (("carol", "reviewer", "short"), "use at least 12"),
                            (("carol", "root", PASSWORD), "role must be one of"),
                            (("alice", "reviewer", PASSWORD), "already exists")):
        username, role, password = fields
        response = client.post("/admin/users", data={"csrf_token": page_csrf(client), "username": username,
                                                     "role": role, "password": password})
        assert response.status_code == 422 and problem in response.text, problem


def test_deactivating_a_user_ends_their_sessions(client, make_client, web_storage):
    alice = make_client()
    sign_in(alice, "alice")
    sign_in(client, "ada")
    client.post("/admin/users/alice/active", data={"csrf_token": page_csrf(client), "active": "false"})
    assert alice.get("/queue").status_code == 303
    with open_session(web_storage) as s:
        assert find_user(s, "alice").active is False


def test_admin_cannot_deactivate_themselves(client):
    sign_in(client, "ada")
    response = client.post("/admin/users/ada/active", data={"csrf_token": page_csrf(client), "active": "false"})
    assert response.status_code == 422


def test_audit_log_is_paged_newest_first(client, web_storage, web_settings):
    sign_in(client, "ada")
    with open_session(web_storage) as s:
        total = len(s.exec(select(AuditEvent)).all())
    first = client.get("/admin/audit").text
    assert f"{total} events" in first and "page 1 of" in first
    ids = [int(x) for x in __import__("re").findall(r"<tr class=\"outcome-[^\"]+\"><td>(\d+)</td>", first)]
    assert ids == sorted(ids, reverse=True) and len(ids) <= web_settings.page_size
    assert "sign_in" in first


def test_audit_log_filters_by_actor_and_action(client):
    sign_in(client, "ada")
    html = client.get("/admin/audit?actor=web:ada&action=sign_in").text
    assert "1 event," in html and "web:ada" in html
