"""The call page, its audio, and dispositions.

The audio route takes only a call id: `callreview.service.calls.open_recording` finds the file through
the database row, so no part of a request ever becomes part of a file path. Starlette's FileResponse
answers Range requests (206 + Content-Range), which the audio element needs to seek.
"""
from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from callreview.service.auth import Principal
from callreview.service.calls import open_recording, view_call
from callreview.service.conflicts import recusal
from callreview.service.corrections import correct_segment, versions_of, word_diff
from callreview.service.packet import export_packet
from callreview.service.queue import adjudicate_item, dispose_item, item_status
from callreview.web.deps import DbDep, RulesDep, StorageDep, WebDep, require, require_form
from callreview.web.query import ItemId
from callreview.web.transcript_view import transcript_findings, transcript_timeline
from callreview.web.templating import render
from callreview.storage.dispositions import claim_expired
from callreview.storage.dates import parse_instant, utcnow

router = APIRouter()

MEDIA_TYPES = {"wav": "audio/wav", "mp3": "audio/mpeg", "m4a": "audio/mp4", "ogg": "audio/ogg",
               "flac": "audio/flac"}


def _open_item(detail: dict) -> dict | None:
    return next((i for i in detail["review_items"] if i["status"] in ("open", "adjudication")), None)


def _hidden_findings(detail: dict, item: dict | None) -> dict:
    """Blind double review: while an item is still open, the first finding on it is shown to nobody."""
    if item is None or item["status"] != "open":
        return detail
    hidden = [d for d in detail["dispositions"] if d["item"] == item["id"] and d["stage"] in ("first", "second")]
    return {**detail, "dispositions": [d for d in detail["dispositions"] if d not in hidden],
            "hidden_findings": len(hidden)}


@router.get("/calls/{call_id}")
def call_page(call_id: str, request: Request, db: DbDep, web: WebDep,
              principal: Annotated[Principal, Depends(require("read_calls"))]):
    detail = view_call(db, principal.actor, call_id)
    item = _open_item(detail)
    first_by_me = item is not None and any(d["item"] == item["id"] and d["stage"] == "first"
                                           and d["reviewer"] == principal.username for d in detail["dispositions"])
    detail = _hidden_findings(detail, item)
    expired = item is not None and bool(item["claimed_by"]) and claim_expired(
        parse_instant(item["claimed_at"]) if item["claimed_at"] else None, utcnow() - web.claim_lifetime)
    conflict = recusal(db, principal.username, (detail["log"] or {}).get("commanding_officer"))
    may_dispose = (principal.role == "reviewer" and item is not None and item["status"] == "open"
                   and conflict is None and not first_by_me
                   and (item["claimed_by"] in (None, principal.username) or expired))
    may_adjudicate = (principal.role == "lead" and item is not None and item["status"] == "adjudication"
                      and conflict is None)
    return render(request, "call.html", {
        "call": detail, "timeline": transcript_timeline(detail), "findings": transcript_findings(detail),
        "open_item": item, "claim_expired": expired, "may_dispose": may_dispose, "recused": conflict,
        "may_adjudicate": may_adjudicate, "first_by_me": first_by_me,
        "double_review": item is not None and item["severity"] in web.double_review_severities,
        "audio_url": f"/calls/{quote(call_id, safe='')}/audio",
        "packet_url": f"/calls/{quote(call_id, safe='')}/packet"})


@router.get("/calls/{call_id}/audio")
def call_audio(call_id: str, request: Request, db: DbDep, storage: StorageDep,
               principal: Annotated[Principal, Depends(require("read_calls"))]):
    recording = open_recording(db, principal.actor, call_id, archive_dir=storage.archive_dir,
                               byte_range=request.headers.get("range"))
    filename = f"{recording.call_id}.{recording.format}"
    return FileResponse(recording.path, media_type=MEDIA_TYPES.get(recording.format, "application/octet-stream"),
                        content_disposition_type="inline", filename=filename,
                        headers={"X-Content-SHA256": recording.sha256})


@router.get("/calls/{call_id}/packet")
def call_packet(call_id: str, db: DbDep, storage: StorageDep,
                principal: Annotated[Principal, Depends(require("read_calls"))]):
    """The call's evidence packet (callreview.service.packet), audited as `export_packet`."""
    packet = export_packet(db, principal.actor, call_id, storage.archive_dir, "download", lambda data: None)
    return Response(packet.data, media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{quote(call_id)}-packet.zip"',
                             "X-Manifest-SHA256": packet.manifest_sha256})


@router.post("/calls/{call_id}/segments/{segment}/correction")
def correct(call_id: str, segment: Annotated[int, Path(ge=0, le=1_000_000)], db: DbDep, rules: RulesDep,
            principal: Annotated[Principal, Depends(require_form("work_queue"))],
            text: Annotated[str, Form(max_length=5000)] = "", reason: Annotated[str, Form(max_length=2000)] = ""):
    """A reviewer's correction of one segment: a new transcript version, and the call assessed again."""
    correct_segment(db, principal.actor, principal.username, call_id, segment, text, reason, rules)
    return RedirectResponse(f"/calls/{quote(call_id, safe='')}?msg=corrected#seg-{segment}", status_code=303)


@router.get("/calls/{call_id}/versions")
def versions(call_id: str, request: Request, db: DbDep,
             principal: Annotated[Principal, Depends(require("read_calls"))]):
    """Every transcript version of the call, and what each correction changed, word by word."""
    found = versions_of(db, principal.actor, call_id)
    return render(request, "versions.html", {"call_id": call_id, "versions": found, "word_diff": word_diff})


@router.post("/items/{item_id}/disposition")
def dispose(item_id: ItemId, db: DbDep, web: WebDep,
            principal: Annotated[Principal, Depends(require_form("work_queue"))],
            disposition: Annotated[str, Form()] = "", note: Annotated[str, Form(max_length=20000)] = ""):
    call_id = dispose_item(db, principal.actor, item_id, reviewer=principal.username, disposition=disposition,
                           note=note, claim_lifetime=web.claim_lifetime, double_review=web.double_review_severities)
    status = item_status(db, item_id)
    message = {"open": "finding_recorded", "adjudication": "sent_to_adjudication"}.get(status, "disposed")
    return RedirectResponse(f"/calls/{quote(call_id, safe='')}?msg={message}", status_code=303)


@router.post("/items/{item_id}/adjudication")
def adjudicate(item_id: ItemId, db: DbDep,
               principal: Annotated[Principal, Depends(require_form("adjudicate"))],
               disposition: Annotated[str, Form()] = "", note: Annotated[str, Form(max_length=20000)] = ""):
    """A lead settles an item two reviewers disagreed on; the item closes with the lead's finding."""
    call_id = adjudicate_item(db, principal.actor, item_id, lead=principal.username, disposition=disposition, note=note)
    return RedirectResponse(f"/calls/{quote(call_id, safe='')}?msg=adjudicated", status_code=303)
