"""FastAPI dependencies: settings, the database session, the signed-in user, roles and CSRF checks.

Every route names the permission it needs (`require("search")`, or `require_form(...)` for a POST,
which adds the CSRF check). The check runs on the server for every request; a refusal of a signed-in
user is written to the audit log, because a reviewer probing another role's pages is itself evidence.
"""
from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from typing import Annotated, Callable, Iterator

from fastapi import Depends, HTTPException, Request
from sqlmodel import Session

from callreview.core.rules import Rules
from callreview.service.access import refuse_access, reject_form
from callreview.service.auth import Principal, SessionPolicy, resolve_session, same_token
from callreview.service.throttle import ThrottlePolicy
from callreview.web.settings import WebSettings, get_web_settings
from callreview.storage.db import open_session
from callreview.storage.settings import StorageSettings, get_storage_settings

SESSION_COOKIE = "callreview_session"
LOGIN_CSRF_COOKIE = "callreview_login_csrf"

# Who may do what. DESIGN.md: internal affairs (reviewer) work the queue; supervisors search and read
# transcripts but record no dispositions; admins manage users and read the audit log, not the calls.
PERMISSIONS: dict[str, frozenset[str]] = {
    "signed_in": frozenset({"reviewer", "supervisor", "admin", "lead"}),
    "work_queue": frozenset({"reviewer"}),
    "read_calls": frozenset({"reviewer", "supervisor", "lead"}),
    "adjudicate": frozenset({"lead"}),
    "search": frozenset({"reviewer", "supervisor"}),
    "admin": frozenset({"admin"}),
}
HOME_OF_ROLE = {"reviewer": "/queue", "supervisor": "/search", "admin": "/admin/users", "lead": "/adjudication"}

# Sec-Fetch-Site of a request this app's own pages made, or one the user typed or bookmarked. The
# session cookie is SameSite=Lax, so a top-level GET from any other site carries it too; a browser that
# sends no Sec-Fetch-Site at all (older ones) is let through, as before.
OWN_FETCH_SITES = frozenset({"same-origin", "none"})


class CrossSiteRequest(HTTPException):
    """A GET that would write the audit log, started by another site: refused before anything is written."""

    def __init__(self, continue_to: str):
        self.continue_to = continue_to  # the same path and query, as a link the user may choose to follow
        super().__init__(403, "This page was opened from another site. Pages that are recorded in the audit "
                              "log open only from callreview itself, so that no other site can view or search "
                              "calls in your name. Open it from here only if you meant to.")


def refuse_cross_site(request: Request) -> None:
    """Raise CrossSiteRequest for a GET (or HEAD) that another site started."""
    site = request.headers.get("sec-fetch-site")
    if request.method in ("GET", "HEAD") and site is not None and site not in OWN_FETCH_SITES:
        query = request.url.query
        raise CrossSiteRequest(request.url.path + (f"?{query}" if query else ""))


def get_storage() -> StorageSettings:
    """Storage settings; `create_app(storage=...)` overrides this dependency."""
    return get_storage_settings()


def get_web() -> WebSettings:
    """Web settings; `create_app(web=...)` overrides this dependency."""
    return get_web_settings()


def storage_for(request: Request) -> StorageSettings:
    """The storage settings this app's routes use, for code outside a route (the error handlers)."""
    return request.app.dependency_overrides.get(get_storage, get_storage)()


def get_rules() -> Rules:
    """The rules in force (CALLREVIEW_RULES, else the packaged file), for re-assessing a corrected call."""
    from callreview.core.settings import ReviewSettings

    return _rules_at(str(ReviewSettings().rules or ""))


@lru_cache(maxsize=4)
def _rules_at(path: str) -> Rules:
    from callreview.core.rules import load_rules

    return load_rules(path or None)


StorageDep = Annotated[StorageSettings, Depends(get_storage)]
WebDep = Annotated[WebSettings, Depends(get_web)]
RulesDep = Annotated[Rules, Depends(get_rules)]


def get_db(storage: StorageDep) -> Iterator[Session]:
    """One database session per request."""
    with open_session(storage) as session:
        yield session


DbDep = Annotated[Session, Depends(get_db)]


def session_policy(web: WebSettings) -> SessionPolicy:
    return SessionPolicy(idle=web.session_idle, lifetime=web.session_lifetime)


def throttle_policy(web: WebSettings) -> ThrottlePolicy:
    return ThrottlePolicy(max_failures=web.sign_in_max_failures,
                          max_failures_per_client=web.sign_in_max_failures_per_client,
                          window=timedelta(minutes=web.sign_in_window_minutes),
                          first_lockout=timedelta(seconds=web.sign_in_lockout_seconds),
                          longest_lockout=timedelta(minutes=web.sign_in_max_lockout_minutes))


def get_principal(request: Request, db: DbDep, web: WebDep) -> Principal | None:
    """The signed-in user, or None; also kept on `request.state` for templates and error pages."""
    principal, expired = resolve_session(db, request.cookies.get(SESSION_COOKIE), session_policy(web))
    request.state.principal = principal
    request.state.session_expired = expired
    return principal


PrincipalDep = Annotated[Principal | None, Depends(get_principal)]


def require(permission: str) -> Callable[..., Principal]:
    """A dependency that returns the principal if their role grants `permission`.

    Raises 401 for an anonymous (or expired) session, 403 for a GET another site started (before the
    role check, whose refusal would itself be an audit row in the user's name) and 403 for a role
    without the permission.
    """
    allowed = PERMISSIONS[permission]

    def dependency(request: Request, db: DbDep, principal: PrincipalDep) -> Principal:
        if principal is None:
            raise HTTPException(401, "Sign in to continue.")
        # Every route behind `require` writes the audit log (a view, a search, a download, a refusal).
        refuse_cross_site(request)
        if principal.role not in allowed:
            refuse_access(db, principal.actor, path=request.url.path, method=request.method, role=principal.role,
                          needs=permission)
            raise HTTPException(403, f"Your role ({principal.role}) does not allow this page or action.")
        return principal

    return dependency


async def _form_csrf_token(request: Request) -> str | None:
    form = await request.form()
    value = form.get("csrf_token")
    return value if isinstance(value, str) else None


def require_form(permission: str) -> Callable[..., Principal]:
    """Like `require`, and the posted form must carry the session's CSRF token."""
    role_check = require(permission)

    # Defaults, not Annotated: with postponed annotations FastAPI cannot see the closure's `role_check`.
    def dependency(request: Request, db: DbDep, principal: Principal = Depends(role_check),
                   token: str | None = Depends(_form_csrf_token)) -> Principal:
        if not same_token(token, principal.csrf_token):
            reject_form(db, principal.actor, path=request.url.path, method=request.method, role=principal.role,
                        token="missing" if not token else "wrong")
            raise HTTPException(403, "This form has expired or did not come from this app. Reload the page and "
                                     "try again.")
        return principal

    return dependency
