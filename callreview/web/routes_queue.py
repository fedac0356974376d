"""The review queue (reviewers only): list with filters and sorting, claim and release an item."""
from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from callreview.core.policy import REASONS
from callreview.service.auth import Principal
from callreview.web.deps import DbDep, WebDep, require, require_form
from callreview.web.query import ItemId, choice, parse_day
from callreview.web.queue_view import SEVERITY_RANK, SORTS, QueueFilters, queue_entries
from callreview.web.templating import render
from callreview.storage.audit import record_event
from callreview.storage.dispositions import ItemNotAvailable, call_id_of_item, claim_item, release_item
from callreview.storage.queue import list_items
from callreview.storage.tables import utcnow

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
    rows = list_items(db, status=None if filters.status == "all" else filters.status)
    now = utcnow()
    entries = queue_entries(rows, filters, now=now, zone=web.zone, stale_before=now - web.claim_lifetime)
    record_event(db, actor=principal.actor, action="view_queue", object_type="queue", object_id=filters.status,
                 detail={"filters": {k: str(v) for k, v in vars(filters).items() if v}, "items": len(entries)})
    db.commit()
    officers = sorted({r.commanding_officer for r in rows if r.commanding_officer})
    return render(request, "queue.html", {"entries": entries, "filters": filters, "sorts": SORTS,
                                          "severities": tuple(SEVERITY_RANK), "officers": officers})


@router.post("/items/{item_id}/claim")
def claim(item_id: ItemId, db: DbDep, web: WebDep,
          principal: Annotated[Principal, Depends(require_form("work_queue"))]):
    call_id = call_id_of_item(db, item_id)
    try:
        taken = claim_item(db, item_id, principal.username, stale_before=utcnow() - web.claim_lifetime)
    except ItemNotAvailable as exc:
        db.rollback()
        record_event(db, actor=principal.actor, action="claim_item", object_type="review_item", object_id=item_id,
                     outcome="conflict", detail={"call_id": call_id, "problem": exc.problem})
        db.commit()
        raise
    detail = {"call_id": call_id}
    if taken.expired_claim_of:
        detail["expired_claim_of"] = taken.expired_claim_of
    record_event(db, actor=principal.actor, action="claim_item", object_type="review_item", object_id=item_id,
                 detail=detail)
    db.commit()
    return RedirectResponse(f"/calls/{quote(call_id, safe='')}?msg=claimed", status_code=303)


@router.post("/items/{item_id}/release")
def release(item_id: ItemId, db: DbDep, principal: Annotated[Principal, Depends(require_form("work_queue"))]):
    call_id = call_id_of_item(db, item_id)
    try:
        release_item(db, item_id, principal.username)
    except ItemNotAvailable as exc:
        db.rollback()
        record_event(db, actor=principal.actor, action="release_item", object_type="review_item",
                     object_id=item_id, outcome="conflict", detail={"call_id": call_id, "problem": exc.problem})
        db.commit()
        raise
    record_event(db, actor=principal.actor, action="release_item", object_type="review_item", object_id=item_id,
                 detail={"call_id": call_id})
    db.commit()
    return RedirectResponse("/queue?msg=released", status_code=303)
