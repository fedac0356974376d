"""The days accepted as date filters, by the web app, the CLI and the storage queries alike.

Wide enough for any recorded call, narrow enough that the end of a day (the next midnight) and a shift
into any time zone stay representable: the day after 9999-12-31 does not exist, and asking for it was a
crash (a 500 in the web app, a traceback in the CLI) instead of a clear refusal.
"""
from __future__ import annotations

from datetime import date, datetime

from callreview.storage.errors import StorageError

FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2999, 12, 31)


class DateOutOfRange(StorageError, ValueError):
    def __init__(self, name: str, value: date | datetime):
        self.name, self.value = name, value
        shown = value.date() if isinstance(value, datetime) else value
        super().__init__(f"{name} must be a day from {FIRST_DAY} to {LAST_DAY}, got {shown}")


def check_day(name: str, value: date | datetime | None) -> None:
    """Raise DateOutOfRange when `value` (a day or an instant) lies outside FIRST_DAY..LAST_DAY."""
    if value is None:
        return
    day = value.date() if isinstance(value, datetime) else value
    if not FIRST_DAY <= day <= LAST_DAY:
        raise DateOutOfRange(name, value)
