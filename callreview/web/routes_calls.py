"""The call page, its audio, and dispositions.

The audio route takes only a call id: the file is found through the database row (`Call.archive_path`
under the archive folder), so no part of a request ever becomes part of a file path. Starlette's
FileResponse answers Range requests (206 + Content-Range), which the audio element needs to seek.
"""
from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse

from callreview.service.call_detail import call_detail
from callreview.service.auth import Principal
from callreview.web.deps import DbDep, StorageDep, WebDep, require, require_form
from callreview.web.query import ItemId
from callreview.web.transcript_view import transcript_findings, transcript_timeline
from callreview.web.templating import render
from callreview.storage.audit import record_event
from callreview.storage.calls import find_call
from callreview.storage.dispositions import (InvalidDisposition, ItemNotAvailable, add_disposition, call_id_of_item,
                                  claim_expired)
from callreview.storage.tables import utcnow

router = APIRouter()

MEDIA_TYPES = {"wav": "audio/wav", "mp3": "audio/mpeg", "m4a": "audio/mp4", "ogg": "audio/ogg",
               "flac": "audio/flac"}


def _open_item(detail: dict) -> dict | None:
    return next((i for i in detail["review_items"] if i["status"] == "open"), None)


@router.get("/calls/{call_id}")
def call_page(call_id: str, request: Request, db: DbDep, web: WebDep,
              principal: Annotated[Principal, Depends(require("read_calls"))]):
    detail = call_detail(db, call_id)
    record_event(db, actor=principal.actor, action="view_call", object_type="call", object_id=call_id,
                 outcome="ok" if detail else "not_found")
    db.commit()
    if detail is None:
        raise HTTPException(404, f"No call with id {call_id!r}.")
    item = _open_item(detail)
    expired = item is not None and bool(item["claimed_by"]) and claim_expired(
        datetime.fromisoformat(item["claimed_at"]) if item["claimed_at"] else None, utcnow() - web.claim_lifetime)
    may_dispose = (principal.role == "reviewer" and item is not None
                   and (item["claimed_by"] in (None, principal.username) or expired))
    return render(request, "call.html", {
        "call": detail, "timeline": transcript_timeline(detail), "findings": transcript_findings(detail),
        "open_item": item, "claim_expired": expired, "may_dispose": may_dispose,
        "audio_url": f"/calls/{quote(call_id, safe='')}/audio"})


@router.get("/calls/{call_id}/audio")
def call_audio(call_id: str, request: Request, db: DbDep, storage: StorageDep,
               principal: Annotated[Principal, Depends(require("read_calls"))]):
    call = find_call(db, call_id)
    problem = None
    if call is None:
        problem = "not_found"
    else:
        archive = storage.archive_dir.resolve()
        path = (archive / call.archive_path).resolve()
        # The row should always point inside the archive; a row that does not (a bad restore, tampering)
        # must not turn this route into a file reader for the whole disk.
        if not path.is_relative_to(archive):
            problem = "outside_archive"
        elif not path.is_file():
            problem = "missing_file"
    record_event(db, actor=principal.actor, action="download_audio", object_type="call", object_id=call_id,
                 outcome="ok" if problem is None else problem,
                 detail={"range": request.headers.get("range"), "sha256": call.sha256 if call else None})
    db.commit()
    if problem == "not_found":
        raise HTTPException(404, f"No call with id {call_id!r}.")
    if problem is not None:
        raise HTTPException(404, f"The recording of call {call_id!r} is not in the archive ({problem}); "
                                 "run `callreview verify`.")
    filename = f"{call.call_id}.{call.format}"
    return FileResponse(path, media_type=MEDIA_TYPES.get(call.format, "application/octet-stream"),
                        content_disposition_type="inline", filename=filename,
                        headers={"X-Content-SHA256": call.sha256})


@router.post("/items/{item_id}/disposition")
def dispose(item_id: ItemId, db: DbDep, web: WebDep,
            principal: Annotated[Principal, Depends(require_form("work_queue"))],
            disposition: Annotated[str, Form()] = "", note: Annotated[str, Form(max_length=20000)] = ""):
    call_id = call_id_of_item(db, item_id)
    try:
        add_disposition(db, item_id, reviewer=principal.username, disposition=disposition, note=note,
                        stale_before=utcnow() - web.claim_lifetime)
    except (ItemNotAvailable, InvalidDisposition) as exc:
        db.rollback()
        record_event(db, actor=principal.actor, action="dispose", object_type="review_item", object_id=item_id,
                     outcome="conflict" if isinstance(exc, ItemNotAvailable) else "invalid",
                     detail={"call_id": call_id, "disposition": disposition, "problem": exc.problem})
        db.commit()
        raise
    # The note goes into the hash-chained log too, so a later edit of the disposition row shows.
    record_event(db, actor=principal.actor, action="dispose", object_type="review_item", object_id=item_id,
                 detail={"call_id": call_id, "disposition": disposition, "note": note.strip()})
    db.commit()
    return RedirectResponse(f"/calls/{quote(call_id, safe='')}?msg=disposed", status_code=303)
