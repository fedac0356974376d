"""Sign-in throttling: the rules over `callreview.storage.throttle`, per user name and per client address.

Each attempt counts against two keys: the user name as typed (`user:NAME`, whether or not such an
account exists, so a lockout reveals nothing about which names exist) and the client address
(`client:ADDRESS`, which catches one machine trying many names). Order, in `callreview.service.auth.sign_in`:
`reserve` (committed before the password is checked, so concurrent attempts see it) -> check the
password -> `failed` or `succeeded`. Every refusal and every lockout is an audit row, written by `sign_in`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from callreview.storage import throttle as store

SCOPE_TEXT = {"user": "for this user name", "client": "from this network address"}


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int
    max_failures_per_client: int
    window: timedelta
    first_lockout: timedelta
    longest_lockout: timedelta


@dataclass(frozen=True)
class Wait:
    """Sign-ins for `name` (a user name or a client address) are refused until `until`."""

    scope: str  # user | client
    name: str
    until: datetime
    seconds: int | None = None  # a new lockout's full length
    failures: int | None = None
    number: int | None = None  # 1 for the first lockout in a row, 2 for the next, ...

    def retry_after(self, now: datetime) -> int:
        """Whole seconds to wait (at least 1), for the Retry-After header."""
        return max(1, math.ceil((self.until - now).total_seconds()))

    def message(self, now: datetime) -> str:
        return f"Too many failed sign-ins {SCOPE_TEXT[self.scope]}. Try again in {_duration(self.retry_after(now))}."


def _duration(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _user_key(username: str) -> str:
    return f"user:{username}"


def _client_key(client: str) -> str:
    return f"client:{client}"


def reserve(db: Session, username: str, client: str, policy: ThrottlePolicy, now: datetime) -> Wait | None:
    """Count an attempt before its password is checked; the Wait that refuses it, or None (the caller commits)."""
    until = store.reserve_attempt(db, _client_key(client), now=now, limit=policy.max_failures_per_client,
                                  window=policy.window)
    if until is not None:
        return Wait("client", client, until)
    until = store.reserve_attempt(db, _user_key(username), now=now, limit=policy.max_failures, window=policy.window)
    if until is not None:
        # Not checked, so not a failure of this address: only the name's lockout refused it.
        store.forgive_attempt(db, _client_key(client))
        return Wait("user", username, until)
    return None


def failed(db: Session, username: str, client: str, policy: ThrottlePolicy, now: datetime) -> list[Wait]:
    """A wrong password: the lockouts it starts, user name first (the caller commits)."""
    limits = {_user_key(username): policy.max_failures, _client_key(client): policy.max_failures_per_client}
    started = store.record_failures(db, limits, now=now, window=policy.window, first_lockout=policy.first_lockout,
                                    longest_lockout=policy.longest_lockout)
    waits = [Wait("user" if lock.key.startswith("user:") else "client", lock.key.split(":", 1)[1], lock.until,
                  seconds=lock.seconds, failures=lock.failures, number=lock.number) for lock in started]
    return sorted(waits, key=lambda w: w.scope != "user")


def succeeded(db: Session, username: str, client: str, policy: ThrottlePolicy, now: datetime) -> None:
    """The right password: the name starts over, the address gets its slot back (the caller commits)."""
    store.clear(db, _user_key(username))
    store.forgive_attempt(db, _client_key(client))
    store.forget_idle(db, now - policy.window)
