"""A GET from another site must not write the audit log in the signed-in user's name.

The session cookie is SameSite=Lax, so a browser sends it with a top-level GET from any site: a link or
a redirect on another site to `/search?q=...` used to write a "search" row for whoever was signed in.
Browsers say where a request came from in `Sec-Fetch-Site`; pages that write the audit log accept only
`same-origin` and `none` (typed in, a bookmark) and refuse the rest before anything is recorded.
"""
from __future__ import annotations

import pytest
from sqlmodel import func, select

from callreview.storage.db import open_session
from callreview.storage.tables import AuditEvent
from tests.web.conftest import sign_in

# (user, path): every GET that writes an audit row, as a user whose role reaches it.
AUDITED_GETS = [
    ("alice", "/queue"),
    ("alice", "/calls/CR-SAMPLE-002"),
    ("alice", "/calls/CR-SAMPLE-002/audio"),
    ("sam", "/search?q=door"),
    ("ada", "/admin/audit"),
    ("sam", "/queue"),  # refused by role: that refusal is an audit row too
]


def _rows(storage) -> int:
    with open_session(storage) as s:
        return s.exec(select(func.count()).select_from(AuditEvent)).one()


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
@pytest.mark.parametrize("user,path", AUDITED_GETS)
def test_a_get_from_another_site_is_refused_and_writes_nothing(client, web_storage, user, path, site):
    sign_in(client, user)
    before = _rows(web_storage)
    response = client.get(path, headers={"sec-fetch-site": site, "sec-fetch-mode": "navigate"})
    assert response.status_code == 403
    assert "another site" in response.text and "Lowry" not in response.text and "knock" not in response.text
    assert not response.headers.get("content-type", "").startswith("audio/")
    assert _rows(web_storage) == before


def test_the_refusal_offers_a_link_that_opens_the_page_from_here(client, web_storage):
    sign_in(client, "sam")
    response = client.get("/search?q=door&tag=door_knock", headers={"sec-fetch-site": "cross-site"})
    assert 'href="/search?q=door&amp;tag=door_knock"' in response.text
    followed = client.get("/search?q=door&tag=door_knock", headers={"sec-fetch-site": "same-origin"})
    assert followed.status_code == 200


@pytest.mark.parametrize("site", ["same-origin", "none", None])
def test_same_origin_typed_in_and_older_browsers_are_served_and_audited(client, web_storage, site):
    sign_in(client, "sam")
    before = _rows(web_storage)
    headers = {"sec-fetch-site": site} if site else {}
    response = client.get("/search?q=door", headers=headers)
    assert response.status_code == 200 and "CR-SAMPLE-002" in response.text
    with open_session(web_storage) as s:
        last = s.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert _rows(web_storage) == before + 1 and (last.action, last.actor) == ("search", "web:sam")


def test_pages_that_write_nothing_open_from_anywhere(client):
    assert client.get("/login", headers={"sec-fetch-site": "cross-site"}).status_code == 200
    sign_in(client, "alice")
    assert client.get("/", headers={"sec-fetch-site": "cross-site"}).status_code == 303
