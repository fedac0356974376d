"""Trailing-slash redirects point at a path on this site, never at the Host header a client sent.

Before the fix `/queue/` with `Host: evil.example` answered `Location: http://evil.example/queue`: an
open redirect, and a poisoned redirect for any cache in front of the app.
"""
from __future__ import annotations

import pytest

from tests.web.conftest import sign_in


@pytest.mark.parametrize("path,location", [
    ("/queue/", "/queue"),
    ("/search/?q=door&tag=", "/search?q=door&tag="),
    ("/calls/CR-SAMPLE-002/", "/calls/CR-SAMPLE-002"),
    ("/calls/CR%20SAMPLE/", "/calls/CR%20SAMPLE"),
    ("/admin/users/", "/admin/users"),
])
def test_slash_redirects_are_relative_whatever_the_host_header(client, path, location):
    response = client.get(path, headers={"host": "evil.example"})
    assert response.status_code in (307, 308)
    assert response.headers["location"] == location


def test_a_redirect_never_becomes_protocol_relative(client):
    for path in ("//evil.example/", "///evil.example/", "/\\evil.example/"):
        response = client.get(path, headers={"host": "evil.example"})
        assert "evil.example" not in response.headers.get("location", ""), path


def test_unknown_paths_are_still_404(client):
    sign_in(client, "alice")
    assert client.get("/nowhere/").status_code == 404
    assert client.get("/nowhere").status_code == 404


def test_following_the_redirect_reaches_the_page(client):
    sign_in(client, "alice")
    response = client.get("/queue/", follow_redirects=True)
    assert response.status_code == 200 and 'data-call="CR-SAMPLE-002"' in response.text
