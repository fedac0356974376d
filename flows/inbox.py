"""The inbox flow: for each recording, intake -> transcribe (or import) -> tag and assess -> queue.

Each stage is a Prefect task with retries; a call that still fails keeps its error and the batch goes on.
"""
from __future__ import annotations

import os
from collections import Counter
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from prefect import flow, get_run_logger, task  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402

from flows import stages  # noqa: E402
from flows.inbox_files import scan_inbox  # noqa: E402
from review.rules import load_rules  # noqa: E402
from review.settings import ReviewSettings  # noqa: E402
from storage.settings import StorageSettings  # noqa: E402
from transcribe.engine import get_engine  # noqa: E402
from transcribe.settings import WhisperSettings  # noqa: E402

# The CLI sets this to advance its progress bar; Prefect runs sync tasks in the caller's context.
progress_hook: ContextVar[Callable[[str, str], None] | None] = ContextVar("progress_hook", default=None)


@dataclass
class BatchSummary:
    inbox: str
    seen: int = 0
    processed: int = 0
    skipped: int = 0
    quarantined: int = 0
    failed: int = 0
    verdicts: dict[str, int] = field(default_factory=dict)
    queued: int = 0
    calls: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


@task(name="intake", retries=2, retry_delay_seconds=1, cache_policy=NO_CACHE)
def intake_task(storage: StorageSettings, recording: str, log_sidecar: str | None, refusal: str | None):
    return stages.intake_recording(storage, Path(recording), Path(log_sidecar) if log_sidecar else None, refusal)


@task(name="transcribe", retries=2, retry_delay_seconds=1, cache_policy=NO_CACHE)
def transcribe_task(storage: StorageSettings, whisper: WhisperSettings, call_pk: int, recording: str) -> int:
    return stages.transcribe_call(storage, call_pk, Path(recording), lambda: get_engine(whisper))


@task(name="assess", retries=2, retry_delay_seconds=1, cache_policy=NO_CACHE)
def assess_task(storage: StorageSettings, review: ReviewSettings, call_pk: int):
    return stages.assess_stored_call(storage, call_pk, load_rules(review.rules))


@flow(name="process-inbox", log_prints=False)
def process_inbox(inbox: str, storage: StorageSettings | None = None, whisper: WhisperSettings | None = None,
                  review: ReviewSettings | None = None) -> BatchSummary:
    """Process every recording in `inbox` that has not been processed before."""
    logger = get_run_logger()
    storage = storage or StorageSettings()
    whisper = whisper or WhisperSettings()
    review = review or ReviewSettings()
    load_rules(review.rules)  # a broken rules file stops the batch before any call is touched
    summary = BatchSummary(inbox=str(inbox))
    verdicts: Counter[str] = Counter()
    hook = progress_hook.get()
    for entry in scan_inbox(Path(inbox)):
        summary.seen += 1
        outcome = intake_task(storage, str(entry.recording), str(entry.log_sidecar) if entry.log_sidecar else None,
                              entry.refusal)
        row = {"file": entry.recording.name, "call_id": outcome.call_id, "status": outcome.status,
               "reason": outcome.reason}
        if outcome.status in ("new", "resumed"):
            try:
                transcribe_task(storage, whisper, outcome.call_pk, str(entry.recording))
                result = assess_task(storage, review, outcome.call_pk)
            except Exception as exc:  # one bad call must not stop the batch
                stages.mark_failed(storage, outcome.call_pk, f"{entry.recording}: {exc}")
                logger.error("%s failed: %s", entry.recording.name, exc)
                summary.failed += 1
                row.update(status="failed", reason=str(exc))
            else:
                summary.processed += 1
                verdicts[result.verdict] += 1
                summary.queued += int(result.queued)
                row.update(status="processed", verdict=result.verdict, reasons=list(result.reasons))
        elif outcome.status == "skipped":
            summary.skipped += 1
        else:
            summary.quarantined += 1
        summary.calls.append(row)
        if hook:
            hook(entry.recording.name, row["status"])
    summary.verdicts = dict(sorted(verdicts.items()))
    logger.info("inbox %s: %d processed, %d skipped, %d quarantined, %d failed", inbox, summary.processed,
                summary.skipped, summary.quarantined, summary.failed)
    return summary
