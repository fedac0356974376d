"""Claims on review items end: after CALLREVIEW_WEB_CLAIM_HOURS, by an admin, or when the user is deactivated.

Before the fix a claim lasted forever: a reviewer who went on leave, or was deactivated, kept items
nobody else could claim or dispose of, and nobody could release them.
"""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlmodel import select

from callreview.web.settings import WebSettings
from callreview.storage.audit import verify_audit_chain
from callreview.storage.db import open_session
from callreview.storage.tables import AuditEvent, ReviewItem, utcnow
from tests.web.conftest import csrf_of, page_csrf, sign_in


def _claim(client, item_id: int = 1):
    return client.post(f"/items/{item_id}/claim", data={"csrf_token": page_csrf(client, "/queue")})


def _claimed_hours_ago(storage, hours: float, item_id: int = 1) -> None:
    """Move a claim back in time (what the clock would have done)."""
    with open_session(storage) as s:
        item = s.get(ReviewItem, item_id)
        item.claimed_at = utcnow() - timedelta(hours=hours)
        s.add(item)
        s.commit()


def _events(storage, action: str) -> list[AuditEvent]:
    with open_session(storage) as s:
        assert verify_audit_chain(s) == []
        return list(s.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def test_claim_hours_is_a_documented_bounded_setting():
    field = WebSettings.model_fields["claim_hours"]
    assert field.default == 8 and "CALLREVIEW_WEB_CLAIM_HOURS" in field.description
    for bad in (0, 24 * 31):
        with pytest.raises(ValidationError):
            WebSettings(claim_hours=bad)


def test_a_fresh_claim_still_blocks_others(make_client, web_storage):
    alice, bob = make_client(), make_client()
    sign_in(alice, "alice")
    sign_in(bob, "bob")
    _claim(alice)
    _claimed_hours_ago(web_storage, 7.5)
    assert _claim(bob).status_code == 409
    assert "claim expired" not in bob.get("/queue").text


def test_an_expired_claim_no_longer_blocks_anyone(make_client, web_storage):
    alice, bob = make_client(), make_client()
    sign_in(alice, "alice")
    sign_in(bob, "bob")
    _claim(alice)
    _claimed_hours_ago(web_storage, 8.5)
    queue = bob.get("/queue").text
    assert "alice (claim expired)" in queue and 'action="/items/1/claim"' in queue
    page = bob.get("/calls/CR-SAMPLE-002").text
    assert "claim expired" in page and 'action="/items/1/claim"' in page
    response = _claim(bob)
    assert response.status_code == 303
    with open_session(web_storage) as s:
        item = s.get(ReviewItem, 1)
        assert item.claimed_by == "bob" and utcnow() - item.claimed_at.replace(tzinfo=utcnow().tzinfo) < timedelta(
            minutes=1)
    [_, taken] = _events(web_storage, "claim_item")
    assert taken.actor == "web:bob" and json.loads(taken.detail_json)["expired_claim_of"] == "alice"
    assert _claim(alice).status_code == 409  # it is bob's now


def test_an_expired_claim_can_be_disposed_by_another_reviewer(make_client, web_storage):
    alice, bob = make_client(), make_client()
    sign_in(alice, "alice")
    sign_in(bob, "bob")
    _claim(alice)
    _claimed_hours_ago(web_storage, 9)
    page = bob.get("/calls/CR-SAMPLE-002").text
    assert 'action="/items/1/disposition"' in page
    response = bob.post("/items/1/disposition", data={"csrf_token": csrf_of(page), "disposition": "confirmed",
                                                      "note": "alice is on leave; checked it"})
    assert response.status_code == 303
    with open_session(web_storage) as s:
        item = s.get(ReviewItem, 1)
    assert (item.status, item.claimed_by) == ("closed", "bob")


def test_the_claim_expiry_follows_the_setting(web_storage, make_client):
    from fastapi.testclient import TestClient

    from callreview.web.app import create_app

    app = create_app(storage=web_storage, web=WebSettings(scrypt_n=2 ** 10, claim_hours=1))
    with TestClient(app, follow_redirects=False) as alice, TestClient(app, follow_redirects=False) as bob:
        sign_in(alice, "alice")
        sign_in(bob, "bob")
        _claim(alice)
        _claimed_hours_ago(web_storage, 1.5)
        assert _claim(bob).status_code == 303


def test_an_admin_sees_the_claims_and_releases_one(make_client, web_storage):
    alice, ada = make_client(), make_client()
    sign_in(alice, "alice")
    sign_in(ada, "ada")
    _claim(alice)
    page = ada.get("/admin/users").text
    claims = page[page.index('<section class="claims">'):]
    assert "CR-SAMPLE-002" in claims and "alice" in claims and 'action="/admin/items/1/release"' in claims
    response = ada.post("/admin/items/1/release", data={"csrf_token": csrf_of(page)})
    assert response.status_code == 303 and response.headers["location"] == "/admin/users?msg=claim_released"
    with open_session(web_storage) as s:
        assert s.get(ReviewItem, 1).claimed_by is None
    [claimed, released] = [e for e in _events(web_storage, "claim_item") + _events(web_storage, "release_item")]
    assert (released.actor, released.object_id, released.outcome) == ("web:ada", "1", "ok")
    detail = json.loads(released.detail_json)
    assert {k: detail[k] for k in ("call_id", "claimed_by", "why")} == {"call_id": "CR-SAMPLE-002", "claimed_by": "alice",
                                                                        "why": "admin"}
    assert detail["review_items"]["1"]["claimed_by"] is None  # the item's new state, for verify
    # Nothing left to release: a conflict, audited.
    again = ada.post("/admin/items/1/release", data={"csrf_token": page_csrf(ada, "/admin/users")})
    assert again.status_code == 409 and "not claimed" in again.text
    assert _events(web_storage, "release_item")[-1].outcome == "conflict"


def test_only_admins_release_other_peoples_claims(make_client, web_storage):
    alice, bob = make_client(), make_client()
    sign_in(alice, "alice")
    sign_in(bob, "bob")
    _claim(alice)
    assert bob.post("/admin/items/1/release", data={"csrf_token": page_csrf(bob, "/queue")}).status_code == 403
    assert bob.post("/items/1/release", data={"csrf_token": page_csrf(bob, "/queue")}).status_code == 409
    with open_session(web_storage) as s:
        assert s.get(ReviewItem, 1).claimed_by == "alice"


def test_deactivating_a_user_releases_their_claims(make_client, web_storage):
    alice, bob, ada = make_client(), make_client(), make_client()
    for client, name in ((alice, "alice"), (bob, "bob"), (ada, "ada")):
        sign_in(client, name)
    _claim(alice, 1)
    _claim(alice, 2)
    response = ada.post("/admin/users/alice/active", data={"csrf_token": page_csrf(ada, "/admin/users"),
                                                           "active": "false"})
    assert response.status_code == 303
    with open_session(web_storage) as s:
        assert [s.get(ReviewItem, i).claimed_by for i in (1, 2)] == [None, None]
    released = _events(web_storage, "release_item")
    assert [(e.actor, e.object_id) for e in released] == [("web:ada", "1"), ("web:ada", "2")]
    assert all(json.loads(e.detail_json)["why"] == "user_deactivated" for e in released)
    assert json.loads(released[0].detail_json)["claimed_by"] == "alice"
    assert _claim(bob, 1).status_code == 303
