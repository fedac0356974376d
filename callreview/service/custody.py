"""Chain of custody and retention of the archive, each action audited in the transaction that does it.

- `verify`: re-hash the archive and check the audit chain (callreview.storage.custody); one `verify` event.
- `purge`: remove the audio and transcripts of calls kept long enough.
- `clean_archive_leftovers`: remove the temp files killed archive copies left behind (batch runs start here).

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
the commit, so a crash leaves at worst a purged call's file behind, which `verify` reports and the next
purge removes, never a live call without its audio.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlmodel import Session

from callreview.service.audited import commit_event
from callreview.storage import retention as store
from callreview.storage.archive import remove_stale_incoming
from callreview.storage.custody import PURGED, CustodyReport, verify_archive
from callreview.storage.errors import SettingError
from callreview.storage.settings import StorageSettings
from callreview.storage.tables import Call, utcnow


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
    """What `purge` removed (or, with `dry_run`, would remove) and what it kept on purpose."""

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


def verify(session: Session, actor: str, storage: StorageSettings, *, reading: Session | None = None) -> CustodyReport:
    """Re-hash every archived recording and check the audit chain, its checkpoints and the evidence rows;
    record the check as one `verify` event.

    The checks read through `reading` when given (a read-only snapshot: hashing the archive can take long
    and must not hold up writers); the event is written through `session` in a short transaction. Its
    outcome is `ok` or `problems`, and its detail names every file, audit row and evidence row found wrong.
    """
    report = verify_archive(reading or session, storage)
    commit_event(session, actor=actor, action="verify", object_type="archive", object_id=report.archive_dir,
                 outcome="ok" if report.ok else "problems",
                 detail={"checked": report.checked, "verified": report.verified,
                         "missing": [p.path for p in report.missing], "altered": [p.path for p in report.altered],
                         "orphaned": [p.path for p in report.orphaned],
                         "leftovers": [p.path for p in report.leftovers],
                         "audit_problems": [p.event_id for p in report.audit_problems],
                         "checkpoint_problems": [p.problem for p in report.checkpoint_problems],
                         "evidence_problems": [[p.table, p.row_id] for p in report.evidence_problems],
                         "audit_rows": report.audit_rows, "audit_head": report.audit_head,
                         "anchored_rows": report.anchored_rows})
    return report


def retention_cutoff(settings: StorageSettings, now: datetime | None = None) -> datetime | None:
    """The newest intake time the retention setting lets a purge reach, or None when it is unset."""
    if settings.retention_days is None:
        return None
    return (now or utcnow()) - timedelta(days=settings.retention_days)


def purge(session: Session, actor: str, storage: StorageSettings, before: datetime, *,
          dry_run: bool = False) -> PurgeReport:
    """Remove the audio and transcript of every call taken in before `before` that may go (module docstring).

    Each call purged is one `purge` event (object `call`), committed with its removal; each quarantined copy
    removed one `purge` event (object `quarantine`); a file that cannot be removed one `purge_file` event
    (outcome `error`); and the run itself one `purge_run` event (outcome `ok`, `error` or `dry_run`).

    Args:
        session: an open session; each call is committed on its own.
        actor: who the audit log names.
        storage: the archive and quarantine folders, and `retention_days`.
        before: timezone-aware cutoff; calls taken in strictly before it are candidates.
        dry_run: report what would go, remove nothing (the run itself is still audited).

    Raises:
        SettingError: `before` is later than `retention_days` allows.
        ValueError: `before` has no timezone.
    """
    if before.tzinfo is None:
        raise ValueError("purge cutoff must be timezone-aware")
    floor = retention_cutoff(storage)
    if floor is not None and before > floor:
        raise SettingError(f"--before {before.isoformat()} would remove calls younger than the retention period "
                           f"(CALLREVIEW_RETENTION_DAYS={storage.retention_days}, so at the latest "
                           f"{floor.isoformat(timespec='seconds')})")
    archive_dir = Path(storage.archive_dir)
    purged: list[PurgedCall] = []
    kept: list[KeptCall] = []
    for call in store.calls_taken_in_before(session, before):
        if call.status == PURGED:
            leftover = _purge_leftover_file(session, actor, archive_dir, call, dry_run)
            if leftover is not None:
                purged.append(leftover)
            continue
        reason = _reason_to_keep(session, call)
        if reason is not None:
            kept.append(KeptCall(call.call_id, reason))
            continue
        purged.append(_purge_call(session, actor, archive_dir, call, dry_run))
    removed_quarantine = _purge_quarantine(session, actor, Path(storage.quarantine_dir), before, dry_run)
    report = PurgeReport(before=before, dry_run=dry_run, purged=tuple(purged), kept=tuple(kept),
                         quarantine=tuple(removed_quarantine))
    commit_event(session, actor=actor, action="purge_run", object_type="archive", object_id=before.isoformat(),
                 outcome="dry_run" if dry_run else ("error" if report.errors else "ok"),
                 detail={"before": before.isoformat(), "purged": [p.call_id for p in purged],
                         "kept": {k.call_id: k.reason for k in kept},
                         "quarantine_removed": [q.quarantine_id for q in removed_quarantine],
                         "errors": report.errors})
    return report


def clean_archive_leftovers(session: Session, actor: str, archive_dir: Path) -> int:
    """Remove temp files that killed archive copies left behind (audited when there were any); return how many."""
    removed = remove_stale_incoming(archive_dir)
    if removed:
        commit_event(session, actor=actor, action="archive_cleanup", object_type="archive",
                     object_id=str(archive_dir), detail={"removed": [p.name for p in removed]})
    return len(removed)


def _reason_to_keep(session: Session, call: Call) -> str | None:
    open_items = store.open_item_ids(session, call.id)
    if open_items:
        return f"open review item {', '.join(f'#{i}' for i in open_items)}"
    # A call still in the pipeline has not been checked yet: removing it would lose an unreviewed call.
    if call.status != "assessed":
        return f"not assessed yet (status {call.status})"
    return None


def _purge_call(session: Session, actor: str, archive_dir: Path, call: Call, dry_run: bool) -> PurgedCall:
    counts = store.material_counts(session, call.id)
    if dry_run:
        return PurgedCall(call.call_id, call.sha256, call.archive_path, call.created_at, **counts,
                          file_removed=False)
    store.strip_call(session, call)
    commit_event(session, actor=actor, action="purge", object_type="call", object_id=call.call_id,
                 detail={"sha256": call.sha256, "archive_path": call.archive_path,
                         "created_at": call.created_at.isoformat(), **counts})
    error = store.remove_archived(archive_dir, call)
    if error:
        _record_file_error(session, actor, call, error)
    return PurgedCall(call.call_id, call.sha256, call.archive_path, call.created_at, **counts,
                      file_removed=error is None, file_error=error)


def _purge_leftover_file(session: Session, actor: str, archive_dir: Path, call: Call,
                         dry_run: bool) -> PurgedCall | None:
    """A purged call whose file an earlier purge could not remove: try again."""
    if not store.archived_file_exists(archive_dir, call):
        return None
    error = None if dry_run else store.remove_archived(archive_dir, call)
    if not dry_run:
        commit_event(session, actor=actor, action="purge_file", object_type="call", object_id=call.call_id,
                     outcome="error" if error else "ok",
                     detail={"archive_path": call.archive_path, "error": error})
    return PurgedCall(call.call_id, call.sha256, call.archive_path, call.created_at, 0, 0, 0,
                      file_removed=not dry_run and error is None, file_error=error)


def _purge_quarantine(session: Session, actor: str, quarantine_dir: Path, before: datetime,
                      dry_run: bool) -> list[PurgedQuarantine]:
    """Remove copies of refused files quarantined before the cutoff; the row and its reason stay."""
    removed = []
    for row in store.quarantined_copies(session, before):
        path = row.quarantine_path
        if dry_run:
            removed.append(PurgedQuarantine(row.id, row.original_name, path, False))
            continue
        store.forget_quarantine_copy(session, row)
        commit_event(session, actor=actor, action="purge", object_type="quarantine", object_id=row.id,
                     detail={"original_name": row.original_name, "path": path, "sha256": row.sha256})
        error = store.remove_quarantined(quarantine_dir, path)
        if error:
            commit_event(session, actor=actor, action="purge_file", object_type="quarantine", object_id=row.id,
                         outcome="error", detail={"path": path, "error": error})
        removed.append(PurgedQuarantine(row.id, row.original_name, path, error is None, error))
    return removed


def _record_file_error(session: Session, actor: str, call: Call, error: str) -> None:
    commit_event(session, actor=actor, action="purge_file", object_type="call", object_id=call.call_id,
                 outcome="error", detail={"archive_path": call.archive_path, "error": error})
