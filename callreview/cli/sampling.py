"""`callreview sample`: draw consistent calls of a period into the queue for audit (callreview.service.sampling)."""
from __future__ import annotations

from datetime import datetime

import typer

from callreview.cli.actor import cli_actor
from callreview.cli.output import JsonOption, emit_json, emit_table, fail

DateOption = {"formats": ["%Y-%m-%d"], "metavar": "YYYY-MM-DD"}


def sample(date_from: datetime = typer.Option(..., "--from", help="First day of the period (UTC).", **DateOption),
           date_to: datetime = typer.Option(..., "--to", help="Last day of the period (UTC).", **DateOption),
           rate: float = typer.Option(..., "--rate", help="Share of the consistent calls to draw, e.g. 0.02."),
           minimum: int = typer.Option(0, "--min", help="Draw at least this many (when there are that many)."),
           dry_run: bool = typer.Option(False, "--dry-run", help="Show the draw; queue nothing."),
           json_out: bool = JsonOption) -> None:
    """Draw consistent calls of a period for audit, by officer and week, reproducibly from the recordings.

    The seed is the SHA-256 over the period's recording hashes: anyone holding the archive gets the same
    calls, and nobody can choose them. Drawn calls enter the queue with reason random_audit.

    Example: callreview sample --from 2017-06-01 --to 2017-06-30 --rate 0.02 --min 5 --dry-run
    """
    from callreview.service.sampling import sample_consistent_calls
    from callreview.storage.db import open_session
    from callreview.storage.settings import StorageSettings

    with open_session(StorageSettings()) as session:
        try:
            result = sample_consistent_calls(session, cli_actor(), date_from.date(), date_to.date(), rate,
                                             minimum=minimum, dry_run=dry_run, day_names=("--from", "--to"))
        except ValueError as exc:  # a day out of range, --to before --from, a rate or minimum out of range
            raise fail(str(exc).replace("rate must", "--rate must").replace("minimum must", "--min must"), 2) from None
    draw = result.draw
    if json_out:
        emit_json({"from": result.date_from, "to": result.date_to, "rate": result.rate, "minimum": result.minimum,
                   "dry_run": result.dry_run, "seed": draw.seed, "calls_in_period": draw.calls_in_period,
                   "consistent": draw.consistent, "strata": draw.strata, "chosen": list(draw.chosen),
                   "created": result.created, "already_queued": result.already})
        return
    emit_table(f"audit sample {result.date_from}..{result.date_to}" + (" (dry run: nothing queued)" if dry_run else ""),
               ["calls", "consistent", "rate", "drawn", "queued now", "already queued", "seed"],
               [[draw.calls_in_period, draw.consistent, result.rate, draw.size, len(result.created),
                 len(result.already), draw.seed]])
    emit_table("drawn", ["call", "review item"],
               [[call_id, result.created.get(call_id) or result.already.get(call_id) or ""] for call_id in draw.chosen])


def register(app: typer.Typer) -> None:
    app.command("sample")(sample)
