"""The `callreview` command line: thin commands over the package functions.

Example: callreview run samples/ && callreview queue
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import typer

from callreview.cli.actor import cli_actor
from callreview.cli.logs import configure_package_logging
from callreview.cli.output import JsonOption, emit_json, emit_table, fail, stderr

app = typer.Typer(help="Review recorded ICE assistance calls against the logged decision.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)


@app.callback()
def _every_command() -> None:
    configure_package_logging()


@app.command()
def run(inbox: Path = typer.Argument(..., help="Folder of recordings with their sidecars."),
        json_out: bool = JsonOption,
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar.")) -> None:
    """Process every new recording in INBOX and print a summary.

    Example: callreview run samples/
    """
    if not inbox.is_dir():
        raise fail(f"{inbox}: inbox folder does not exist")
    from callreview.cli.progress import BatchBar, recording_seconds
    from callreview.flows.inbox import configured_flow
    from callreview.flows.progress import ProgressListener
    from callreview.service.inbox_files import scan_inbox
    from callreview.flows.prefect_server import start_owned_server
    from callreview.flows.settings import BatchSettings
    from callreview.core.errors import ReviewError

    start_owned_server()  # a kill -9 of this command must not leave Prefect's temporary server running
    show = not (json_out or quiet) and stderr.is_terminal
    entries = scan_inbox(inbox)
    seconds = recording_seconds(entries) if show else [0.0] * len(entries)  # probing is for the bar only
    with BatchBar(seconds, stderr, enabled=show) as bar:
        try:
            summary = configured_flow(BatchSettings())(str(inbox), progress=ProgressListener(bar))
        except ReviewError as exc:
            raise fail(str(exc)) from None
    if json_out:
        emit_json(summary.to_dict())
        return
    emit_table(f"callreview run {inbox}", ["recordings", "processed", "skipped", "quarantined", "failed", "queued"],
               [[summary.seen, summary.processed, summary.skipped, summary.quarantined, summary.failed,
                 summary.queued]])
    if summary.verdicts:
        emit_table("verdicts", ["verdict", "calls"], sorted(summary.verdicts.items()))
    problems = [c for c in summary.calls if c["status"] in ("quarantined", "failed")]
    if problems:
        emit_table("refused", ["file", "status", "reason"], [[c["file"], c["status"], c["reason"]] for c in problems])


@app.command()
def queue(json_out: bool = JsonOption,
          status: str = typer.Option("open", help="open, closed or all")) -> None:
    """List review items (open ones by default).

    Example: callreview queue --json
    """
    from callreview.service.queue import view_queue
    from callreview.storage.db import open_session
    from callreview.storage.settings import StorageSettings

    if status not in ("open", "closed", "all"):
        raise fail(f"--status must be open, closed or all, got {status!r}", 2)
    with open_session(StorageSettings()) as session:
        rows = [entry.row for entry in view_queue(session, cli_actor(), status).entries]
    if json_out:
        emit_json([{"item": r.item_id, "call_id": r.call_id, "verdict": r.verdict, "reasons": r.reasons,
                    "status": r.status, "claimed_by": r.claimed_by, "created_at": r.created_at,
                    "received_at": r.received_at, "commanding_officer": r.commanding_officer,
                    "decision": r.decision} for r in rows])
        return
    emit_table(f"review queue ({status})", ["item", "call", "received (UTC)", "officer", "decision", "verdict", "reasons"],
               [[r.item_id, r.call_id, r.received_at.strftime("%Y-%m-%d %H:%M") if r.received_at else "",
                 r.commanding_officer, r.decision or "(none logged)",
                 r.verdict, ", ".join(r.reasons)] for r in rows])


@app.command()
def show(call_id: str, json_out: bool = JsonOption) -> None:
    """Show one call: logged decision, transcript with tags, verdict and review items.

    Example: callreview show CR-SAMPLE-002 --json
    """
    from callreview.service.calls import CallNotFound, view_call
    from callreview.storage.db import open_session
    from callreview.storage.settings import StorageSettings

    with open_session(StorageSettings()) as session:
        try:
            detail = view_call(session, cli_actor(), call_id)
        except CallNotFound:
            raise fail(f"no call with id {call_id!r}; `callreview queue --status all` lists calls under review") from None
    if json_out:
        emit_json(detail)
        return
    from callreview.core.doubts import describe_doubt as doubt_line

    log = detail["log"] or {}
    a = detail["assessment"] or {}
    emit_table(f"call {call_id}", ["field", "value"], [
        ["recording", f"{detail['original_name']} ({detail['format']}, {detail['duration'] or 0:.1f} s, "
                      f"{detail['channels']} ch, {detail['sample_rate']} Hz)"],
        ["sha256", detail["sha256"]],
        ["logged decision", log.get("decision", "(none logged)")],
        ["logged basis", ", ".join(log.get("basis", []))],
        ["officer", log.get("commanding_officer")],
        ["verdict", a.get("verdict")],
        ["reasons", "; ".join(a.get("reasons_text", []))],
        ["counted tags", ", ".join(a.get("counted", []))],
        *[["unsure of", doubt_line(d)] for d in a.get("doubts", [])],
        ["rules version", a.get("rules_version")],
    ])
    tags_by_seg: dict[int, list[str]] = {}
    for t in detail["tags"]:
        tags_by_seg.setdefault(t["segment"], []).append(t["kind"] + (f" ({t['qualifier']})" if t["qualifier"] else ""))
    segs = (detail["transcript"] or {}).get("segments", [])
    emit_table("transcript", ["#", "time", "speaker", "text", "tags"],
               [[s["index"], f"{s['start']:.1f}", s["speaker"],
                 s["text"] + (f"  [flagged: {', '.join(s['flags'])}]" if s["flags"] else ""),
                 "; ".join(tags_by_seg.get(s["index"], []))] for s in segs])


# Each area keeps its commands in its own module with a `register(app)` function; a missing module is an
# install error to see, not a command to drop silently.
def _register_subcommands() -> None:
    from callreview.cli import batch, custody, packet, review, sampling, search, transcribe, web

    for module in (review, transcribe, web, search, sampling, packet, custody, batch):
        module.register(app)


_register_subcommands()


def main() -> None:
    """Entry point of the `callreview` console script."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # Prefect's per-task INFO lines drown the summary; CALLREVIEW_LOG_LEVEL=INFO brings them back.
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", os.environ.get("CALLREVIEW_LOG_LEVEL", "WARNING"))
    logging.basicConfig(level=os.environ.get("CALLREVIEW_LOG_LEVEL", "WARNING"),
                        format="%(levelname)s %(name)s: %(message)s")
    app()
