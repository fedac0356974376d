"""Reading one call: its page (`view_call`) and its recording (`open_recording`), each audited.

Each function writes one audit event and commits it before it returns or raises: a refused read (an
unknown call, a recording missing from the archive) is evidence too. The caller turns the errors below
into its own answer (a 404 page, a CLI message).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session

from callreview.core.errors import ReviewError
from callreview.service.audited import commit_event
from callreview.service.call_detail import call_detail
from callreview.storage.calls import find_call


class CallNotFound(ReviewError, LookupError):
    def __init__(self, call_id: str):
        self.call_id = call_id
        super().__init__(f"no call with id {call_id!r}")


class RecordingNotAvailable(ReviewError, LookupError):
    """The call exists but its recording cannot be served: `problem` is outside_archive or missing_file."""

    def __init__(self, call_id: str, problem: str):
        self.call_id, self.problem = call_id, problem
        super().__init__(f"call {call_id}: the recording is not in the archive ({problem}); run `callreview verify`")


def view_call(session: Session, actor: str, call_id: str) -> dict:
    """Everything a reviewer sees about one call (`call_detail`), audited as `view_call`.

    Shared by the call page (`GET /calls/CALL_ID`) and `callreview show CALL_ID`: both write the same
    row (object `call`/CALL_ID, outcome `ok` or `not_found`, no detail).

    Args:
        session: an open session; committed once, with the audit event.
        actor: who reads, as the audit log names them (`web:NAME`, `cli:NAME`).
        call_id: the call's id.

    Returns:
        The call detail dict (see `callreview.service.call_detail.call_detail`).

    Raises:
        CallNotFound: no such call (the refusal is audited first).
    """
    detail = call_detail(session, call_id)
    commit_event(session, actor=actor, action="view_call", object_type="call", object_id=call_id,
                 outcome="ok" if detail else "not_found")
    if detail is None:
        raise CallNotFound(call_id)
    return detail


@dataclass(frozen=True)
class Recording:
    """An archived recording, checked to lie inside the archive folder."""

    call_id: str
    path: Path
    format: str
    sha256: str


def open_recording(session: Session, actor: str, call_id: str, *, archive_dir: Path,
                   byte_range: str | None = None) -> Recording:
    """Find a call's archived recording for playback, audited as `download_audio`.

    The file is found through the call's row (`archive_path` under `archive_dir`), never through
    anything the requester typed, so no request can name a file of its own.

    Args:
        session: an open session; committed once, with the audit event.
        actor: who listens, as the audit log names them.
        call_id: the call's id.
        archive_dir: the archive folder (storage settings).
        byte_range: the HTTP Range header asked for, kept in the audit detail (seeking is evidence of
            what was listened to).

    Raises:
        CallNotFound: no such call.
        RecordingNotAvailable: the row points outside the archive, or the file is gone.
    """
    call = find_call(session, call_id)
    problem, path = None, None
    if call is None:
        problem = "not_found"
    else:
        archive = archive_dir.resolve()
        path = (archive / call.archive_path).resolve()
        # The row should always point inside the archive; a row that does not (a bad restore, tampering)
        # must not turn this into a file reader for the whole disk.
        if not path.is_relative_to(archive):
            problem = "outside_archive"
        elif not path.is_file():
            problem = "missing_file"
    commit_event(session, actor=actor, action="download_audio", object_type="call", object_id=call_id,
                 outcome="ok" if problem is None else problem,
                 detail={"range": byte_range, "sha256": call.sha256 if call else None})
    if call is None:
        raise CallNotFound(call_id)
    if problem is not None:
        raise RecordingNotAvailable(call_id, problem)
    return Recording(call_id=call.call_id, path=path, format=call.format, sha256=call.sha256)
