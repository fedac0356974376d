"""Sign-in, sign-out and the home redirect.

The sign-in form is protected against login CSRF with a double-submit token: a random value in a
short-lived cookie that the form must echo (there is no session yet to hold a token).
"""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from review.web.auth import (Principal, check_credentials, new_token, same_token, sign_out, start_session,
                             token_hash)
from review.web.deps import (HOME_OF_ROLE, LOGIN_CSRF_COOKIE, SESSION_COOKIE, DbDep, PrincipalDep, WebDep,
                             require_form, session_policy)
from review.web.templating import render
from storage.audit import record_event
from storage.users import end_web_session

router = APIRouter()


def safe_next(target: str | None, fallback: str) -> str:
    """Only same-site paths: `//evil.example` or `https://…` would make sign-in an open redirect."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return fallback


def _login_page(request: Request, web, *, next_: str, error: str | None = None, status_code: int = 200):
    token = new_token()
    response = render(request, "login.html", {"login_csrf": token, "next": next_, "error": error,
                                             "expired": request.query_params.get("expired") == "1"},
                      status_code=status_code)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=3600, httponly=True, samesite="strict",
                        secure=web.cookie_secure, path="/login")
    return response


@router.get("/")
def home(principal: PrincipalDep):
    return RedirectResponse(HOME_OF_ROLE[principal.role] if principal else "/login", status_code=303)


@router.get("/login")
def login_form(request: Request, principal: PrincipalDep, web: WebDep, next: str | None = None):
    if principal is not None:
        return RedirectResponse(safe_next(next, HOME_OF_ROLE[principal.role]), status_code=303)
    return _login_page(request, web, next_=safe_next(next, ""))


@router.post("/login")
def login(request: Request, db: DbDep, web: WebDep, username: Annotated[str, Form(max_length=64)],
          password: Annotated[str, Form(max_length=1024)], csrf_token: Annotated[str, Form()] = "",
          next: Annotated[str, Form()] = ""):
    if not same_token(csrf_token, request.cookies.get(LOGIN_CSRF_COOKIE)):
        return _login_page(request, web, next_=safe_next(next, ""), status_code=403,
                           error="The sign-in form expired. Please try again.")
    user = check_credentials(db, username, password, n=web.scrypt_n)
    if user is None:
        # The attempted name is attacker-controlled text: it goes into the detail, not the actor column.
        record_event(db, actor="web:anonymous", action="sign_in", object_type="user", object_id=username,
                     outcome="denied", detail={"client": request.client.host if request.client else None})
        db.commit()
        return _login_page(request, web, next_=safe_next(next, ""), status_code=401,
                           error="Wrong user name or password, or the account is deactivated.")
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        end_web_session(db, token_hash(old))  # a fresh token on every sign-in prevents session fixation
    token = start_session(db, user, session_policy(web))
    record_event(db, actor=f"web:{user.username}", action="sign_in", object_type="user", object_id=user.username,
                 detail={"client": request.client.host if request.client else None, "role": user.role})
    db.commit()
    response = RedirectResponse(safe_next(next, HOME_OF_ROLE[user.role]), status_code=303)
    # No Max-Age: the cookie dies with the browser; the server ends the session on idle or lifetime.
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=web.cookie_secure, path="/")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(db: DbDep, principal: Annotated[Principal, Depends(require_form("signed_in"))]):
    sign_out(db, principal)
    record_event(db, actor=principal.actor, action="sign_out", object_type="user", object_id=principal.username)
    db.commit()
    response = RedirectResponse("/login?msg=signed_out", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
