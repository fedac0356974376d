"""Every page and action checks the role on the server, and every form needs the session's CSRF token.

The tables below list each route once; a route added without an entry here fails
`test_every_route_is_in_the_access_table`.
"""
from __future__ import annotations

import pytest
from sqlmodel import select

from callreview.storage.db import open_session
from callreview.storage.tables import AuditEvent, Disposition, ReviewItem
from tests.web.conftest import csrf_of, page_csrf, sign_in

# (method, path, roles allowed). Item 1 is CR-SAMPLE-002's open review item.
ROUTES = [
    ("GET", "/queue", {"reviewer"}),
    ("GET", "/calls/CR-SAMPLE-002", {"reviewer", "supervisor"}),
    ("GET", "/calls/CR-SAMPLE-002/audio", {"reviewer", "supervisor"}),
    ("GET", "/search?q=door", {"reviewer", "supervisor"}),
    ("GET", "/admin/users", {"admin"}),
    ("GET", "/admin/audit", {"admin"}),
    ("POST", "/items/1/claim", {"reviewer"}),
    ("POST", "/items/1/release", {"reviewer"}),
    ("POST", "/items/1/disposition", {"reviewer"}),
    ("POST", "/admin/users", {"admin"}),
    ("POST", "/admin/users/bob/active", {"admin"}),
    ("POST", "/admin/items/1/release", {"admin"}),
    ("POST", "/logout", {"reviewer", "supervisor", "admin"}),
]
PUBLIC = {("GET", "/"), ("GET", "/login"), ("POST", "/login")}
SIGNED_IN = {"reviewer": "alice", "supervisor": "sam", "admin": "ada"}


def test_every_route_is_in_the_access_table(app):
    listed = {(m, p.split("?")[0].replace("CR-SAMPLE-002", "{call_id}").replace("/1/", "/{item_id}/")
               .replace("/bob/", "/{username}/")) for m, p, _ in ROUTES} | PUBLIC
    routes = {(m, r.path) for r in app.routes if hasattr(r, "methods") for m in r.methods if m != "HEAD"}
    assert routes - listed == set()


@pytest.mark.parametrize("method,path,_", ROUTES)
def test_anonymous_user_sees_nothing(client, method, path, _):
    response = client.request(method, path, data={"csrf_token": "x"} if method == "POST" else None)
    if method == "GET":
        assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")
    else:
        assert response.status_code == 401
    assert "CR-SAMPLE" not in response.text and "Lowry" not in response.text
    assert not response.headers.get("content-type", "").startswith("audio/")


_CASES = [(role, method, path, role in allowed) for method, path, allowed in ROUTES for role in SIGNED_IN
          if (method, path) != ("POST", "/logout")]


@pytest.mark.parametrize("role,method,path,allowed", _CASES, ids=[f"{r}-{m}-{p}" for r, m, p, _ in _CASES])
def test_each_role_reaches_only_its_pages_and_actions(client, web_storage, role, method, path, allowed):
    sign_in(client, SIGNED_IN[role])
    data = {"csrf_token": page_csrf(client), "disposition": "confirmed", "note": "checked",
            "username": "newuser", "role": "reviewer", "password": "a long enough password", "active": "false"}
    response = client.request(method, path, data=data if method == "POST" else None)
    if allowed:
        # Past the role check; releasing an item nobody claimed is a 409, not a refusal of the role.
        assert response.status_code in (200, 206, 303, 409), response.text[:300]
    else:
        assert response.status_code == 403
        assert "Not allowed" in response.text
        with open_session(web_storage) as s:
            denied = s.exec(select(AuditEvent).where(AuditEvent.action == "access_denied")).all()
        assert [(e.actor, e.object_id, e.outcome) for e in denied] == [(f"web:{SIGNED_IN[role]}", path.split("?")[0],
                                                                          "denied")]


def test_supervisor_cannot_dispose_and_the_item_stays_open(client, web_storage):
    sign_in(client, "sam")
    page = client.get("/calls/CR-SAMPLE-002")
    assert page.status_code == 200 and 'action="/items/1/disposition"' not in page.text
    response = client.post("/items/1/disposition", data={"csrf_token": csrf_of(page.text),
                                                         "disposition": "dismissed", "note": "not my call"})
    assert response.status_code == 403
    with open_session(web_storage) as s:
        assert s.get(ReviewItem, 1).status == "open"
        assert s.exec(select(Disposition)).all() == []


# CSRF: each state-changing form, posted by a user whose role allows it.
CSRF_FORMS = [
    ("alice", "/items/1/claim", {}),
    ("alice", "/items/1/disposition", {"disposition": "confirmed", "note": "forged"}),
    ("ada", "/admin/users", {"username": "mallory", "role": "admin", "password": "a long enough password"}),
    ("ada", "/admin/users/bob/active", {"active": "false"}),
    ("alice", "/logout", {}),
]


@pytest.mark.parametrize("token", ["missing", "wrong", "other_session"])
@pytest.mark.parametrize("user,path,fields", CSRF_FORMS, ids=[p for _, p, _ in CSRF_FORMS])
def test_forms_without_this_sessions_csrf_token_are_refused(make_client, web_storage, token, user, path, fields):
    other = make_client()
    sign_in(other, "bob" if user == "alice" else "ada")
    victim = make_client()
    sign_in(victim, user)
    data = dict(fields)
    if token == "wrong":
        data["csrf_token"] = "A" * 43
    elif token == "other_session":
        data["csrf_token"] = page_csrf(other)  # a valid token, but not this session's
    response = victim.post(path, data=data)
    assert response.status_code == 403
    assert "did not come from this app" in response.text
    with open_session(web_storage) as s:
        item = s.get(ReviewItem, 1)
        assert (item.status, item.claimed_by) == ("open", None)
        rejected = s.exec(select(AuditEvent).where(AuditEvent.action == "csrf_rejected")).all()
    assert [e.actor for e in rejected] == [f"web:{user}"]
    assert victim.get("/", follow_redirects=False).headers["location"] != "/login"  # still signed in


def test_every_form_on_every_page_carries_a_csrf_token(client):
    sign_in(client, "alice")
    for path in ("/queue", "/calls/CR-SAMPLE-002", "/search?q=door"):
        html = client.get(path).text
        assert html.count('method="post"') == html.count('name="csrf_token"'), path
