"""`callreview search`, `export`, `export-queue`, `export-dispositions` and `report`.

Thin commands over callreview.service.search, .exports and .report. Each leaves one audit event (actor
`cli:<user>`), also when it is refused, written by the service in the same transaction as the read it
records.
"""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import typer

from callreview.cli.actor import cli_actor
from callreview.cli.output import JsonOption, emit_json, emit_table, fail, marked

DateOption = {"formats": ["%Y-%m-%d"], "metavar": "YYYY-MM-DD"}


def _session(read_only: bool = False):
    from callreview.storage.db import open_session
    from callreview.storage.settings import StorageSettings

    return open_session(StorageSettings(), read_only=read_only)


def _day(value: datetime | None) -> date | None:
    return value.date() if value else None


def _write(out: Path, content: str | bytes) -> None:
    try:
        if isinstance(content, bytes):
            out.write_bytes(content)
        else:
            out.write_text(content, encoding="utf-8")
    except OSError as exc:
        raise fail(f"{out}: cannot write: {exc.strerror or exc}") from None


def search(query: str = typer.Argument(..., help='Words, "exact phrases", prefix*, AND/OR/NOT, (parentheses).'),
           tag: str = typer.Option(None, "--tag", help="Only calls where this tag kind counts, e.g. door_knock."),
           officer: str = typer.Option(None, "--officer", help="Part of the commanding officer's name."),
           date_from: datetime = typer.Option(None, "--from", help="Received on or after this day (UTC).",
                                              **DateOption),
           date_to: datetime = typer.Option(None, "--to", help="Received on or before this day (UTC).", **DateOption),
           decision: str = typer.Option(None, "--decision", help="dispatched, declined, or none (no log)."),
           verdict: str = typer.Option(None, "--verdict", help="consistent, mismatch or needs_review."),
           limit: int = typer.Option(50, "--limit", min=1, max=1000, help="Most hits to show."),
           json_out: bool = JsonOption) -> None:
    """Search the current transcripts of all calls; best matches first.

    Example: callreview search '"knock on the door" NOT refused' --decision dispatched --from 2017-06-01
    """
    from callreview.service.search import search_calls
    from callreview.storage.dates import DateOutOfRange
    from callreview.storage.search import MARK_END, MARK_START, InvalidSearchQuery

    with _session() as session:
        try:
            hits = search_calls(session, cli_actor(), query, tag=tag, officer=officer, date_from=_day(date_from),
                                date_to=_day(date_to), decision=decision, verdict=verdict, limit=limit,
                                day_names=("--from", "--to"))
        except (InvalidSearchQuery, DateOutOfRange) as exc:
            raise fail(str(exc), 2) from None
    if json_out:
        emit_json([h.to_dict() for h in hits])
        return
    emit_table(f"search {query}", ["call", "seg", "time", "speaker", "snippet", "officer", "decision", "verdict"],
               [[h.call_id, h.segment_idx, f"{h.start:.1f}", h.speaker,
                 marked(h.snippet, MARK_START, MARK_END),
                 h.commanding_officer, h.decision or "(none logged)", h.verdict] for h in hits])


def export(call_id: str = typer.Argument(..., help="The call's id, e.g. CR-SAMPLE-002."),
           fmt: str = typer.Option("vtt", "--format", help="vtt (WebVTT, speakers as voice tags) or srt."),
           out: Path = typer.Option(None, "--out", help="File to write (default: standard output).")) -> None:
    """Export a call's current transcript as WebVTT or SRT.

    Example: callreview export CR-SAMPLE-002 --format vtt --out CR-SAMPLE-002.vtt
    """
    from callreview.service.exports import FORMATS, ExportError, export_call_transcript

    if fmt not in FORMATS:
        raise fail(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}", 2)
    with _session() as session:
        try:
            text = export_call_transcript(session, cli_actor(), call_id, fmt, str(out) if out else "stdout",
                                          None if out is None else lambda doc: _write(out, doc))
        except ExportError as exc:
            raise fail(str(exc)) from None
    if out is None:
        typer.echo(text, nl=False)


