"""Transcript search for supervisors and reviewers; every search is written to the audit log.

Words go through the full-text index; filters without words list one line per matching call. A tag
filter keeps calls where that kind counts (a mention with no qualifier), as `callreview search --tag`
does (callreview/storage/search.py).
"""
from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from callreview.core.mentions import KINDS
from callreview.core.policy import VERDICTS
from callreview.core.vocabulary import Decision
from callreview.service.auth import Principal
from callreview.service.search import search_calls
from callreview.storage.search import InvalidSearchQuery
from callreview.web.deps import DbDep, WebDep, require
from callreview.web.query import choice, parse_day
from callreview.web.templating import render

router = APIRouter()
DECISIONS = (*Decision, "none")  # none: no decision was logged


@router.get("/search")
def search_page(request: Request, db: DbDep, web: WebDep, principal: Annotated[Principal, Depends(require("search"))],
                q: str = "", tag: str | None = None, officer: str | None = None, date_from: str | None = None,
                date_to: str | None = None, decision: str | None = None, verdict: str | None = None):
    form = {"q": q.strip(), "tag": choice("tag", tag, KINDS), "officer": (officer or "").strip() or None,
            "date_from": parse_day("date_from", date_from), "date_to": parse_day("date_to", date_to),
            "decision": choice("decision", decision, DECISIONS), "verdict": choice("verdict", verdict, VERDICTS)}
    asked = any(v for v in form.values())
    hits, error = None, None
    if asked:
        zone = web.zone
        # Dates are whole days in the app's time zone: from the start of date_from to the end of date_to.
        start = datetime.combine(form["date_from"], time.min, zone) if form["date_from"] else None
        stop = datetime.combine(form["date_to"] + timedelta(days=1), time.min, zone) if form["date_to"] else None
        try:
            hits = search_calls(db, principal.actor, form["q"], tag=form["tag"], officer=form["officer"],
                                date_from=start, date_to=stop, decision=form["decision"], verdict=form["verdict"],
                                limit=web.page_size, asked=form, filters_alone=True)
        except InvalidSearchQuery as exc:
            error, hits = str(exc), []
    return render(request, "search.html", {"form": form, "hits": hits, "error": error, "decisions": DECISIONS,
                                           "limit": web.page_size})
