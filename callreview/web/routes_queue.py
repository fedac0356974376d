"""The review queue (reviewers only): list with filters and sorting, claim and release an item."""
from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from callreview.core.policy import REASONS
from callreview.service.auth import Principal
from callreview.service.queue import claim_item, release_item, view_queue
from callreview.service.queue_view import SEVERITY_RANK, SORTS, QueueFilters
from callreview.web.deps import DbDep, WebDep, require, require_form
from callreview.web.query import ItemId, choice, parse_day
from callreview.web.templating import render

router = APIRouter()


@router.get("/queue")
def queue_page(request: Request, db: DbDep, web: WebDep,
               principal: Annotated[Principal, Depends(require("work_queue"))],
               status: str | None = None, reason: str | None = None, officer: str | None = None,
               date_from: str | None = None, date_to: str | None = None, severity: str | None = None,
               sort: str | None = None):
    filters = QueueFilters(status=choice("status", status, ("open", "closed", "all"), "open"),
                           reason=choice("reason", reason, REASONS), officer=(officer or "").strip() or None,
                           date_from=parse_day("date_from", date_from), date_to=parse_day("date_to", date_to),
                           severity=choice("severity", severity, tuple(SEVERITY_RANK)),
                           sort=choice("sort", sort, tuple(SORTS), "severity"))
    page = view_queue(db, principal.actor, filters.status, filters=filters, zone=web.zone,
                      claim_lifetime=web.claim_lifetime, viewer=principal.username)
    return render(request, "queue.html", {"entries": page.entries, "filters": filters, "sorts": SORTS,
                                          "severities": tuple(SEVERITY_RANK), "officers": page.officers})


@router.get("/adjudication")
def adjudication_page(request: Request, db: DbDep, web: WebDep,
                      principal: Annotated[Principal, Depends(require("adjudicate"))]):
    """A lead's queue: the items whose two reviewers disagreed, oldest first."""
    page = view_queue(db, principal.actor, "adjudication", zone=web.zone, viewer=principal.username)
    return render(request, "adjudication.html", {"entries": page.entries})


@router.post("/items/{item_id}/claim")
def claim(item_id: ItemId, db: DbDep, web: WebDep,
          principal: Annotated[Principal, Depends(require_form("work_queue"))]):
    call_id = claim_item(db, principal.actor, item_id, reviewer=principal.username, claim_lifetime=web.claim_lifetime)
    return RedirectResponse(f"/calls/{quote(call_id, safe='')}?msg=claimed", status_code=303)


@router.post("/items/{item_id}/release")
def release(item_id: ItemId, db: DbDep, principal: Annotated[Principal, Depends(require_form("work_queue"))]):
    release_item(db, principal.actor, item_id, reviewer=principal.username)
    return RedirectResponse("/queue?msg=released", status_code=303)