def export_queue(out: Path = typer.Option(..., "--out", help="CSV file to write."),
                 status: str = typer.Option("all", help="open, closed or all")) -> None:
    """Export review items as CSV (all of them by default).

    Example: callreview export-queue --out queue.csv
    """
    from callreview.service.exports import export_queue as export_items

    if status not in ("open", "closed", "all"):
        raise fail(f"--status must be open, closed or all, got {status!r}", 2)
    with _session() as session:
        export_items(session, cli_actor(), status, str(out), lambda doc: _write(out, doc))
    typer.echo(str(out))


def export_dispositions(out: Path = typer.Option(..., "--out", help="CSV file to write.")) -> None:
    """Export every disposition reviewers recorded as CSV.

    Example: callreview export-dispositions --out dispositions.csv
    """
    from callreview.service.exports import export_dispositions as export_all_dispositions

    with _session() as session:
        export_all_dispositions(session, cli_actor(), str(out), lambda doc: _write(out, doc))
    typer.echo(str(out))


def report(date_from: datetime = typer.Option(..., "--from", help="First day of the period (UTC).", **DateOption),
           date_to: datetime = typer.Option(..., "--to", help="Last day of the period (UTC).", **DateOption),
           out: Path = typer.Option(None, "--out", help="report.html or report.pdf (default: print the figures)."),
           json_out: bool = JsonOption) -> None:
    """Write the transparency report for a period: calls, decisions, calls per week, mismatches.

    Example: callreview report --from 2017-01-01 --to 2017-12-31 --out report.html
    """
    from callreview.service.report import export_report, render_html, render_pdf, report_tables
    from callreview.storage.dates import DateOutOfRange

    if date_to < date_from:
        raise fail(f"--to {date_to.date()} is before --from {date_from.date()}", 2)
    if out is not None and out.suffix.lower() not in (".html", ".htm", ".pdf"):
        raise fail(f"{out}: --out must end in .html or .pdf", 2)

    def deliver(result) -> None:
        _write(out, render_pdf(result) if out.suffix.lower() == ".pdf" else render_html(result))

    with _session() as session:
        try:
            result = export_report(session, cli_actor(), date_from.date(), date_to.date(),
                                   str(out) if out else "stdout", None if out is None else deliver,
                                   day_names=("--from", "--to"))
        except DateOutOfRange as exc:
            raise fail(str(exc), 2) from None
    head = {"rows": result.audit_rows, "hash": result.audit_head}  # the audit log the report was made from
    if json_out:
        emit_json({"from": result.date_from, "to": result.date_to, "calls": result.calls,
                   "decisions": result.decisions, "dispatched_by_basis": result.dispatched_by_basis,
                   "dispatched_without_basis": result.dispatched_without_basis, "verdicts": result.verdicts,
                   "reasons": result.reasons, "dispositions": result.dispositions,
                   "weeks": [[w.isoformat(), n] for w, n in result.weeks], "out": str(out) if out else None,
                   "audit_sample": result.audit_sample, "miss_rate_upper": result.miss_rate_upper,
                   "double_review": {"items": result.double_reviewed, "disagreed": result.disagreed,
                                     "kappa": result.kappa},
                   "audit_head": head})
        return
    if out is not None:
        typer.echo(str(out))
        return
    emit_table("ICE calls", ["from", "to", "calls", "audit log rows", "audit log head"],
               [[result.date_from, result.date_to, result.calls, result.audit_rows, result.audit_head]])
    for title, columns, rows in report_tables(result):
        emit_table(title, columns, rows)


def register(app: typer.Typer) -> None:
    app.command("search")(search)
    app.command("export")(export)
    app.command("export-queue")(export_queue)
    app.command("export-dispositions")(export_dispositions)
    app.command("report")(report)
