"""`callreview verify` and `callreview purge`: chain of custody and retention, both audited by callreview.service.custody."""
from __future__ import annotations

from datetime import datetime

import typer

from callreview.cli.actor import cli_actor
from callreview.cli.output import JsonOption, emit_json, emit_table, fail


def verify(json_out: bool = JsonOption) -> None:
    """Re-hash every archived recording; check the audit log's keyed chain against its checkpoints, and the
    decision logs, transcripts, dispositions and review items against their audit events.

    Exits with status 1 when a file is missing, altered, orphaned or left over, the audit chain is broken,
    the database disagrees with a checkpoint, or an evidence row differs from its audit event.

    Example: callreview verify --json
    """
    from callreview.service.custody import verify as verify_custody
    from callreview.storage.db import open_session
    from callreview.storage.settings import StorageSettings

    storage = StorageSettings()
    # One read-only snapshot for the checks (hashing the archive can take long, and must not hold up
    # writers), then the check's own audit event in a short writing transaction.
    with open_session(storage, read_only=True) as reading, open_session(storage) as session:
        report = verify_custody(session, cli_actor(), storage, reading=reading)
    if json_out:
        emit_json(report.to_dict())
    else:
        emit_table("callreview verify", ["recordings", "verified", "missing", "altered", "orphaned", "leftovers",
                                         "audit rows", "audit problems"],
                   [[report.checked, report.verified, len(report.missing), len(report.altered), len(report.orphaned),
                     len(report.leftovers), report.audit_rows, len(report.audit_problems)]])
        emit_table("audit log", ["head (last row's hash)", "rows", "unkeyed", "key id", "checkpoints",
                                 "anchored rows", "checkpoint problems"],
                   [[report.audit_head or "(empty)", report.audit_rows, report.audit_unkeyed_rows, report.audit_key_id,
                     report.checkpoints, report.anchored_rows, len(report.checkpoint_problems)]])
        tables = sorted(set(report.evidence_checked) | set(report.evidence_not_covered))
        emit_table("evidence against the audit log", ["table", "checked", "not covered (older rows)", "problems"],
                   [[t, report.evidence_checked.get(t, 0), report.evidence_not_covered.get(t, 0),
                     sum(1 for p in report.evidence_problems if p.table == t)] for t in tables])
        problems = [[kind, p.path, p.call_id, p.problem]
                    for kind, found in (("missing", report.missing), ("altered", report.altered),
                                        ("orphaned", report.orphaned), ("leftover", report.leftovers))
                    for p in found]
        problems += [["audit", f"audit_event {p.event_id}", None, p.problem] for p in report.audit_problems]
        problems += [["checkpoint", f"{report.checkpoint_file}" + (f" line {p.line}" if p.line else ""), None,
                      p.problem] for p in report.checkpoint_problems]
        problems += [["evidence", f"{p.table} {p.row_id}", p.call_id, p.problem] for p in report.evidence_problems]
        if problems:
            emit_table("problems", ["kind", "where", "call", "problem"], problems)
    if not report.ok:
        raise typer.Exit(1)


def purge(before: str = typer.Option(None, "--before", metavar="DATE",
                                     help="Remove material of calls taken in before this ISO date or date-time "
                                          "(UTC unless it has an offset). Default: today minus "
                                          "CALLREVIEW_RETENTION_DAYS."),
          dry_run: bool = typer.Option(False, "--dry-run", help="List what would be removed; remove nothing."),
          json_out: bool = JsonOption) -> None:
    """Remove the audio and transcripts of calls older than DATE, except calls with an open review item.

    The call row stays as a tombstone (status purged); review items, dispositions and the audit log are
    kept forever. Every removal is in the audit log.

    Example: callreview purge --before 2024-01-01 --dry-run
    """
    from callreview.service.custody import purge as purge_archive
    from callreview.service.custody import retention_cutoff
    from callreview.storage.db import open_session
    from callreview.storage.errors import SettingError
    from callreview.storage.settings import StorageSettings

    storage = StorageSettings()
    if before is None:
        cutoff = retention_cutoff(storage)
        if cutoff is None:
            raise fail("give --before DATE, or set CALLREVIEW_RETENTION_DAYS", 2)
    else:
        cutoff = _parse_cutoff(before)
    with open_session(storage) as session:
        try:
            report = purge_archive(session, cli_actor(), storage, cutoff, dry_run=dry_run)
        except SettingError as exc:
            raise fail(str(exc), 2) from None
    if json_out:
        emit_json(report.to_dict())
    else:
        title = f"callreview purge --before {cutoff.isoformat()}" + (" (dry run: nothing removed)" if dry_run else "")
        emit_table(title, ["call", "taken in", "segments", "gaps", "tags", "audio removed"],
                   [[p.call_id, p.created_at, p.segments, p.gaps, p.tags, p.file_error or p.file_removed]
                    for p in report.purged])
        if report.kept:
            emit_table("kept", ["call", "why"], [[k.call_id, k.reason] for k in report.kept])
        if report.quarantine:
            emit_table("quarantined copies", ["file", "removed"],
                       [[q.original_name, q.file_error or q.file_removed] for q in report.quarantine])
    if report.errors:
        raise typer.Exit(1)


def _parse_cutoff(text: str) -> datetime:
    from callreview.storage.dates import parse_instant

    try:
        return parse_instant(text)
    except ValueError:
        raise fail(f"--before: {text!r} is not an ISO date (YYYY-MM-DD) or date-time", 2) from None


def register(app: typer.Typer) -> None:
    """Add `verify` and `purge` to the `callreview` command."""
    app.command("verify")(verify)
    app.command("purge")(purge)
