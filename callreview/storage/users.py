"""Web app accounts and their sign-in sessions: the tables and every query on them.

Only password *hashes* and session-token *hashes* are stored: someone who reads the database (a backup,
a stolen laptop) can neither sign in as a user nor take over a live session. Hashing itself happens in
the web layer (`callreview/service/auth.py`); this module stores and finds rows.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Field, Session, SQLModel, select

from callreview.storage.errors import StorageError
from callreview.storage.dates import utcnow

ROLES = ("reviewer", "supervisor", "admin", "lead")  # lead: adjudicates double reviews that disagree


class UserExists(StorageError, ValueError):
    def __init__(self, username: str):
        self.username = username
        super().__init__(f"user {username!r} already exists")


class User(SQLModel, table=True):
    """One person who signs in to the web app; a role decides what they may see and do."""

    __tablename__ = "web_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(index=True, unique=True, max_length=64)
    password_hash: str
    role: str = Field(description="reviewer, supervisor, admin or lead")
    active: bool = Field(default=True, description="Deactivated users cannot sign in; rows are never deleted.")
    created_at: datetime = Field(default_factory=utcnow)
    created_by: str = ""


class WebSession(SQLModel, table=True):
    """A signed-in browser. The cookie holds a random token; the row holds only its SHA-256."""

    __tablename__ = "web_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(index=True, unique=True, max_length=64)
    user_pk: int = Field(foreign_key="web_user.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)
    # The session ends at the earlier of this and last_seen_at + the idle timeout.
    expires_at: datetime


def add_user(session: Session, *, username: str, password_hash: str, role: str, created_by: str) -> User:
    """Insert a user (the caller commits).

    Raises:
        UserExists: the username is taken (also by a deactivated user: names are never reused).
        ValueError: the role is not one of ROLES.
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    if find_user(session, username) is not None:
        raise UserExists(username)
    user = User(username=username, password_hash=password_hash, role=role, created_by=created_by)
    session.add(user)
    session.flush()
    return user


def find_user(session: Session, username: str) -> User | None:
    return session.exec(select(User).where(User.username == username)).first()


def list_users(session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(User.username)))


def set_user_active(session: Session, user: User, active: bool) -> None:
    """Activate or deactivate a user; deactivating also ends their sessions."""
    user.active = active
    session.add(user)
    if not active:
        end_sessions_of(session, user.id)
    session.flush()


def add_web_session(session: Session, *, user_pk: int, token_hash: str, csrf_token: str,
                    expires_at: datetime) -> WebSession:
    row = WebSession(user_pk=user_pk, token_hash=token_hash, csrf_token=csrf_token, expires_at=expires_at)
    session.add(row)
    session.flush()
    return row


def find_web_session(session: Session, token_hash: str) -> tuple[WebSession, User] | None:
    """The session with this token hash and its user, or None (expiry is the caller's check)."""
    row = session.exec(select(WebSession, User).join(User, User.id == WebSession.user_pk)
                       .where(WebSession.token_hash == token_hash)).first()
    return None if row is None else (row[0], row[1])


def touch_web_session(session: Session, web_session: WebSession, at: datetime) -> None:
    web_session.last_seen_at = at
    session.add(web_session)
    session.flush()


def end_web_session(session: Session, token_hash: str) -> None:
    session.exec(delete(WebSession).where(WebSession.token_hash == token_hash))
    session.flush()


def end_sessions_of(session: Session, user_pk: int) -> None:
    session.exec(delete(WebSession).where(WebSession.user_pk == user_pk))
    session.flush()


def end_expired_sessions(session: Session, now: datetime) -> int:
    """Delete sessions past their absolute expiry; return how many went."""
    result = session.exec(delete(WebSession).where(WebSession.expires_at < now))
    session.flush()
    return result.rowcount or 0


def set_password_hash(session: Session, user: User, password_hash: str) -> None:
    """Replace a user's password hash and end their sessions (a reset must lock out old cookies)."""
    user.password_hash = password_hash
    session.add(user)
    end_sessions_of(session, user.id)
    session.flush()
