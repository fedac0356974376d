"""Retention's storage side: the rows and files a purge removes, and the queries that find them.

Nothing here decides whether a call may go, audits, or commits: `callreview.service.custody.purge` does,
one call per transaction. What a purge removes and keeps is described there.
"""
from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import delete, func
from sqlmodel import Session, select

from callreview.storage.archive import archive_relative_path
from callreview.storage.custody import PURGED
from callreview.storage.tables import (AssessmentRecord, Call, GapRecord, Quarantine, ReviewItem, SegmentRecord,
                                       TagRecord, TranscriptRecord, utcnow)


def calls_taken_in_before(session: Session, before) -> list[Call]:
    """Every call taken in (`created_at`) strictly before `before`, oldest key first."""
    return list(session.exec(select(Call).where(Call.created_at < before).order_by(Call.id)).all())


def open_item_ids(session: Session, call_pk: int) -> list[int]:
    """The ids of the call's open review items, ascending."""
    return sorted(session.exec(select(ReviewItem.id).where(ReviewItem.call_pk == call_pk,
                                                           ReviewItem.status == "open")).all())


def _material(call_pk: int):
    transcript_ids = select(TranscriptRecord.id).where(TranscriptRecord.call_pk == call_pk)
    assessment_ids = select(AssessmentRecord.id).where(AssessmentRecord.call_pk == call_pk)
    return {"segments": (SegmentRecord, SegmentRecord.transcript_pk.in_(transcript_ids)),
            "gaps": (GapRecord, GapRecord.transcript_pk.in_(transcript_ids)),
            "tags": (TagRecord, TagRecord.assessment_pk.in_(assessment_ids))}


def material_counts(session: Session, call_pk: int) -> dict[str, int]:
    """How many segments, gaps and tags (the words of the call) a purge of the call removes."""
    return {name: session.exec(select(func.count()).select_from(table).where(where)).one()
            for name, (table, where) in _material(call_pk).items()}


def strip_call(session: Session, call: Call) -> None:
    """Delete the call's words (segments, gaps, tags) and mark it purged; the caller commits."""
    for table, where in _material(call.id).values():
        session.exec(delete(table).where(where))
    call.status, call.updated_at = PURGED, utcnow()
    session.add(call)
    session.flush()


def quarantined_copies(session: Session, before) -> list[Quarantine]:
    """Refusals recorded before `before` whose copy of the file is still in the quarantine folder."""
    return list(session.exec(select(Quarantine).where(Quarantine.created_at < before,
                                                      Quarantine.quarantine_path.is_not(None))
                             .order_by(Quarantine.id)).all())


def forget_quarantine_copy(session: Session, row: Quarantine) -> None:
    """The refusal stays, with its reason; only the path of its copy goes. The caller commits."""
    row.quarantine_path = None
    session.add(row)
    session.flush()


def remove_archived(archive_dir: Path, call: Call) -> str | None:
    """Delete the call's archived recording; return why not, or None."""
    # The path comes from the database: delete only what the call's own SHA-256 names, so an edited row
    # can never make a purge delete some other file.
    if call.archive_path != archive_relative_path(call.sha256, Path(call.archive_path).suffix):
        return "archive path does not match the call's SHA-256; not removed (run `callreview verify`)"
    return _remove(Path(archive_dir) / call.archive_path)


def archived_file_exists(archive_dir: Path, call: Call) -> bool:
    return os.path.lexists(Path(archive_dir) / call.archive_path)


def remove_quarantined(quarantine_dir: Path, stored: str) -> str | None:
    """Delete a quarantined copy; return why not, or None."""
    # As above: only a plain file directly inside the quarantine folder, whatever the row says, and
    # never the reason beside it.
    target = Path(quarantine_dir) / Path(stored).name
    if target.name.endswith(".reason.txt") or (os.path.lexists(target) and not target.is_file()) \
            or target.is_symlink():
        return "not a quarantined copy; not removed"
    return _remove(target)


def _remove(path: Path) -> str | None:
    """Delete one file; return why not, or None. A file already gone counts as removed."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"could not remove: {exc.strerror or exc}"
    return None
