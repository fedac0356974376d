"""Many users at once against a real uvicorn server, beside a batch writer, on SQLite and PostgreSQL.

Every request below is audited. They start together (a barrier) from threads with their own cookie jars,
while another thread takes calls in through the batch's intake stage into the same database: no answer
may be a 5xx or a dropped connection, every audited request leaves exactly one row, and the chain verifies.
"""
from __future__ import annotations

import threading
from collections import Counter

import httpx
import pytest
from sqlmodel import select

from callreview.storage.audit import verify_audit_chain
from callreview.storage.db import open_session
from callreview.storage.tables import AuditEvent
from tests.web.conftest import PASSWORD, csrf_of, seed_sample_data
from tests.web.live import serve_in_thread

CALLS = ("CR-SAMPLE-001", "CR-SAMPLE-002", "CR-SAMPLE-003")
# (path, params, headers, expected status, audit action) per request kind.
REQUESTS = {
    "queue": ("/queue", None, None, 200, "view_queue"),
    "call": ("/calls/{call}", None, None, 200, "view_call"),
    "audio": ("/calls/{call}/audio", None, {"Range": "bytes=1000-40999"}, 206, "download_audio"),
    "search": ("/search", {"q": "warrant"}, None, 200, "search"),
}
ROUNDS = 8


@pytest.fixture(params=["sqlite", "postgres"])
def server(request, tmp_path, storage_factory, web_settings):
    """(base URL, storage settings) of a uvicorn server on the sample data, on each database."""
    from callreview.web.app import create_app

    with storage_factory(request.param, tmp_path) as storage:
        seed_sample_data(storage)
        with serve_in_thread(create_app(storage=storage, web=web_settings)) as base:
            yield base, storage


def _sign_in(base: str, username: str, password: str) -> tuple[httpx.Client, int]:
    client = httpx.Client(base_url=base, timeout=60, follow_redirects=False)
    form = client.get("/login")
    response = client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": csrf_of(form.text), "next": ""})
    return client, response.status_code


def _last_audit_id(storage) -> int:
    with open_session(storage) as s:
        return s.exec(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)).first() or 0


def test_simultaneous_users_beside_a_batch_get_no_errors_and_leave_one_audit_row_each(server, tmp_path, tone_wav):
    from callreview.service.intake import take_in

    base, storage = server
    start_id = _last_audit_id(storage)
    users = [("alice", "reviewer"), ("bob", "reviewer"), ("alice", "reviewer"), ("sam", "supervisor"),
             ("sam", "supervisor"), ("bob", "reviewer")]
    wrong_password_threads, wrong_password_rounds, batch_calls = 4, 3, 6
    barrier = threading.Barrier(len(users) + wrong_password_threads + 1)
    lock = threading.Lock()
    answers: Counter = Counter()   # (kind, status) of every answered request
    expected_rows: Counter = Counter()  # (action, outcome) each answered request should have written
    failures: list[str] = []

    def answered(kind: str, status: int, action: str, outcome: str = "ok") -> None:
        with lock:
            answers[(kind, status)] += 1
            if status < 500:
                expected_rows[(action, outcome)] += 1

    def user(n: int, name: str, role: str) -> None:
        try:
            barrier.wait()
            client, status = _sign_in(base, name, PASSWORD)
            answered("sign_in", status, "sign_in")
            try:
                kinds = [k for k in REQUESTS if role == "reviewer" or k != "queue"]
                for i in range(ROUNDS):
                    kind = kinds[(n + i) % len(kinds)]
                    path, params, headers, _, action = REQUESTS[kind]
                    response = client.get(path.format(call=CALLS[(n + i) % len(CALLS)]), params=params,
                                          headers=headers)
                    answered(kind, response.status_code, action)
            finally:
                client.close()
        except Exception as exc:  # a dropped connection, or anything else: the test reports it
            with lock:
                failures.append(f"{name}: {exc!r}")

    def wrong_password(n: int) -> None:
        try:
            barrier.wait()
            for r in range(wrong_password_rounds):
                # a name of its own each time: below the sign-in throttle, whose lockouts tests/web/
                # test_sign_in_throttle.py covers, so every answer here is a plain refusal
                client, status = _sign_in(base, f"nobody-{n}-{r}", "not the password at all")
                client.close()
                answered("wrong_password", status, "sign_in", "denied")
        except Exception as exc:
            with lock:
                failures.append(f"wrong password: {exc!r}")

    def batch() -> None:
        barrier.wait()
        for i in range(batch_calls):
            with open_session(storage) as session:
                result = take_in(session, "batch", storage,
                                 tone_wav(tmp_path / f"BATCH-{i}.wav", seconds=0.5, freq=300 + 37 * i), None)
            assert result.status == "new", result

    threads = [threading.Thread(target=user, args=(n, name, role)) for n, (name, role) in enumerate(users)]
    threads += [threading.Thread(target=wrong_password, args=(n,)) for n in range(wrong_password_threads)]
    threads.append(threading.Thread(target=batch))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not failures
    assert not [k for k, n in answers.items() if k[1] >= 500], answers
    expected_status = {kind: spec[3] for kind, spec in REQUESTS.items()} | {"sign_in": 303, "wrong_password": 401}
    assert all(status == expected_status[kind] for kind, status in answers), answers
    assert sum(answers.values()) == len(users) * (ROUNDS + 1) + wrong_password_threads * wrong_password_rounds

    with open_session(storage) as s:
        rows = s.exec(select(AuditEvent).where(AuditEvent.id > start_id).order_by(AuditEvent.id)).all()
        web_rows = Counter((r.action, r.outcome) for r in rows if r.actor.startswith("web:"))
        assert web_rows == expected_rows
        assert sum(1 for r in rows if r.actor == "batch" and r.action == "intake") == batch_calls
        # Gap-free and unforked: consecutive ids, each row linked to the one before.
        assert [r.id for r in rows] == list(range(start_id + 1, start_id + 1 + len(rows)))
        assert verify_audit_chain(s) == []


def test_parallel_wrong_password_sign_ins_are_all_refused_and_all_audited(server):
    base, storage = server
    start_id = _last_audit_id(storage)
    n = 12
    barrier = threading.Barrier(n)
    statuses: list[int] = []

    def attempt(i: int) -> None:
        with httpx.Client(base_url=base, timeout=60, follow_redirects=False) as client:
            form = client.get("/login")
            barrier.wait()
            statuses.append(client.post("/login", data={"username": f"guess-{i}", "password": f"wrong guess {i}",
                                                        "csrf_token": csrf_of(form.text), "next": ""}).status_code)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert statuses == [401] * n
    with open_session(storage) as s:
        rows = s.exec(select(AuditEvent).where(AuditEvent.id > start_id)).all()
        assert sorted((r.actor, r.action, r.object_id, r.outcome) for r in rows) == \
               sorted(("web:anonymous", "sign_in", f"guess-{i}", "denied") for i in range(n))
        assert verify_audit_chain(s) == []
