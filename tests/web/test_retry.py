"""RetryTransient runs a whole request again after a transient conflict, and only then.

The endpoints here fail on purpose with the exception `record_event` raises when an append loses a race
(AuditConflict), or with an error no retry can cure; the request and its body are real.
"""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from callreview.web.retry import ATTEMPTS, RetryTransient
from callreview.storage.transactions import AuditConflict


def _app(fail_times: int, error: type[Exception] = AuditConflict):
    calls: list[bytes] = []

    async def endpoint(request):
        calls.append(await request.body())
        if len(calls) <= fail_times:
            raise error(7) if error is AuditConflict else error("not transient")
        return PlainTextResponse(f"attempt {len(calls)}")

    # Placed as create_app places it: inside Starlette's 500 handler, outside the routes.
    app = Starlette(routes=[Route("/x", endpoint, methods=["GET", "POST"])], middleware=[Middleware(RetryTransient)])
    return TestClient(app, raise_server_exceptions=False), calls


def test_a_request_that_lost_an_append_race_is_run_again_with_its_body():
    client, calls = _app(fail_times=2)
    response = client.post("/x", data={"note": "the same form, every time"})
    assert response.status_code == 200 and response.text == "attempt 3"
    assert len(set(calls)) == 1 and b"note=the+same+form" in calls[0]


def test_a_request_that_keeps_conflicting_gives_up_after_the_bound():
    client, calls = _app(fail_times=ATTEMPTS + 5)
    assert client.get("/x").status_code == 500
    assert len(calls) == ATTEMPTS


@pytest.mark.parametrize("error", [ValueError, RuntimeError])
def test_other_errors_are_not_retried(error):
    client, calls = _app(fail_times=1, error=error)
    assert client.get("/x").status_code == 500
    assert len(calls) == 1
