"""Every route of the web app is in the audit table of docs/web.md, and does what the table says.

The audit log is evidence, so its completeness cannot depend on each new route remembering to write
to it. This test walks `app.routes`: a route missing from the table fails, a table row naming no route
fails, and a route the table says is audited must leave exactly one row of the documented shape
(action, object type and id, outcome `ok`, detail keys) for a valid request by a permitted user, and
exactly one `access_denied` row for a signed-in user whose role is not permitted.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
from fastapi.routing import APIRoute
from starlette.routing import Mount
from sqlmodel import select

from callreview.storage.audit import verify_audit_chain
from callreview.storage.db import open_session
from callreview.storage.tables import AuditEvent
from callreview.web.deps import PERMISSIONS
from tests.web.conftest import PASSWORD, csrf_of, page_csrf, sign_in

DOC = Path(__file__).resolve().parents[2] / "docs" / "web.md"
ROLES = ("reviewer", "supervisor", "admin", "lead")
USER_OF_ROLE = {"reviewer": "alice", "supervisor": "sam", "admin": "ada", "lead": "lee"}
_BACKTICKED = re.compile(r"`([^`]+)`")


@dataclass(frozen=True)
class Row:
    """One row of the table: who may use the route, and the audit row it leaves (no action: none)."""

    roles: tuple[str, ...] | None  # None: anyone, or anyone signed in (no role is refused)
    actions: tuple[str, ...]
    object_type: str | None
    detail_keys: frozenset[str]


def audit_table() -> dict[tuple[str, str], Row]:
    """The route table of docs/web.md's "What is recorded", as (method, path) -> Row."""
    table, inside = {}, False
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("| route | who may | action | object | detail |"):
            inside = True
            continue
        if inside and not line.startswith("|"):
            break
        if not inside or line.startswith("|---"):
            continue
        route, who, action, obj, detail = [cell.strip() for cell in line.strip("|").split("|")]
        method, path = route.strip("`").split(" ", 1)
        roles = tuple(_BACKTICKED.findall(who))
        assert all(r in ROLES for r in roles), f"docs/web.md: {route}: unknown role in {who!r}"
        table[(method, path)] = Row(roles=roles or None, actions=tuple(_BACKTICKED.findall(action)),
                                    object_type=next(iter(_BACKTICKED.findall(obj)), None),
                                    detail_keys=frozenset(_BACKTICKED.findall(detail)))
    assert table, "docs/web.md has no audit table"
    return table


def app_routes(app) -> set[tuple[str, str]]:
    """(method, path template) of everything the app serves; a mounted app is ("GET", "/mount/{path}")."""
    try:
        # FastAPI 0.15x keeps included routers in app.routes; this walks into them.
        from fastapi.routing import iter_route_contexts
        routes = [(c.original_route, c.path) for c in iter_route_contexts(app.routes)]
    except ImportError:
        routes = [(r, r.path) for r in app.routes]
    served = set()
    for route, path in routes:
        if isinstance(route, APIRoute):
            served |= {(method, path) for method in route.methods}
        elif isinstance(route, Mount):
            served.add(("GET", f"{path}/{{path}}"))
        else:
            raise AssertionError(f"{route!r}: a kind of route this test does not know; teach it")
    return served


def test_every_route_is_in_the_audit_table_and_every_row_is_a_route(app):
    table, routes = audit_table(), app_routes(app)
    assert sorted(routes - set(table)) == [], "routes missing from the audit table in docs/web.md"
    assert sorted(set(table) - routes) == [], "rows of the audit table in docs/web.md that name no route"


# --- a valid request by a permitted user, per audited route --------------------------------------------
# Each recipe does its setup (which may itself write audit rows) and returns the request to count,
# and the object id its row must name.

Request = Callable[[], object]


@dataclass
class Context:
    make_client: Callable
    storage: object

    def client_of(self, role: str | None):
        client = self.make_client()
        if role is not None:
            assert sign_in(client, USER_OF_ROLE[role]).status_code == 303
        return client

    def open_item(self) -> tuple[int, str]:
        """An open review item and its call id."""
        from callreview.storage.queue import list_items

        with open_session(self.storage) as s:
            row = list_items(s, status="open")[0]
        return row.item_id, row.call_id


def _sign_in(ctx: Context):
    client = ctx.client_of(None)
    token = csrf_of(client.get("/login").text)
    return (lambda: client.post("/login", data={"username": "alice", "password": PASSWORD, "csrf_token": token,
                                                "next": ""})), "alice"


