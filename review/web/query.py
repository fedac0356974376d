"""Reading query-string values from HTML forms, which send empty strings for empty fields."""
from __future__ import annotations

from datetime import date

from fastapi import HTTPException


def parse_day(name: str, value: str | None) -> date | None:
    """A YYYY-MM-DD value, or None when empty."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise HTTPException(422, f"{name} must be a date like 2017-06-05, got {value!r}") from None


def choice(name: str, value: str | None, allowed, default: str | None = None) -> str | None:
    """`value` if it is one of `allowed`, `default` when empty; anything else is refused."""
    if not value:
        return default
    if value not in allowed:
        raise HTTPException(422, f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value
