"""`callreview serve` (the scheduled deployment) and `callreview recheck` (re-assess after a rules change)."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer

from callreview.cli.output import JsonOption, emit_json, emit_table, fail

DEPLOYMENT_NAME = "callreview-nightly"


def serve(inbox: Path = typer.Option(None, "--inbox", help="Inbox folder (default: CALLREVIEW_INBOX)."),
          cron: str = typer.Option(None, "--cron", help="Cron schedule (default: CALLREVIEW_SCHEDULE, nightly).")) -> None:
    """Serve the inbox flow as a Prefect deployment on a cron schedule; runs until stopped.

    Point PREFECT_API_URL at a Prefect server (`prefect server start`) to see it in
    `prefect deployment ls` and the Prefect UI.

    Example: callreview serve --inbox /srv/calls/inbox --cron "0 2 * * *"
    """
    from callreview.flows.inbox import configured_flow
    from callreview.flows.settings import BatchSettings

    batch = BatchSettings()
    folder = inbox or batch.inbox
    if not Path(folder).is_dir():
        raise fail(f"{folder}: inbox folder does not exist (set --inbox or CALLREVIEW_INBOX)")
    schedule = cron or batch.schedule
    try:
        from prefect.schedules import Cron

        Cron(schedule, timezone=batch.timezone)
    except ValueError as exc:
        raise fail(f"schedule {schedule!r} is not a valid cron expression: {exc}") from None
    from callreview.flows.prefect_server import start_owned_server

    start_owned_server()  # a temporary API server that dies with this command, however it ends
    configured_flow(batch).serve(name=DEPLOYMENT_NAME, cron=schedule,
                                 parameters={"inbox": str(Path(folder).resolve())},
                                 description="Process new call recordings in the inbox.")


def _parse_day(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    from callreview.storage.dates import parse_instant

    try:
        return parse_instant(value)
    except ValueError:
        raise fail(f"{option} must be a date like 2017-04-01, got {value!r}", 2) from None


def recheck(since: str = typer.Option(None, "--since", help="Only calls received on or after this date."),
            json_out: bool = JsonOption) -> None:
    """Re-tag and re-assess stored transcripts under the rules in force (no re-transcription).

    Example: CALLREVIEW_RULES=rules-2018.yaml callreview recheck --since 2017-01-01
    """
    from callreview.flows.prefect_server import start_owned_server
    from callreview.flows.recheck import recheck_calls
    from callreview.core.errors import ReviewError

    start_owned_server()  # a kill -9 of this command must not leave Prefect's temporary server running
    try:
        summary = recheck_calls(_parse_day(since, "--since"))
    except ReviewError as exc:
        raise fail(str(exc)) from None
    if json_out:
        emit_json(summary.to_dict())
        return
    emit_table(f"re-checked under rules {summary.rules_version}", ["calls", *summary.verdicts],
               [[summary.checked, *summary.verdicts.values()]])
    if summary.changed:
        emit_table("verdicts that changed", ["call", "before", "after", "reasons"],
                   [[c["call_id"], c["before"], c["after"], ", ".join(c["reasons"])] for c in summary.changed])


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("recheck")(recheck)