def _sign_out(ctx: Context):
    client = ctx.client_of("supervisor")
    token = page_csrf(client, "/search")
    return (lambda: client.post("/logout", data={"csrf_token": token})), "sam"


def _queue(ctx: Context):
    client = ctx.client_of("reviewer")
    return (lambda: client.get("/queue")), "open"


def _claim(ctx: Context):
    client, (item, _) = ctx.client_of("reviewer"), ctx.open_item()
    token = page_csrf(client, "/queue")
    return (lambda: client.post(f"/items/{item}/claim", data={"csrf_token": token})), str(item)


def _release(ctx: Context):
    client, (item, _) = ctx.client_of("reviewer"), ctx.open_item()
    token = page_csrf(client, "/queue")
    assert client.post(f"/items/{item}/claim", data={"csrf_token": token}).status_code == 303
    return (lambda: client.post(f"/items/{item}/release", data={"csrf_token": token})), str(item)


def _dispose(ctx: Context):
    client, (item, _) = ctx.client_of("reviewer"), ctx.open_item()
    token = page_csrf(client, "/queue")
    data = {"csrf_token": token, "disposition": "confirmed", "note": "Door knock for ICE; officers went."}
    return (lambda: client.post(f"/items/{item}/disposition", data=data)), str(item)


def _disagreed_item(ctx: Context) -> int:
    """An item two reviewers disposed of differently under double review: it awaits adjudication."""
    from callreview.service.queue import dispose_item

    item, _ = ctx.open_item()
    with open_session(ctx.storage) as s:
        for reviewer, finding in (("alice", "confirmed"), ("bob", "dismissed")):
            dispose_item(s, f"web:{reviewer}", item, reviewer=reviewer, disposition=finding, note="heard it",
                         double_review=frozenset({"high", "medium", "low"}))
    return item


def _adjudicate(ctx: Context):
    item = _disagreed_item(ctx)
    client = ctx.client_of("lead")
    data = {"csrf_token": page_csrf(client, "/adjudication"), "disposition": "confirmed", "note": "alice is right"}
    return (lambda: client.post(f"/items/{item}/adjudication", data=data)), str(item)


def _adjudication_page(ctx: Context):
    client = ctx.client_of("lead")
    return (lambda: client.get("/adjudication")), "adjudication"


def _call_page(ctx: Context):
    client = ctx.client_of("supervisor")
    return (lambda: client.get("/calls/CR-SAMPLE-002")), "CR-SAMPLE-002"


def _audio(ctx: Context):
    client = ctx.client_of("reviewer")
    return (lambda: client.get("/calls/CR-SAMPLE-002/audio", headers={"Range": "bytes=0-99"})), "CR-SAMPLE-002"


def _packet(ctx: Context):
    client = ctx.client_of("reviewer")
    return (lambda: client.get("/calls/CR-SAMPLE-002/packet")), "CR-SAMPLE-002"


def _correct(ctx: Context):
    client = ctx.client_of("reviewer")
    page = client.get("/calls/CR-SAMPLE-002").text
    data = {"csrf_token": csrf_of(page), "text": "We need your officers to knock on the door, apartment four.",
            "reason": "listened again"}
    return (lambda: client.post("/calls/CR-SAMPLE-002/segments/2/correction", data=data)), "CR-SAMPLE-002"


def _versions(ctx: Context):
    client = ctx.client_of("supervisor")
    return (lambda: client.get("/calls/CR-SAMPLE-002/versions")), "CR-SAMPLE-002"


def _search(ctx: Context):
    client = ctx.client_of("supervisor")
    return (lambda: client.get("/search?q=knock&decision=dispatched")), "knock"


def _add_user(ctx: Context):
    client = ctx.client_of("admin")
    token = page_csrf(client, "/admin/users")
    data = {"csrf_token": token, "username": "carol", "role": "supervisor", "password": PASSWORD}
    return (lambda: client.post("/admin/users", data=data)), "carol"


def _switch_user(ctx: Context):
    client = ctx.client_of("admin")
    token = page_csrf(client, "/admin/users")
    # bob holds no claim: deactivating him writes only his own row.
    return (lambda: client.post("/admin/users/bob/active", data={"csrf_token": token, "active": "false"})), "bob"


def _admin_release(ctx: Context):
    reviewer, (item, _) = ctx.client_of("reviewer"), ctx.open_item()
    assert reviewer.post(f"/items/{item}/claim", data={"csrf_token": page_csrf(reviewer, "/queue")}).status_code == 303
    admin = ctx.client_of("admin")
    token = page_csrf(admin, "/admin/users")
    return (lambda: admin.post(f"/admin/items/{item}/release", data={"csrf_token": token})), str(item)


