"""Passwords, sign-in sessions and CSRF tokens for the web app.

Order of events: `check_credentials` checks a password and `start_session` starts a server-side
session (a random token in an HttpOnly cookie; the database keeps only its SHA-256, and a per-session
CSRF token); `sign_in` does both under the sign-in throttle and audits the attempt. Every request then
goes through `resolve_session`, which ends the session once it is idle too long or past its absolute
lifetime. `sign_out` deletes the row, so a copied cookie is useless afterwards.

Passwords are hashed with scrypt from the standard library (no native dependency). The cost is kept in
each hash string, so it can be raised later: `verify_password` accepts old hashes and `needs_rehash`
tells the caller to store a new one at the next sign-in.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from callreview.core.errors import ReviewError
from callreview.service import throttle as throttling
from callreview.service.audited import commit_event
from callreview.service.throttle import ThrottlePolicy, Wait
from callreview.storage import users as store
from callreview.storage.audit import record_event
from callreview.storage.dates import as_utc, utcnow

# OWASP lists scrypt N=2^15, r=8, p=3 as equivalent to its N=2^17, p=1 minimum; it needs 32 MiB per
# hash instead of 128 MiB (about 0.3 s on one core), which keeps concurrent sign-ins affordable.
SCRYPT_N = 2 ** 15
SCRYPT_R = 8
SCRYPT_P = 3
_SALT_BYTES = 16
_KEY_BYTES = 32
MIN_PASSWORD_LENGTH = 12


class PasswordTooShort(ValueError):
    def __init__(self, length: int):
        self.length = length
        super().__init__(f"password has {length} characters; use at least {MIN_PASSWORD_LENGTH} "
                         "(a passphrase of a few words is easiest)")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    # maxmem must exceed 128 * n * r bytes; allow twice that.
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=_KEY_BYTES,
                          maxmem=256 * n * r + (1 << 20))


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """Hash a password as `scrypt$n$r$p$salt$key` (base64 salt and key).

    Args:
        password: the plain password; at least MIN_PASSWORD_LENGTH characters.
        n, r, p: scrypt cost; tests pass a low `n` to stay fast, production keeps the defaults.

    Raises:
        PasswordTooShort: the password is shorter than MIN_PASSWORD_LENGTH.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordTooShort(len(password))
    salt = secrets.token_bytes(_SALT_BYTES)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(_scrypt(password, salt, n, r, p))}"


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches a hash from `hash_password` (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(key)
        actual = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def needs_rehash(stored: str, n: int = SCRYPT_N) -> bool:
    """Whether a stored hash uses a lower cost than `n` (and the current r and p)."""
    try:
        _, stored_n, r, p, _, _ = stored.split("$")
        return (int(stored_n), int(r), int(p)) < (n, SCRYPT_R, SCRYPT_P)
    except ValueError:
        return True


# Checked when the username does not exist, so a failed sign-in takes as long for an unknown name as
# for a wrong password and does not reveal which accounts exist. One per cost, made on first need.
_DUMMY_HASHES: dict[int, str] = {}


def _dummy_hash(n: int) -> str:
    if n not in _DUMMY_HASHES:
        _DUMMY_HASHES[n] = hash_password(secrets.token_urlsafe(16), n=n)
    return _DUMMY_HASHES[n]


def token_hash(token: str) -> str:
    """What the database stores for a session cookie."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A random token for a session cookie or a form (256 bits)."""
    return secrets.token_urlsafe(32)


def same_token(given: str | None, expected: str | None) -> bool:
    """Constant-time comparison of two tokens; missing tokens never match."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


@dataclass(frozen=True)
class Principal:
    """The signed-in user of one request."""

    username: str
    role: str
    csrf_token: str
    session_hash: str

    @property
    def actor(self) -> str:
        """How the audit log names this user (CLI actions are `cli:<name>`, batch runs `batch`)."""
        return f"web:{self.username}"


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta
    lifetime: timedelta


def check_credentials(session: Session, username: str, password: str, *, n: int = SCRYPT_N) -> store.User | None:
    """The active user with this name and password, or None; takes the same time either way.

    A correct password stored at a lower cost than `n` is re-hashed at `n` (the caller commits).
    """
    user = store.find_user(session, username)
    if user is None:
        verify_password(password, _dummy_hash(n))
        return None
    if not verify_password(password, user.password_hash) or not user.active:
        return None
    if needs_rehash(user.password_hash, n):
        user.password_hash = hash_password(password, n=n)
        session.add(user)
    return user


def start_session(session: Session, user: store.User, policy: SessionPolicy,
                  now: datetime | None = None) -> str:
    """Create a session row for `user` and return the cookie token (the caller commits)."""
    now = now or utcnow()
    token = new_token()
    store.add_web_session(session, user_pk=user.id, token_hash=token_hash(token), csrf_token=new_token(),
                          expires_at=now + policy.lifetime)
    store.end_expired_sessions(session, now)
    return token


def resolve_session(session: Session, token: str | None, policy: SessionPolicy,
                    now: datetime | None = None) -> tuple[Principal | None, bool]:
    """The principal a cookie token stands for, and whether a session existed but had expired.

    An expired session is deleted; a deactivated user's session resolves to nobody.
    """
    if not token:
        return None, False
    now = now or utcnow()
    found = store.find_web_session(session, token_hash(token))
    if found is None:
        return None, False
    row, user = found
    idle_end = as_utc(row.last_seen_at) + policy.idle
    if now >= as_utc(row.expires_at) or now >= idle_end or not user.active:
        store.end_web_session(session, row.token_hash)
        session.commit()
        return None, True
    # Write last-seen at most once a minute: every page view need not be a database write.
    if now - as_utc(row.last_seen_at) > timedelta(minutes=1):
        store.touch_web_session(session, row, now)
        session.commit()
    return Principal(username=user.username, role=user.role, csrf_token=row.csrf_token,
                     session_hash=row.token_hash), False


# --- signing in and out (audited) ----------------------------------------------------------------------
# Someone signing in is nobody until the password is checked: refusals are written as `web:anonymous`,
# with the typed (attacker-controlled) name as the object, never as the actor.
ANONYMOUS = "web:anonymous"


class SignInThrottled(ReviewError):
    """Refused without checking the password: `wait` is the lockout in force (user name or client)."""

    def __init__(self, wait: Wait, now: datetime):
        self.wait, self.now = wait, now
        super().__init__(wait.message(now))


class SignInFailed(ReviewError):
    """Wrong user name or password, or a deactivated account; `lockouts` are those this failure started."""

    def __init__(self, lockouts: list[Wait], now: datetime):
        self.lockouts, self.now = lockouts, now
        super().__init__("wrong user name or password, or the account is deactivated")


@dataclass(frozen=True)
class SignedIn:
    user: store.User
    token: str  # the new session's cookie value


def sign_in(session: Session, username: str, password: str, *, client: str, throttle: ThrottlePolicy,
            sessions: SessionPolicy, replaced_token: str | None = None, scrypt_n: int = SCRYPT_N) -> SignedIn:
    """Check a password under the sign-in throttle and start a session, audited as `sign_in`.

    Order: the attempt is counted and committed before the password is checked (concurrent attempts
    must see it, so they cannot get past the limit together); then the check, its throttle bookkeeping,
    the new session and the audit rows are one transaction. Rows: `sign_in` with outcome `ok` (actor
    `web:NAME`), `throttled` or `denied` (actor `web:anonymous`), plus one `sign_in_lockout` row for
    each lockout a wrong password starts.

    Args:
        session: an open session.
        username: the name as typed.
        password: the password as typed.
        client: the client's network address (throttled, and kept in the audit detail).
        throttle: the throttle's limits.
        sessions: idle and absolute lifetime of the new session.
        replaced_token: the cookie of a session the browser already holds; it is ended, so every
            sign-in gets a fresh token (no session fixation).
        scrypt_n: the password hash cost (a lower stored cost is re-hashed at this one).

    Raises:
        SignInThrottled: a lockout is in force; the password was not checked.
        SignInFailed: wrong name or password, or a deactivated account.
    """
    now = utcnow()
    wait = throttling.reserve(session, username, client, throttle, now)
    if wait is not None:
        # Refused without checking the password: guessing gains nothing while the lockout lasts.
        commit_event(session, actor=ANONYMOUS, action="sign_in", object_type="user", object_id=username,
                     outcome="throttled", detail={"client": client, "locked": wait.scope,
                                                  "until": wait.until.isoformat()})
        raise SignInThrottled(wait, now)
    session.commit()  # the reserved attempt must be visible to concurrent attempts during the slow check below
    user = check_credentials(session, username, password, n=scrypt_n)
    if user is None:
        now = utcnow()
        lockouts = throttling.failed(session, username, client, throttle, now)
        record_event(session, actor=ANONYMOUS, action="sign_in", object_type="user", object_id=username,
                     outcome="denied", detail={"client": client})
        for lock in lockouts:
            record_event(session, actor=ANONYMOUS, action="sign_in_lockout", object_type=lock.scope,
                         object_id=lock.name, outcome="locked",
                         detail={"client": client, "until": lock.until.isoformat(), "seconds": lock.seconds,
                                 "failures": lock.failures, "lockout": lock.number})
        session.commit()
        raise SignInFailed(lockouts, now)
    throttling.succeeded(session, username, client, throttle, utcnow())
    if replaced_token:
        store.end_web_session(session, token_hash(replaced_token))
    token = start_session(session, user, sessions)
    commit_event(session, actor=f"web:{user.username}", action="sign_in", object_type="user",
                 object_id=user.username, detail={"client": client, "role": user.role})
    return SignedIn(user=user, token=token)


def sign_out(session: Session, principal: Principal) -> None:
    """End the principal's session, audited as `sign_out`; a copied cookie is useless afterwards."""
    store.end_web_session(session, principal.session_hash)
    commit_event(session, actor=principal.actor, action="sign_out", object_type="user", object_id=principal.username)
