"""Sign-in, passwords, sessions and their expiry (callreview/service/auth.py, routes_auth.py)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from callreview.service.auth import (MIN_PASSWORD_LENGTH, SCRYPT_N, PasswordTooShort, hash_password, needs_rehash,
                             verify_password)
from callreview.storage.db import open_session
from callreview.storage.tables import AuditEvent, utcnow
from callreview.storage.users import WebSession, find_user
from tests.web.conftest import PASSWORD, csrf_of, sign_in


def _events(storage, action):
    with open_session(storage) as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def test_password_hash_is_salted_scrypt_at_full_cost_and_verifies():
    stored = hash_password(PASSWORD)
    assert stored.startswith(f"scrypt${SCRYPT_N}$8$3$")
    assert verify_password(PASSWORD, stored) and not verify_password(PASSWORD + "x", stored)
    assert not needs_rehash(stored)


def test_same_password_hashes_differently_each_time():
    assert hash_password(PASSWORD, n=2 ** 10) != hash_password(PASSWORD, n=2 ** 10)


def test_sign_in_rehashes_a_password_stored_at_a_lower_cost(client, web_storage, app, web_settings):
    web_settings.scrypt_n = 2 ** 11
    sign_in(client, "alice")
    with open_session(web_storage) as s:
        assert find_user(s, "alice").password_hash.startswith("scrypt$2048$")
    assert needs_rehash(hash_password(PASSWORD, n=2 ** 10))


@pytest.mark.parametrize("stored", ["", "plain", "bcrypt$x$y$z$a$b", "scrypt$abc$8$1$AAAA$AAAA"])
def test_malformed_stored_hashes_never_verify(stored):
    assert not verify_password(PASSWORD, stored)


def test_short_passwords_are_refused():
    with pytest.raises(PasswordTooShort, match=f"at least {MIN_PASSWORD_LENGTH}"):
        hash_password("x" * (MIN_PASSWORD_LENGTH - 1))


def test_sign_in_sets_an_httponly_samesite_cookie_and_is_audited(client, web_storage):
    response = sign_in(client, "alice")
    assert response.status_code == 303 and response.headers["location"] == "/queue"
    cookie = response.headers["set-cookie"]
    assert "callreview_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    [event] = _events(web_storage, "sign_in")
    assert (event.actor, event.object_id, event.outcome) == ("web:alice", "alice", "ok")


@pytest.mark.parametrize("username,password", [("alice", "wrong password here"), ("nobody", PASSWORD)])
def test_failed_sign_in_is_refused_with_one_message_and_audited(client, web_storage, username, password):
    response = sign_in(client, username, password)
    assert response.status_code == 401
    assert "Wrong user name or password" in response.text
    assert "callreview_session" not in response.headers.get("set-cookie", "")
    [event] = _events(web_storage, "sign_in")
    assert (event.actor, event.object_id, event.outcome) == ("web:anonymous", username, "denied")


def test_sign_in_without_the_form_token_is_refused(client):
    client.get("/login")
    response = client.post("/login", data={"username": "alice", "password": PASSWORD})
    assert response.status_code == 403
    assert client.get("/queue").status_code == 303  # still anonymous


def test_deactivated_user_cannot_sign_in(client, web_storage):
    with open_session(web_storage) as s:
        user = find_user(s, "alice")
        user.active = False
        s.add(user)
        s.commit()
    assert sign_in(client, "alice").status_code == 401


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example"])
def test_sign_in_never_redirects_off_site(client, target):
    page = client.get("/login")
    response = client.post("/login", data={"username": "alice", "password": PASSWORD, "next": target,
                                           "csrf_token": csrf_of(page.text)})
    assert response.headers["location"] == "/queue"


def test_sign_in_returns_to_the_page_asked_for(client):
    assert client.get("/calls/CR-SAMPLE-002").headers["location"] == "/login?next=%2Fcalls%2FCR-SAMPLE-002"
    page = client.get("/login?next=/calls/CR-SAMPLE-002")
    response = client.post("/login", data={"username": "sam", "password": PASSWORD, "csrf_token": csrf_of(page.text),
                                           "next": "/calls/CR-SAMPLE-002"})
    assert response.headers["location"] == "/calls/CR-SAMPLE-002"


def _age_sessions(storage, *, idle: timedelta | None = None, lifetime_left: timedelta | None = None):
    with open_session(storage) as s:
        for row in s.exec(select(WebSession)):
            if idle is not None:
                row.last_seen_at = utcnow() - idle
            if lifetime_left is not None:
                row.expires_at = utcnow() + lifetime_left
            s.add(row)
        s.commit()


def test_idle_session_expires_and_sends_the_user_to_sign_in(client, web_storage, web_settings):
    sign_in(client, "alice")
    assert client.get("/queue").status_code == 200
    _age_sessions(web_storage, idle=web_settings.session_idle + timedelta(seconds=1))
    response = client.get("/queue")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fqueue&expired=1"
    with open_session(web_storage) as s:
        assert s.exec(select(WebSession)).all() == []  # the expired row is gone, not just ignored


def test_session_expires_at_its_absolute_lifetime_even_when_active(client, web_storage):
    sign_in(client, "alice")
    _age_sessions(web_storage, lifetime_left=timedelta(seconds=-1))
    assert client.get("/queue").status_code == 303


def test_activity_keeps_a_session_alive_within_its_lifetime(client, web_storage, web_settings):
    sign_in(client, "alice")
    _age_sessions(web_storage, idle=web_settings.session_idle - timedelta(minutes=2))
    assert client.get("/queue").status_code == 200  # this request refreshes last-seen
    _age_sessions(web_storage, idle=None)
    with open_session(web_storage) as s:
        row = s.exec(select(WebSession)).one()
    assert utcnow() - row.last_seen_at < timedelta(minutes=1)


def test_sign_out_ends_the_session_server_side(client, web_storage):
    sign_in(client, "alice")
    stolen = client.cookies.get("callreview_session")
    token = csrf_of(client.get("/queue").text)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    client.cookies.set("callreview_session", stolen)  # a copy of the cookie is useless after sign-out
    assert client.get("/queue").status_code == 303
    assert [e.actor for e in _events(web_storage, "sign_out")] == ["web:alice"]


def test_a_new_sign_in_replaces_the_previous_session(client, web_storage):
    sign_in(client, "alice")
    old = client.cookies.get("callreview_session")
    client.cookies.clear()
    page = client.get("/login")
    client.cookies.set("callreview_session", old)
    client.post("/login", data={"username": "alice", "password": PASSWORD, "csrf_token": csrf_of(page.text)})
    with open_session(web_storage) as s:
        assert len(s.exec(select(WebSession)).all()) == 1


def test_session_table_stores_only_a_hash_of_the_cookie(client, web_storage):
    sign_in(client, "alice")
    token = client.cookies.get("callreview_session")
    with open_session(web_storage) as s:
        row = s.exec(select(WebSession)).one()
    assert token not in (row.token_hash, row.csrf_token) and len(row.token_hash) == 64
