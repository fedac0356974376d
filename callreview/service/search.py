"""Searching the transcripts: every search is one audit row, also when the query cannot be read.

`search_calls` runs `callreview.storage.search` (words through the full-text index; with
`filters_alone`, a blank query lists the calls that pass the filters) and writes the `search` row in
the same transaction. The audit detail keeps what the person asked for, in the shape their tool has
always written it (see `search_calls`).
"""
from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session

from callreview.service.audited import commit_event
from callreview.storage.dates import DateOutOfRange, check_period
from callreview.storage.search import InvalidSearchQuery, SearchHit, list_matching_calls, search


def search_calls(session: Session, actor: str, query: str, *, tag: str | None = None, officer: str | None = None,
                 date_from: date | datetime | None = None, date_to: date | datetime | None = None,
                 decision: str | None = None, verdict: str | None = None, limit: int = 50,
                 asked: dict | None = None, filters_alone: bool = False,
                 day_names: tuple[str, str] = ("date_from", "date_to")) -> list[SearchHit]:
    """Search the current transcripts, audited as `search` (object `transcripts`/QUERY).

    Shared by the search page (`GET /search`) and `callreview search`. Filters mean the same in both
    (`callreview.storage.search.search`): `tag` keeps calls where that kind *counts* in the current
    assessment (a mention with no qualifier), so a door knock only refused or negated does not match.

    The audit detail:
    - `asked` not given (the CLI): `{"filters": {tag, officer, date_from, date_to, decision, verdict},
      "hits": N}`; a refused query or date: `{"filters": ..., "error": MESSAGE}`.
    - `asked` given (the web form, its fields as the user filled them in): `{"query": {FIELD: VALUE, ...
      non-empty fields only}, "hits": N}`, with `"hits": 0` for a refused query.
    Outcome: `ok`, `invalid_query`, or `invalid_date_from` / `invalid_date_to` for a day out of range.

    Args:
        session: an open session; committed once, with the audit event.
        actor: who searches, as the audit log names them.
        query: words, "exact phrases", prefix*, AND/OR/NOT, parentheses.
        tag, officer, date_from, date_to, decision, verdict: call filters (see storage.search.search; a
            date is a whole UTC day, a datetime an instant, `date_to` excluded).
        limit: the most hits returned.
        asked: the search form as submitted, for the audit row (the web app).
        filters_alone: a blank query lists one hit per call that passes the filters
            (`list_matching_calls`) instead of being refused for having no words.
        day_names: how the caller names the two dates in messages (the CLI's `--from` and `--to`).

    Returns:
        The hits, best first (or, for filters alone, newest call first).

    Raises:
        InvalidSearchQuery: the query cannot be read (audited first).
        DateOutOfRange: a date filter outside 1900-01-01..2999-12-31 (audited first).
    """
    filters = {"tag": tag, "officer": officer, "date_from": date_from, "date_to": date_to, "decision": decision,
               "verdict": verdict}
    try:
        check_period(date_from, date_to, day_names)
        if filters_alone and not query.strip():
            hits = list_matching_calls(session, limit=limit, **filters)
        else:
            hits = search(session, query, limit=limit, **filters)
    except (InvalidSearchQuery, DateOutOfRange) as exc:
        session.rollback()
        outcome = f"invalid_{exc.field}" if isinstance(exc, DateOutOfRange) else "invalid_query"
        _record(session, actor, query, outcome, _detail(asked, filters, hits=0, error=str(exc)))
        raise
    _record(session, actor, query, "ok", _detail(asked, filters, hits=len(hits)))
    return hits


def _detail(asked: dict | None, filters: dict, *, hits: int, error: str | None = None) -> dict:
    if asked is not None:
        return {"query": {k: str(v) for k, v in asked.items() if v}, "hits": hits}
    return {"filters": filters, "error": error} if error is not None else {"filters": filters, "hits": hits}


def _record(session: Session, actor: str, query: str, outcome: str, detail: dict) -> None:
    commit_event(session, actor=actor, action="search", object_type="transcripts", object_id=query, outcome=outcome,
                 detail=detail)
