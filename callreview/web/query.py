"""Reading values from requests: query strings from HTML forms (which send empty strings for empty
fields) and ids in paths.

A value the app cannot use raises `BadInput` (or FastAPI's validation error, for the typed path and
query parameters below); `errors.py` turns either into a 422 page and an audit row that names the input.
"""
from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import HTTPException, Path, Query

from callreview.storage.dates import DateOutOfRange, check_day

# Ids are PostgreSQL `integer` columns; a larger number cannot name a row, and SQLite overflows on it.
MAX_ID = 2 ** 31 - 1
ItemId = Annotated[int, Path(ge=1, le=MAX_ID, description="A review item's id.")]
# Far beyond any audit log (a million pages), and small enough that page * page size stays an integer.
MAX_PAGE = 1_000_000
PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE, description="1-based page number.")]


class BadInput(HTTPException):
    """A query-string value the app cannot use: a 422 page, and an audit row naming `name`."""

    def __init__(self, name: str, value: str, problem: str):
        self.name, self.value = name, value
        super().__init__(422, problem)


def parse_day(name: str, value: str | None) -> date | None:
    """A YYYY-MM-DD value from storage.dates.FIRST_DAY to LAST_DAY, or None when empty."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise BadInput(name, value, f"{name} must be a date like 2017-06-05, got {value!r}") from None
    try:
        check_day(name, day)
    except DateOutOfRange as exc:
        raise BadInput(name, value, str(exc)) from None
    return day


def choice(name: str, value: str | None, allowed, default: str | None = None) -> str | None:
    """`value` if it is one of `allowed`, `default` when empty; anything else is refused."""
    if not value:
        return default
    if value not in allowed:
        raise BadInput(name, value, f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value
