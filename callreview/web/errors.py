"""The one place where errors become HTTP responses (HTTPException never leaves callreview/web/).

Anonymous and expired sessions are sent to the sign-in page; every other refusal is a small HTML page
with the status code, so a test (or a person) can tell a refusal from a page.
"""
from __future__ import annotations

import logging
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from callreview.service.access import refuse_bad_input
from callreview.service.auth import ANONYMOUS
from callreview.service.calls import CallNotFound, RecordingNotAvailable
from callreview.service.corrections import CorrectionRefused
from callreview.service.packet import PacketError
from callreview.web.deps import storage_for
from callreview.web.headers import apply_security_headers
from callreview.web.query import BadInput
from callreview.web.templating import render
from callreview.storage.db import open_session
from callreview.storage.dispositions import InvalidDisposition, ItemNotAvailable

logger = logging.getLogger(__name__)

TITLES = {400: "Bad request", 401: "Sign in", 403: "Not allowed", 404: "Not found", 405: "Not allowed",
          409: "Already taken", 422: "Check the form", 500: "Something went wrong"}


def _login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    params = {"next": target}
    if getattr(request.state, "session_expired", False):
        params["expired"] = "1"
    return RedirectResponse(f"/login?{urlencode(params)}", status_code=303)


def _record_bad_input(request: Request, problems: list[dict]) -> None:
    """One audit row for a refused request whose input could not be used; `outcome` names the first input.

    Written in a session of its own: the request wrote nothing before its input was refused.
    """
    principal = getattr(request.state, "principal", None)
    with open_session(storage_for(request)) as db:
        refuse_bad_input(db, principal.actor if principal else ANONYMOUS, path=request.url.path,
                         method=request.method, problems=problems)


def _shown(value) -> str:
    """An input value as the audit log keeps it: text, cut short (it came from the client)."""
    return str(value)[:200]


async def _http_error(request: Request, exc: StarletteHTTPException):
    if exc.status_code == 401 and request.method == "GET":
        return _login_redirect(request)
    if isinstance(exc, BadInput):
        _record_bad_input(request, [{"input": exc.name, "value": _shown(exc.value), "problem": exc.detail}])
    return render(request, "error.html", {"title": TITLES.get(exc.status_code, "Error"), "detail": exc.detail,
                                          "status": exc.status_code,
                                          "continue_to": getattr(exc, "continue_to", None)},
                  status_code=exc.status_code)


async def _validation_error(request: Request, exc: RequestValidationError):
    errors = exc.errors()
    problems = [{"input": ".".join(str(p) for p in e["loc"][1:]) or str(e["loc"][0]),
                 "value": _shown(e.get("input")), "problem": e["msg"]} for e in errors]
    _record_bad_input(request, problems)
    detail = "; ".join(f"{p['input']}: {p['problem']}" + (f" (got {p['value']!r})" if p["value"] else "")
                       for p in problems)
    return render(request, "error.html", {"title": TITLES[422], "detail": detail, "status": 422},
                  status_code=422)


def _error_page(request: Request, status: int, detail: str):
    return render(request, "error.html", {"title": TITLES[status], "detail": detail, "status": status},
                  status_code=status)


async def _call_not_found(request: Request, exc: CallNotFound):
    return _error_page(request, 404, f"No call with id {exc.call_id!r}.")


async def _recording_not_available(request: Request, exc: RecordingNotAvailable):
    return _error_page(request, 404, f"The recording of call {exc.call_id!r} is not in the archive ({exc.problem}); "
                                     "run `callreview verify`.")


async def _packet_error(request: Request, exc: PacketError):
    return _error_page(request, 404, str(exc))


async def _correction_refused(request: Request, exc: CorrectionRefused):
    return _error_page(request, 404 if exc.problem == "no such call" else 422, str(exc))


async def _item_not_available(request: Request, exc: ItemNotAvailable):
    return _error_page(request, 409, str(exc))


async def _invalid_disposition(request: Request, exc: InvalidDisposition):
    return _error_page(request, 422, str(exc))


async def _server_error(request: Request, exc: Exception):
    """Any unexpected exception: a plain page with no details (Starlette logs the traceback and re-raises).

    Starlette sends this page from its outermost middleware, outside SecurityHeaders, so the headers
    are set here; without them an error page could be framed or cached like no other page.
    """
    try:
        response = render(request, "error.html", {"title": TITLES[500], "status": 500,
                                                  "detail": "The server could not finish this request. Try again; "
                                                            "if it keeps happening, tell an administrator."},
                          status_code=500)
    except Exception:  # the page itself may be what failed (a template, the templates folder)
        logger.exception("the error page could not be rendered")
        response = PlainTextResponse("Something went wrong.", status_code=500)
    apply_security_headers(response.headers, request.url.path)
    return response


def install_error_handlers(app: FastAPI) -> None:
    # Exception (not a subclass) goes to Starlette's ServerErrorMiddleware: the 500 page.
    app.add_exception_handler(Exception, _server_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(CallNotFound, _call_not_found)
    app.add_exception_handler(RecordingNotAvailable, _recording_not_available)
    app.add_exception_handler(PacketError, _packet_error)
    app.add_exception_handler(CorrectionRefused, _correction_refused)
    app.add_exception_handler(ItemNotAvailable, _item_not_available)
    app.add_exception_handler(InvalidDisposition, _invalid_disposition)
