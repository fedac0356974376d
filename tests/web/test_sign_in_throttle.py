"""Sign-in throttling per user name and per client address (callreview/service/throttle.py, callreview/storage/throttle.py).

Before the fix 40 wrong passwords in 14 s were all checked, and the right password still worked at
once after more than 100 failures. Now, after CALLREVIEW_WEB_SIGN_IN_MAX_FAILURES wrong passwords for
one user name within the window, that name must wait (a lockout that doubles each time it recurs); a
client address that fails too often across names must wait too. A refused attempt is a 429 with a
Retry-After header and the sign-in page saying how long to wait; it checks no password, and it and the
lockout are audit rows.
"""
from __future__ import annotations

import json
import re
import threading
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlmodel import select

from callreview.web.app import create_app
from callreview.web.settings import WebSettings
from callreview.storage.audit import verify_audit_chain
from callreview.storage.db import open_session
from callreview.storage.tables import AuditEvent, utcnow
from callreview.storage.throttle import SignInThrottle
from tests.web.conftest import FAST_SCRYPT_N, PASSWORD, csrf_of, sign_in
from tests.web.live import serve_in_thread

WRONG = "not the password at all"


@pytest.fixture
def throttled(web_storage):
    """An app with small limits, and a factory of clients at a given address."""
    web = WebSettings(scrypt_n=FAST_SCRYPT_N, sign_in_max_failures=5, sign_in_max_failures_per_client=20,
                      sign_in_window_minutes=15, sign_in_lockout_seconds=60, sign_in_max_lockout_minutes=60)
    app = create_app(storage=web_storage, web=web)
    clients = []

    def make(address: str = "10.0.0.1") -> TestClient:
        c = TestClient(app, follow_redirects=False, client=(address, 50000))
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.close()


def attempt(client, username: str, password: str):
    """One sign-in through the real form."""
    page = client.get("/login")
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": csrf_of(page.text), "next": ""})


def sign_in_rows(storage) -> list[AuditEvent]:
    with open_session(storage) as s:
        assert verify_audit_chain(s) == []
        return list(s.exec(select(AuditEvent).where(AuditEvent.action.in_(("sign_in", "sign_in_lockout")))
                           .order_by(AuditEvent.id)))


def outcomes(storage, action: str = "sign_in") -> list[str]:
    return [e.outcome for e in sign_in_rows(storage) if e.action == action]


def end_lockouts(storage) -> None:
    """Move every lockout into the past (what waiting would do)."""
    with open_session(storage) as s:
        for row in s.exec(select(SignInThrottle)).all():
            if row.locked_until is not None:
                row.locked_until = utcnow() - timedelta(seconds=1)
                s.add(row)
        s.commit()


def test_the_throttle_settings_are_described_and_bounded():
    for name in ("sign_in_max_failures", "sign_in_max_failures_per_client", "sign_in_window_minutes",
                 "sign_in_lockout_seconds", "sign_in_max_lockout_minutes"):
        field = WebSettings.model_fields[name]
        assert f"CALLREVIEW_WEB_{name.upper()}" in field.description, name
        with pytest.raises(ValidationError):
            WebSettings(**{name: 0})
    with pytest.raises(ValidationError, match="SIGN_IN_MAX_LOCKOUT_MINUTES"):
        WebSettings(sign_in_lockout_seconds=600, sign_in_max_lockout_minutes=5)


def test_forty_wrong_passwords_check_only_five_and_then_the_right_one_waits(throttled, web_storage):
    client = throttled()
    statuses = [attempt(client, "alice", WRONG).status_code for _ in range(40)]
    assert statuses[:4] == [401] * 4 and statuses[4:] == [429] * 36
    assert outcomes(web_storage) == ["denied"] * 5 + ["throttled"] * 35
    response = attempt(client, "alice", PASSWORD)
    assert response.status_code == 429 and "callreview_session" not in response.headers.get("set-cookie", "")
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert re.search(r"Too many failed sign-ins for this user name\. Try again in (1 minute|\d\d? seconds?)\.",
                     response.text)
    [lockout] = [e for e in sign_in_rows(web_storage) if e.action == "sign_in_lockout"]
    assert (lockout.object_type, lockout.object_id, lockout.outcome) == ("user", "alice", "locked")
    detail = json.loads(lockout.detail_json)
    assert detail["seconds"] == 60 and detail["failures"] == 5 and detail["client"] == "10.0.0.1"


