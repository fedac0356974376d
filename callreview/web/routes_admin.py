"""Admin pages: users (list, create, deactivate), claims on review items (release), the audit log, paged."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse

from callreview.service.audit_log import view_audit
from callreview.service.auth import PasswordTooShort, Principal
from callreview.service.queue import release_claim
from callreview.service.users import (CannotDeactivateSelf, InvalidUsername, UserNotFound, create_user,
                                      list_accounts, set_user_active)
from callreview.storage.users import ROLES, UserExists
from callreview.web.deps import DbDep, WebDep, require, require_form
from callreview.web.query import ItemId, PageNumber
from callreview.web.templating import render

router = APIRouter(prefix="/admin")


@router.get("/users")
def users_page(request: Request, db: DbDep, web: WebDep, principal: Annotated[Principal, Depends(require("admin"))]):
    users, claims = list_accounts(db, claim_lifetime=web.claim_lifetime)
    return render(request, "admin_users.html", {"users": users, "roles": ROLES, "claims": claims,
                                                "claim_hours": web.claim_hours})


@router.post("/items/{item_id}/release")
def release_claim_of_item(item_id: ItemId, db: DbDep,
                          principal: Annotated[Principal, Depends(require_form("admin"))]):
    release_claim(db, principal.actor, item_id)
    return RedirectResponse("/admin/users?msg=claim_released", status_code=303)


@router.post("/users")
def add_user(request: Request, db: DbDep, web: WebDep,
             principal: Annotated[Principal, Depends(require_form("admin"))],
             username: Annotated[str, Form(max_length=64)], role: Annotated[str, Form()],
             password: Annotated[str, Form(max_length=1024)]):
    try:
        create_user(db, username=username.strip(), password=password, role=role, actor=principal.actor,
                    scrypt_n=web.scrypt_n)
    except (InvalidUsername, PasswordTooShort, UserExists, ValueError) as exc:
        raise HTTPException(422, str(exc)) from None
    return RedirectResponse("/admin/users?msg=user_added", status_code=303)


@router.post("/users/{username}/active")
def switch_user(username: str, db: DbDep, principal: Annotated[Principal, Depends(require_form("admin"))],
                active: Annotated[bool, Form()]):
    try:
        set_user_active(db, principal.actor, username, active, acting_user=principal.username)
    except UserNotFound:
        raise HTTPException(404, f"No user {username!r}.") from None
    except CannotDeactivateSelf:
        raise HTTPException(422, "You cannot deactivate yourself; ask another admin.") from None
    return RedirectResponse("/admin/users?msg=user_updated", status_code=303)


@router.get("/audit")
def audit_page(request: Request, db: DbDep, web: WebDep, principal: Annotated[Principal, Depends(require("admin"))],
               page: PageNumber = 1, actor: str | None = None, action: str | None = None):
    rows, total = view_audit(db, principal.actor, page=page, per_page=web.page_size, actor_filter=actor,
                             action_filter=action)
    pages = max((total + web.page_size - 1) // web.page_size, 1)
    return render(request, "admin_audit.html", {"rows": rows, "page": page, "pages": pages, "total": total,
                                                "actor": actor or "", "action": action or ""})
