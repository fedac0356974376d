"""Security headers (callreview/web/headers.py) on every response: pages, refusals and server errors alike."""
from __future__ import annotations

import sqlite3

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import sign_in

SECURITY_HEADERS = ("content-security-policy", "x-content-type-options", "x-frame-options", "referrer-policy")


def assert_security_headers(response) -> None:
    for name in SECURITY_HEADERS:
        assert name in response.headers, (response.status_code, name)
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"


def test_pages_carry_the_security_headers(client):
    assert_security_headers(client.get("/login"))
    sign_in(client, "alice")
    assert_security_headers(client.get("/queue"))


@pytest.mark.parametrize("user,method,path,status", [
    ("sam", "GET", "/queue", 403),
    ("alice", "GET", "/no/such/page", 404),
    ("alice", "GET", "/calls/CR-NOPE", 404),
    ("alice", "PUT", "/queue", 405),
    ("alice", "GET", "/queue?status=deleted", 422),
])
def test_refusals_carry_the_security_headers(client, user, method, path, status):
    sign_in(client, user)
    response = client.request(method, path)
    assert response.status_code == status
    assert_security_headers(response)


def test_a_server_error_page_carries_the_security_headers_and_no_traceback(app, web_storage):
    # A real failure, not a planted route: the queue's table is gone from the database.
    with sqlite3.connect(web_storage.url.removeprefix("sqlite:///")) as conn:
        conn.execute("DROP TABLE disposition")
        conn.execute("DROP TABLE review_item")
    with TestClient(app, follow_redirects=False, raise_server_exceptions=False) as client:
        sign_in(client, "alice")
        response = client.get("/queue")
    assert response.status_code == 500
    assert_security_headers(response)
    assert response.headers["content-type"].startswith("text/html")
    assert "Something went wrong" in response.text
    assert "Traceback" not in response.text and "review_item" not in response.text
