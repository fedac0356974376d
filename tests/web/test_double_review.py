"""Blind double review: items of the chosen severities need two reviewers' findings, neither seeing the
other's; a disagreement goes to a lead, whose finding closes the item. The report gives Cohen's kappa."""
from __future__ import annotations

import json
from datetime import date

import pytest
from pydantic import ValidationError
from sqlmodel import select

from callreview.service.report import build_report
from callreview.storage.audit import verify_audit_chain
from callreview.storage.db import open_session
from callreview.storage.evidence import verify_evidence
from callreview.storage.tables import AuditEvent, Disposition, ReviewItem
from callreview.web.settings import WebSettings
from tests.web.conftest import FAST_SCRYPT_N, csrf_of, page_csrf, sign_in

ITEM, CALL = 1, "CR-SAMPLE-002"  # a door knock dispatched: high severity


@pytest.fixture
def web_settings():
    return WebSettings(timezone="America/Kentucky/Louisville", scrypt_n=FAST_SCRYPT_N, double_review="high")


def _dispose(client, finding: str, note: str = "listened to the whole call"):
    page = client.get(f"/calls/{CALL}").text
    return client.post(f"/items/{ITEM}/disposition", data={"csrf_token": csrf_of(page), "disposition": finding,
                                                           "note": note})


def _item(storage) -> ReviewItem:
    with open_session(storage) as s:
        return s.get(ReviewItem, ITEM)


def test_the_default_double_reviews_high_items_and_a_bad_setting_is_refused():
    assert WebSettings().double_review_severities == frozenset({"high"})
    assert WebSettings(double_review="").double_review_severities == frozenset()
    with pytest.raises(ValidationError):
        WebSettings(double_review="urgent")


def test_two_blind_findings_that_differ_go_to_a_lead_who_closes_the_item(make_client, web_storage):
    alice, bob, lee = make_client(), make_client(), make_client()
    for client, name in ((alice, "alice"), (bob, "bob"), (lee, "lee")):
        sign_in(client, name)

    first = _dispose(alice, "confirmed", "ICE asked for a door knock; the secret-word is pineapple")
    assert first.status_code == 303 and "msg=finding_recorded" in first.headers["location"]
    assert (_item(web_storage).status, _item(web_storage).claimed_by) == ("open", None)
    assert "You gave the first finding" in alice.get(f"/calls/{CALL}").text
    assert _dispose(alice, "dismissed").status_code == 409  # one person cannot give both findings

    page = bob.get(f"/calls/{CALL}").text
    assert "pineapple" not in page and "hidden until both reviewers" in page  # blind
    second = _dispose(bob, "dismissed")
    assert "msg=sent_to_adjudication" in second.headers["location"]
    assert _item(web_storage).status == "adjudication"

    assert CALL in lee.get("/adjudication").text
    page = lee.get(f"/calls/{CALL}").text
    assert "pineapple" in page and 'action="/items/1/adjudication"' in page  # the lead reads both
    settled = lee.post(f"/items/{ITEM}/adjudication", data={"csrf_token": csrf_of(page), "disposition": "confirmed",
                                                            "note": "the request is plain at 0:12"})
    assert settled.status_code == 303 and "msg=adjudicated" in settled.headers["location"]
    item = _item(web_storage)
    assert (item.status, item.close_reason) == ("closed", "disposition: confirmed (adjudicated)")

    with open_session(web_storage) as s:
        assert verify_audit_chain(s) == []
        events = s.exec(select(AuditEvent).where(AuditEvent.action.in_(("dispose", "adjudicate")),
                                                 AuditEvent.outcome == "ok").order_by(AuditEvent.id)).all()
        assert [(e.action, json.loads(e.detail_json).get("stage")) for e in events] == [
            ("dispose", "first"), ("dispose", "second"), ("adjudicate", None)]
        stages = [d.stage for d in s.exec(select(Disposition).where(Disposition.review_item_pk == ITEM))]
        assert stages == ["first", "second", "adjudication"]
        assert [p for p in verify_evidence(s).problems if p.table == "disposition"] == []
        report = build_report(s, date(2017, 1, 1), date(2017, 12, 31))
    assert (report.double_reviewed, report.disagreed, report.kappa) == (1, 1, 0.0)  # no agreement beyond chance


def test_two_findings_that_agree_close_the_item_without_a_lead(make_client, web_storage):
    alice, cara = make_client(), make_client()
    sign_in(alice, "alice")
    sign_in(cara, "cara")
    _dispose(alice, "confirmed")
    assert "msg=disposed" in _dispose(cara, "confirmed").headers["location"]
    item = _item(web_storage)
    assert (item.status, item.close_reason) == ("closed", "disposition: confirmed (two reviewers agreed)")


def test_a_lead_cannot_adjudicate_what_does_not_await_it_nor_a_reviewer_adjudicate(make_client, web_storage):
    alice, lee = make_client(), make_client()
    sign_in(alice, "alice")
    sign_in(lee, "lee")
    refused = lee.post(f"/items/{ITEM}/adjudication", data={"csrf_token": page_csrf(lee, "/adjudication"),
                                                            "disposition": "confirmed", "note": "too early"})
    assert refused.status_code == 409
    assert alice.post(f"/items/{ITEM}/adjudication", data={"csrf_token": page_csrf(alice, "/queue"),
                                                           "disposition": "confirmed", "note": "mine"}).status_code == 403