def _audit_page(ctx: Context):
    client = ctx.client_of("admin")
    return (lambda: client.get("/admin/audit")), "1"


RECIPES: dict[tuple[str, str], Callable[[Context], tuple[Request, str]]] = {
    ("POST", "/login"): _sign_in,
    ("POST", "/logout"): _sign_out,
    ("GET", "/queue"): _queue,
    ("POST", "/items/{item_id}/claim"): _claim,
    ("POST", "/items/{item_id}/release"): _release,
    ("POST", "/items/{item_id}/disposition"): _dispose,
    ("POST", "/items/{item_id}/adjudication"): _adjudicate,
    ("GET", "/adjudication"): _adjudication_page,
    ("GET", "/calls/{call_id}"): _call_page,
    ("GET", "/calls/{call_id}/audio"): _audio,
    ("GET", "/calls/{call_id}/packet"): _packet,
    ("POST", "/calls/{call_id}/segments/{segment}/correction"): _correct,
    ("GET", "/calls/{call_id}/versions"): _versions,
    ("GET", "/search"): _search,
    ("POST", "/admin/users"): _add_user,
    ("POST", "/admin/users/{username}/active"): _switch_user,
    ("POST", "/admin/items/{item_id}/release"): _admin_release,
    ("GET", "/admin/audit"): _audit_page,
}
AUDITED = sorted(key for key, row in audit_table().items() if row.actions)


def _last_id(storage) -> int:
    with open_session(storage) as s:
        last = s.exec(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).first()
        return last.id if last else 0


def _rows_after(storage, event_id: int) -> list[AuditEvent]:
    with open_session(storage) as s:
        assert verify_audit_chain(s) == []
        return list(s.exec(select(AuditEvent).where(AuditEvent.id > event_id).order_by(AuditEvent.id)))


def test_every_audited_route_has_a_recipe():
    assert sorted(set(AUDITED) - set(RECIPES)) == [], "add a valid request for the route to RECIPES"
    assert sorted(set(RECIPES) - set(AUDITED)) == []


@pytest.mark.parametrize("method, path", AUDITED, ids=[f"{m} {p}" for m, p in AUDITED])
def test_a_permitted_request_leaves_exactly_one_row_of_the_documented_shape(method, path, make_client, web_storage):
    row = audit_table()[(method, path)]
    request, object_id = RECIPES[(method, path)](Context(make_client, web_storage))
    before = _last_id(web_storage)
    response = request()
    assert response.status_code < 400, response.text[:500]
    rows = _rows_after(web_storage, before)
    assert len(rows) == 1, [(e.action, e.object_id, e.outcome) for e in rows]
    [event] = rows
    assert event.action in row.actions
    assert (event.object_type, event.object_id, event.outcome) == (row.object_type, object_id, "ok")
    assert set(json.loads(event.detail_json)) == row.detail_keys


REFUSABLE = sorted(key for key, row in audit_table().items() if row.roles)
_EXAMPLE = {"item_id": "1", "call_id": "CR-SAMPLE-002", "username": "bob", "segment": "2"}


@pytest.mark.parametrize("method, path", REFUSABLE, ids=[f"{m} {p}" for m, p in REFUSABLE])
def test_a_role_without_permission_leaves_exactly_one_access_denied_row(method, path, make_client, web_storage):
    row = audit_table()[(method, path)]
    refused = next(r for r in ROLES if r not in row.roles)
    client = Context(make_client, web_storage).client_of(refused)
    token = page_csrf(client, "/")
    concrete = path.format(**_EXAMPLE)
    before = _last_id(web_storage)
    response = client.get(concrete) if method == "GET" else client.post(concrete, data={"csrf_token": token})
    assert response.status_code == 403
    rows = _rows_after(web_storage, before)
    assert [(e.actor, e.action, e.object_type, e.object_id, e.outcome) for e in rows] == [
        (f"web:{USER_OF_ROLE[refused]}", "access_denied", "path", concrete, "denied")]
    detail = json.loads(rows[0].detail_json)
    assert (set(detail), detail["method"], detail["role"]) == ({"method", "role", "needs"}, method, refused)
    # The table's "who may" is the permission the route checks, no more and no less.
    assert PERMISSIONS[detail["needs"]] == frozenset(row.roles)
