"""Creating and switching users, shared by the admin pages and `callreview user add`.

Each function writes its audit event in the same transaction as the change and commits it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session

from callreview.core.errors import ReviewError
from callreview.service.audited import commit_event
from callreview.service.auth import hash_password
from callreview.storage import users as store
from callreview.storage.audit import record_event
from callreview.storage.evidence import item_states
from callreview.storage.dispositions import claim_expired, release_claims_of
from callreview.storage.queue import QueueRow, list_items
from callreview.storage.tables import utcnow

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


class UserNotFound(ReviewError, LookupError):
    def __init__(self, username: str):
        self.username = username
        super().__init__(f"no user {username!r}")


class CannotDeactivateSelf(ReviewError, ValueError):
    def __init__(self, username: str):
        self.username = username
        super().__init__(f"user {username!r} cannot deactivate themselves; another admin must")


class InvalidUsername(ValueError):
    def __init__(self, username: str):
        self.username = username
        super().__init__(f"user name {username!r} must be 2-64 characters: lower-case letters, digits, '.', "
                         "'_' or '-', starting with a letter or digit")


def create_user(session: Session, *, username: str, password: str, role: str, actor: str,
                scrypt_n: int | None = None) -> store.User:
    """Check, hash and store a new user, audited as `user_add` (detail: the role); commits.

    Shared by the admin page (`POST /admin/users`) and `callreview user add`.

    Args:
        session: an open session.
        username: the sign-in name (see InvalidUsername for the allowed form).
        password: the plain password (at least auth.MIN_PASSWORD_LENGTH characters).
        role: reviewer, supervisor, admin or lead.
        actor: who is creating the user, as the audit log names them.
        scrypt_n: a lower scrypt cost, for tests only.

    Raises:
        InvalidUsername, auth.PasswordTooShort, ValueError (unknown role), callreview.storage.users.UserExists.
    """
    if not _USERNAME.match(username):
        raise InvalidUsername(username)
    if role not in store.ROLES:
        raise ValueError(f"role must be one of {', '.join(store.ROLES)}, got {role!r}")
    password_hash = hash_password(password) if scrypt_n is None else hash_password(password, n=scrypt_n)
    user = store.add_user(session, username=username, password_hash=password_hash, role=role, created_by=actor)
    commit_event(session, actor=actor, action="user_add", object_type="user", object_id=username,
                 detail={"role": role})
    return user


def set_user_active(session: Session, actor: str, username: str, active: bool, *,
                    acting_user: str | None = None) -> store.User:
    """Activate or deactivate a user, audited as `user_activate` / `user_deactivate`; commits.

    Deactivation ends their sessions and releases their claims on review items, with one more
    `release_item` row per item (why: `user_deactivated`): a deactivated reviewer will never finish
    them, and their claims would keep everyone else off.

    Args:
        session: an open session.
        actor: who switches the user, as the audit log names them.
        username: the user to switch.
        active: the new state.
        acting_user: the account name of whoever switches (an admin cannot deactivate themselves).

    Raises:
        UserNotFound: no such user.
        CannotDeactivateSelf: `acting_user` would deactivate their own account.
    """
    user = store.find_user(session, username)
    if user is None:
        raise UserNotFound(username)
    if user.username == acting_user and not active:
        raise CannotDeactivateSelf(user.username)
    store.set_user_active(session, user, active)
    record_event(session, actor=actor, action="user_activate" if active else "user_deactivate",
                 object_type="user", object_id=user.username)
    if not active:
        for item_id, call_id in release_claims_of(session, user.username):
            record_event(session, actor=actor, action="release_item", object_type="review_item", object_id=item_id,
                         detail={"call_id": call_id, "claimed_by": user.username, "why": "user_deactivated",
                                 "review_items": item_states(session, item_ids=[item_id])})
    session.commit()
    return user


@dataclass(frozen=True)
class ClaimRow:
    """A claimed open review item (ids only, no call content), and whether the claim has expired."""

    row: QueueRow
    expired: bool


def list_accounts(session: Session, *, claim_lifetime: timedelta | None = None) -> tuple[list[store.User],
                                                                                         list[ClaimRow]]:
    """Every user, and every claimed open review item, for the admins' users page (not audited: no call content).

    Admins see who holds which item so that a claim nobody works can be released.

    Args:
        claim_lifetime: claims older than this are marked expired; None: claims never expire.
    """
    stale_before = utcnow() - claim_lifetime if claim_lifetime is not None else None
    claims = [ClaimRow(row=r, expired=claim_expired(r.claimed_at, stale_before))
              for r in list_items(session, status="open") if r.claimed_by]
    return store.list_users(session), claims