def test_after_the_lockout_the_right_password_works(throttled, web_storage):
    client = throttled()
    for _ in range(5):
        attempt(client, "alice", WRONG)
    assert attempt(client, "alice", PASSWORD).status_code == 429
    end_lockouts(web_storage)
    response = attempt(client, "alice", PASSWORD)
    assert response.status_code == 303 and response.headers["location"] == "/queue"


def test_each_further_lockout_doubles_up_to_the_maximum(throttled, web_storage):
    client = throttled()
    waits = []
    for _ in range(8):
        for _ in range(5):
            response = attempt(client, "alice", WRONG)
        waits.append(int(response.headers["retry-after"]))
        end_lockouts(web_storage)
    assert waits == [60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_a_right_password_clears_the_count(throttled, web_storage):
    client = throttled()
    for _ in range(4):
        attempt(client, "alice", WRONG)
    assert attempt(client, "alice", PASSWORD).status_code == 303
    other = throttled()
    for _ in range(4):
        assert attempt(other, "alice", WRONG).status_code == 401


def test_a_locked_user_name_does_not_lock_out_others(throttled):
    client = throttled()
    for _ in range(5):
        attempt(client, "alice", WRONG)
    assert attempt(throttled("10.0.0.2"), "bob", PASSWORD).status_code == 303


def _error_of(response) -> str:
    return re.search(r'<p class="error" role="alert">([^<]*)</p>', response.text).group(1)


def test_unknown_and_known_user_names_are_throttled_alike(throttled):
    """A lockout must not tell which accounts exist."""
    client = throttled()
    known = [attempt(client, "alice", WRONG) for _ in range(6)]
    unknown = [attempt(client, "mallory", WRONG) for _ in range(6)]
    assert [r.status_code for r in known] == [r.status_code for r in unknown] == [401] * 4 + [429] * 2
    assert [_error_of(r) for r in known] == [_error_of(r) for r in unknown]


def test_a_client_failing_across_many_names_must_wait(throttled, web_storage):
    client = throttled("10.0.0.9")
    statuses = [attempt(client, f"user{i}", WRONG).status_code for i in range(21)]
    assert statuses == [401] * 19 + [429] * 2
    response = attempt(client, "alice", PASSWORD)  # right password, but this client is locked out
    assert response.status_code == 429 and "from this network address" in response.text
    lockouts = [e for e in sign_in_rows(web_storage) if e.action == "sign_in_lockout"]
    assert [(e.object_type, e.object_id) for e in lockouts] == [("client", "10.0.0.9")]
    assert attempt(throttled("10.0.0.10"), "alice", PASSWORD).status_code == 303  # another address is fine


def test_concurrent_wrong_passwords_check_only_the_limit(web_storage):
    """Forty simultaneous attempts at a real server: no more than the limit reach the password check."""
    web = WebSettings(scrypt_n=2 ** 12, sign_in_max_failures=5, sign_in_max_failures_per_client=1000)
    app = create_app(storage=web_storage, web=web)
    with serve_in_thread(app) as base:
        with httpx.Client(base_url=base) as probe:
            sign_in_page = probe.get("/login")
        token, cookie = csrf_of(sign_in_page.text), sign_in_page.cookies["callreview_login_csrf"]
        statuses: list[int] = []
        barrier = threading.Barrier(40)

        def one() -> None:
            with httpx.Client(base_url=base, cookies={"callreview_login_csrf": cookie}, timeout=60) as c:
                barrier.wait()
                r = c.post("/login", data={"username": "alice", "password": WRONG, "csrf_token": token, "next": ""})
                statuses.append(r.status_code)

        threads = [threading.Thread(target=one) for _ in range(40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        with httpx.Client(base_url=base, cookies={"callreview_login_csrf": cookie}) as c:
            right = c.post("/login", data={"username": "alice", "password": PASSWORD, "csrf_token": token,
                                           "next": ""})
    assert len(statuses) == 40 and set(statuses) <= {401, 429}, sorted(statuses)
    assert outcomes(web_storage).count("denied") == 5
    assert outcomes(web_storage).count("throttled") == 35 + 1  # and the right password after them
    assert outcomes(web_storage, "sign_in_lockout") == ["locked"]
    assert right.status_code == 429
