"""Time, once for the whole package: UTC now, stored times as UTC, instants parsed from text, and the
days accepted as date filters by the web app, the CLI and the storage queries alike.

Stored times are UTC; SQLite hands them back naive, so a naive time is read as UTC everywhere
(`as_utc`), never as local time.

Wide enough for any recorded call, narrow enough that the end of a day (the next midnight) and a shift
into any time zone stay representable: the day after 9999-12-31 does not exist, and asking for it was a
crash (a 500 in the web app, a traceback in the CLI) instead of a clear refusal.
"""
from __future__ import annotations

from datetime import date, datetime, time, timezone

from callreview.storage.errors import StorageError

def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(value: datetime | None) -> datetime | None:
    """A stored or given time in UTC; a naive one is taken as UTC."""
    if value is None:
        return None
    return value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)


def utc_iso(value: datetime) -> str:
    """ISO 8601 text in UTC: the same string whichever zone the server runs in (hashes depend on it)."""
    return as_utc(value).isoformat()


def day_start(value: date | datetime) -> datetime:
    """A date is a whole UTC day starting at its midnight; a datetime is taken as given (naive = UTC)."""
    if isinstance(value, datetime):
        return as_utc(value)
    return datetime.combine(value, time.min, tzinfo=timezone.utc)


def parse_instant(text: str) -> datetime:
    """`2017-04-01` or an ISO 8601 date-time, in UTC (no offset = UTC). Raises ValueError."""
    return as_utc(datetime.fromisoformat(text))


FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2999, 12, 31)


class DateOutOfRange(StorageError, ValueError):
    """`name` is the day as the person typed it (`--from`, "date_from"); `field` the filter it sets."""

    def __init__(self, name: str, value: date | datetime, field: str | None = None):
        self.name, self.value, self.field = name, value, field or name
        shown = value.date() if isinstance(value, datetime) else value
        super().__init__(f"{name} must be a day from {FIRST_DAY} to {LAST_DAY}, got {shown}")


def check_day(name: str, value: date | datetime | None, field: str | None = None) -> None:
    """Raise DateOutOfRange when `value` (a day or an instant) lies outside FIRST_DAY..LAST_DAY."""
    if value is None:
        return
    day = value.date() if isinstance(value, datetime) else value
    if not FIRST_DAY <= day <= LAST_DAY:
        raise DateOutOfRange(name, value, field)


def check_period(date_from: date | datetime | None, date_to: date | datetime | None,
                 names: tuple[str, str] = ("date_from", "date_to")) -> None:
    """check_day on the days that bound a period; `names` are how the caller's user knows them (`--from`).

    Only days are checked: a day is widened to whole days (whose ends must exist), an instant is used
    as given.
    """
    for name, field, value in ((names[0], "date_from", date_from), (names[1], "date_to", date_to)):
        if not isinstance(value, datetime):
            check_day(name, value, field)
