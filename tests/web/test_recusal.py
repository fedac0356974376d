"""Recusal: a reviewer tied to an officer cannot claim or dispose of that officer's calls; the server refuses,
says why, and audits the refusal; the queue shows the item as not theirs."""
from __future__ import annotations

import json

import pytest
from sqlmodel import select

from callreview.service.conflicts import ConflictRefused, add_conflict, remove_conflict
from callreview.storage.audit import verify_audit_chain
from callreview.storage.conflicts import officer_key
from callreview.storage.db import open_session
from callreview.storage.tables import AuditEvent, ReviewItem
from tests.web.conftest import csrf_of, page_csrf, sign_in

ITEM = 1  # CR-SAMPLE-002's item; its log names "Sgt. P. Lowry"


def _recuse(storage, username="alice", officer="p lowry", reason="brother-in-law"):
    with open_session(storage) as s:
        add_conflict(s, "cli:admin", username, officer, reason)


def _events(storage, action):
    with open_session(storage) as s:
        assert verify_audit_chain(s) == []
        return list(s.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def test_names_match_whatever_rank_or_punctuation_the_log_gives():
    assert officer_key("Sgt. P. Lowry") == officer_key("p lowry") == officer_key("Sergeant P Lowry") == "p lowry"
    assert officer_key("Lt. A. Reyes") != officer_key("Sgt. P. Lowry")


def test_a_recused_reviewer_is_refused_with_the_reason_and_the_refusal_is_audited(make_client, web_storage):
    _recuse(web_storage)
    alice, bob = make_client(), make_client()
    sign_in(alice, "alice")
    sign_in(bob, "bob")
    queue = alice.get("/queue").text
    assert "Recused" in queue and f'action="/items/{ITEM}/claim"' not in queue
    page = alice.get("/calls/CR-SAMPLE-002").text
    assert "You are recused from calls of p lowry (brother-in-law)" in page
    assert f'action="/items/{ITEM}/disposition"' not in page

    refused = alice.post(f"/items/{ITEM}/claim", data={"csrf_token": page_csrf(alice, "/queue")})
    assert refused.status_code == 409 and "alice is recused from calls of Sgt. P. Lowry" in refused.text
    disposed = alice.post(f"/items/{ITEM}/disposition", data={"csrf_token": csrf_of(page), "disposition": "dismissed",
                                                              "note": "nothing here"})
    assert disposed.status_code == 409
    outcomes = [(e.action, e.outcome, json.loads(e.detail_json)["officer"])
                for e in _events(web_storage, "claim_item") + _events(web_storage, "dispose")]
    assert outcomes == [("claim_item", "recused", "Sgt. P. Lowry"), ("dispose", "recused", "Sgt. P. Lowry")]
    with open_session(web_storage) as s:
        assert (s.get(ReviewItem, ITEM).status, s.get(ReviewItem, ITEM).claimed_by) == ("open", None)

    # Another reviewer takes it as usual.
    assert bob.post(f"/items/{ITEM}/claim", data={"csrf_token": page_csrf(bob, "/queue")}).status_code == 303


def test_ending_the_recusal_lets_the_reviewer_claim_again(make_client, web_storage):
    _recuse(web_storage)
    with open_session(web_storage) as s:
        remove_conflict(s, "cli:admin", "alice", "Sgt. P. Lowry")
    alice = make_client()
    sign_in(alice, "alice")
    assert alice.post(f"/items/{ITEM}/claim", data={"csrf_token": page_csrf(alice, "/queue")}).status_code == 303
    [added], [removed] = _events(web_storage, "conflict_add"), _events(web_storage, "conflict_remove")
    assert json.loads(removed.detail_json)["reason"] == "brother-in-law" and added.object_id == "alice"


@pytest.mark.parametrize("username,officer,reason,problem", [
    ("nobody", "Sgt. P. Lowry", "cousin", "no user 'nobody'"),
    ("alice", "Sgt.", "cousin", "give the officer's name"),
    ("alice", "Sgt. P. Lowry", "  ", "a reason is required")])
def test_a_conflict_that_cannot_be_kept_is_refused_and_audited(web_storage, username, officer, reason, problem):
    with open_session(web_storage) as s, pytest.raises(ConflictRefused, match=problem):
        add_conflict(s, "cli:admin", username, officer, reason)
    [event] = _events(web_storage, "conflict_add")
    assert event.outcome == "refused"
