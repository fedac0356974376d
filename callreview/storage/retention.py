"""Retention: remove a call's audio and transcript once it has been kept long enough.

What a purge removes ("transcripts and audio"):
- the archived recording, and quarantined copies of refused files;
- every transcript version's segments (text, words, timings) and gaps;
- the call's tags, because each tag quotes the transcript.
What it keeps, forever:
- the Call row, as a tombstone with status `purged` (its SHA-256 still says what was held);
- the transcript and assessment rows (engine, version, verdict, reasons: no words of the call), so review
  items, which point at assessments, and their dispositions stay whole;
- the decision log, review items, dispositions, and the audit log (never deleted by anything).

A call is purged only when it was taken in (`created_at`) before the cutoff, has been assessed, and has
no open review item. Calls are purged one transaction each, audit event included; the file goes after
the commit, so a crash leaves at worst a purged call's file behind, which `callreview verify` reports
and the next purge removes, never a live call without its audio.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, func
from sqlmodel import Session, select

from callreview.storage.archive import archive_relative_path
from callreview.storage.audit import record_event
from callreview.storage.custody import PURGED
from callreview.storage.errors import SettingError
from callreview.storage.tables import (AssessmentRecord, Call, GapRecord, Quarantine, ReviewItem, SegmentRecord, TagRecord,
                            TranscriptRecord, utcnow)


@dataclass(frozen=True)
class PurgedCall:
    call_id: str
    sha256: str
    archive_path: str
    created_at: datetime
    segments: int
    gaps: int
    tags: int
    file_removed: bool
    file_error: str | None = None


@dataclass(frozen=True)
class KeptCall:
    call_id: str
    reason: str


@dataclass(frozen=True)
class PurgedQuarantine:
    quarantine_id: int
    original_name: str
    path: str
    file_removed: bool
    file_error: str | None = None


@dataclass(frozen=True)
class PurgeReport:
    """What `purge_before` removed (or, with `dry_run`, would remove) and what it kept on purpose."""

    before: datetime
    dry_run: bool
    purged: tuple[PurgedCall, ...]
    kept: tuple[KeptCall, ...]
    quarantine: tuple[PurgedQuarantine, ...]

    @property
    def errors(self) -> list[str]:
        return [f"{p.archive_path}: {p.file_error}" for p in self.purged if p.file_error] + \
               [f"{q.path}: {q.file_error}" for q in self.quarantine if q.file_error]

    def to_dict(self) -> dict:
        data = asdict(self)
        data["errors"] = self.errors
        return data


def retention_cutoff(settings, now: datetime | None = None) -> datetime | None:
    """The newest intake time the retention setting lets a purge reach, or None when it is unset."""
    if settings.retention_days is None:
        return None
    return (now or utcnow()) - timedelta(days=settings.retention_days)


def purge_before(session: Session, settings, before: datetime, actor: str, *, dry_run: bool = False) -> PurgeReport:
    """Remove the audio and transcript of every call taken in before `before` that may go.

    Args:
        session: an open session; each call is committed on its own.
        settings: StorageSettings (archive and quarantine folders, `retention_days`).
        before: timezone-aware cutoff; calls taken in strictly before it are candidates.
        actor: who the audit log names.
        dry_run: report what would go, remove nothing (the run itself is still audited).

    Returns:
        A PurgeReport.

    Raises:
        SettingError: `before` is later than `retention_days` allows.
        ValueError: `before` has no timezone.
    """
    if before.tzinfo is None:
        raise ValueError("purge cutoff must be timezone-aware")
    floor = retention_cutoff(settings)
    if floor is not None and before > floor:
        raise SettingError(f"--before {before.isoformat()} would remove calls younger than the retention period "
                           f"(CALLREVIEW_RETENTION_DAYS={settings.retention_days}, so at the latest "
                           f"{floor.isoformat(timespec='seconds')})")
    archive_dir = Path(settings.archive_dir)
    purged: list[PurgedCall] = []
    kept: list[KeptCall] = []
    candidates = session.exec(select(Call).where(Call.created_at < before).order_by(Call.id)).all()
    for call in candidates:
        if call.status == PURGED:
            leftover = _leftover_file(session, archive_dir, call, actor, dry_run)
            if leftover is not None:
                purged.append(leftover)
            continue
        reason = _reason_to_keep(session, call)
        if reason is not None:
            kept.append(KeptCall(call.call_id, reason))
            continue
        purged.append(_purge_call(session, archive_dir, call, actor, dry_run))
    removed_quarantine = _purge_quarantine(session, Path(settings.quarantine_dir), before, actor, dry_run)
    report = PurgeReport(before=before, dry_run=dry_run, purged=tuple(purged), kept=tuple(kept),
                         quarantine=tuple(removed_quarantine))
    record_event(session, actor=actor, action="purge_run", object_type="archive", object_id=before.isoformat(),
                 outcome="dry_run" if dry_run else ("error" if report.errors else "ok"),
                 detail={"before": before.isoformat(), "purged": [p.call_id for p in purged],
                         "kept": {k.call_id: k.reason for k in kept},
                         "quarantine_removed": [q.quarantine_id for q in removed_quarantine],
                         "errors": report.errors})
    session.commit()
    return report


def _reason_to_keep(session: Session, call: Call) -> str | None:
    open_items = session.exec(select(ReviewItem.id).where(ReviewItem.call_pk == call.id,
                                                          ReviewItem.status == "open")).all()
    if open_items:
        return f"open review item {', '.join(f'#{i}' for i in sorted(open_items))}"
    # A call still in the pipeline has not been checked yet: removing it would lose an unreviewed call.
    if call.status != "assessed":
        return f"not assessed yet (status {call.status})"
    return None


def _purge_call(session: Session, archive_dir: Path, call: Call, actor: str, dry_run: bool) -> PurgedCall:
    transcript_ids = select(TranscriptRecord.id).where(TranscriptRecord.call_pk == call.id)
    assessment_ids = select(AssessmentRecord.id).where(AssessmentRecord.call_pk == call.id)
    segments = select(SegmentRecord).where(SegmentRecord.transcript_pk.in_(transcript_ids))
    gaps = select(GapRecord).where(GapRecord.transcript_pk.in_(transcript_ids))
    tags = select(TagRecord).where(TagRecord.assessment_pk.in_(assessment_ids))
    counts = {name: session.exec(select(func.count()).select_from(stmt.subquery())).one()
              for name, stmt in (("segments", segments), ("gaps", gaps), ("tags", tags))}
    if dry_run:
        return PurgedCall(call.call_id, call.sha256, call.archive_path, call.created_at, **counts,
                          file_removed=False)
    session.exec(delete(SegmentRecord).where(SegmentRecord.transcript_pk.in_(transcript_ids)))
    session.exec(delete(GapRecord).where(GapRecord.transcript_pk.in_(transcript_ids)))
    session.exec(delete(TagRecord).where(TagRecord.assessment_pk.in_(assessment_ids)))
    call.status, call.updated_at = PURGED, utcnow()
    session.add(call)
    record_event(session, actor=actor, action="purge", object_type="call", object_id=call.call_id,
                 detail={"sha256": call.sha256, "archive_path": call.archive_path,
                         "created_at": call.created_at.isoformat(), **counts})
    session.commit()
    error = _remove_archived(archive_dir, call)
    if error:
        _record_file_error(session, actor, call, error)
    return PurgedCall(call.call_id, call.sha256, call.archive_path, call.created_at, **counts,
                      file_removed=error is None, file_error=error)


def _leftover_file(session: Session, archive_dir: Path, call: Call, actor: str, dry_run: bool) -> PurgedCall | None:
    """A purged call whose file an earlier purge could not remove: try again."""
    if not os.path.lexists(archive_dir / call.archive_path):
        return None
    error = None if dry_run else _remove_archived(archive_dir, call)
    if not dry_run:
        record_event(session, actor=actor, action="purge_file", object_type="call", object_id=call.call_id,
                     outcome="error" if error else "ok",
                     detail={"archive_path": call.archive_path, "error": error})
        session.commit()
    return PurgedCall(call.call_id, call.sha256, call.archive_path, call.created_at, 0, 0, 0,
                      file_removed=not dry_run and error is None, file_error=error)


def _purge_quarantine(session: Session, quarantine_dir: Path, before: datetime, actor: str,
                      dry_run: bool) -> list[PurgedQuarantine]:
    """Remove copies of refused files quarantined before the cutoff; the row and its reason stay."""
    removed = []
    rows = session.exec(select(Quarantine).where(Quarantine.created_at < before,
                                                 Quarantine.quarantine_path.is_not(None))
                        .order_by(Quarantine.id)).all()
    for row in rows:
        path = row.quarantine_path
        if dry_run:
            removed.append(PurgedQuarantine(row.id, row.original_name, path, False))
            continue
        row.quarantine_path = None
        session.add(row)
        record_event(session, actor=actor, action="purge", object_type="quarantine", object_id=row.id,
                     detail={"original_name": row.original_name, "path": path, "sha256": row.sha256})
        session.commit()
        error = _remove_quarantined(quarantine_dir, path)
        if error:
            record_event(session, actor=actor, action="purge_file", object_type="quarantine", object_id=row.id,
                         outcome="error", detail={"path": path, "error": error})
            session.commit()
        removed.append(PurgedQuarantine(row.id, row.original_name, path, error is None, error))
    return removed


def _remove_archived(archive_dir: Path, call: Call) -> str | None:
    # The path comes from the database: delete only what the call's own SHA-256 names, so an edited row
    # can never make a purge delete some other file.
    if call.archive_path != archive_relative_path(call.sha256, Path(call.archive_path).suffix):
        return "archive path does not match the call's SHA-256; not removed (run `callreview verify`)"
    return _remove(archive_dir / call.archive_path)


def _remove_quarantined(quarantine_dir: Path, stored: str) -> str | None:
    # As above: only a plain file directly inside the quarantine folder, whatever the row says, and
    # never the reason beside it.
    target = quarantine_dir / Path(stored).name
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


def _record_file_error(session: Session, actor: str, call: Call, error: str) -> None:
    record_event(session, actor=actor, action="purge_file", object_type="call", object_id=call.call_id,
                 outcome="error", detail={"archive_path": call.archive_path, "error": error})
    session.commit()
