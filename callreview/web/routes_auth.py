"""Sign-in, sign-out and the home redirect.

The sign-in form is protected against login CSRF with a double-submit token: a random value in a
short-lived cookie that the form must echo (there is no session yet to hold a token). Password guessing
is throttled per user name and per client address (`callreview.service.auth.sign_in`): a refused attempt
is a 429 with Retry-After, and the password is not checked.
"""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from callreview.service.auth import (Principal, SignInFailed, SignInThrottled, new_token, same_token, sign_in,
                                     sign_out)
from callreview.web.deps import (HOME_OF_ROLE, LOGIN_CSRF_COOKIE, SESSION_COOKIE, DbDep, PrincipalDep, WebDep,
                                 require_form, session_policy, throttle_policy)
from callreview.web.templating import render

router = APIRouter()


def safe_next(target: str | None, fallback: str) -> str:
    """Only same-site paths: `//evil.example` or `https://…` would make sign-in an open redirect."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return fallback


def _login_page(request: Request, web, *, next_: str, error: str | None = None, status_code: int = 200,
                retry_after: int | None = None):
    token = new_token()
    response = render(request, "login.html", {"login_csrf": token, "next": next_, "error": error,
                                             "expired": request.query_params.get("expired") == "1"},
                      status_code=status_code)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
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
    client = request.client.host if request.client else "unknown"
    try:
        signed = sign_in(db, username, password, client=client, throttle=throttle_policy(web),
                         sessions=session_policy(web), replaced_token=request.cookies.get(SESSION_COOKIE),
                         scrypt_n=web.scrypt_n)
    except SignInThrottled as exc:
        return _login_page(request, web, next_=safe_next(next, ""), status_code=429, error=exc.wait.message(exc.now),
                           retry_after=exc.wait.retry_after(exc.now))
    except SignInFailed as exc:
        wrong = "Wrong user name or password, or the account is deactivated."
        if exc.lockouts:
            first = exc.lockouts[0]
            return _login_page(request, web, next_=safe_next(next, ""), status_code=429,
                               error=f"{wrong} {first.message(exc.now)}", retry_after=first.retry_after(exc.now))
        return _login_page(request, web, next_=safe_next(next, ""), status_code=401, error=wrong)
    user, token = signed.user, signed.token
    response = RedirectResponse(safe_next(next, HOME_OF_ROLE[user.role]), status_code=303)
    # No Max-Age: the cookie dies with the browser; the server ends the session on idle or lifetime.
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=web.cookie_secure, path="/")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(db: DbDep, principal: Annotated[Principal, Depends(require_form("signed_in"))]):
    sign_out(db, principal)
    response = RedirectResponse("/login?msg=signed_out", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
