"""The inbox flow: for each recording, intake -> transcribe (or import) -> tag and assess -> queue.

Each stage is a Prefect task with retries that wraps one use case of callreview.service (intake, transcription,
assessment), which writes the stage and its audit event in one transaction. The three tasks of a call are
submitted as a chain, so calls run side by side up to the task runner's bound (`CALLREVIEW_WORKERS`, threads or
Dask processes), while the stages of one call stay in order. A call that still fails keeps its error
(callreview.service.failures) and the batch goes on.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path

from prefect import Flow, flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from callreview.core.rules import load_rules
from callreview.core.settings import ReviewSettings
from callreview.flows import ACTOR
from callreview.flows.progress import ProgressListener
from callreview.flows.settings import BatchSettings
from callreview.service.assessment import AssessResult, assess_stored_call
from callreview.service.custody import clean_archive_leftovers
from callreview.service.failures import mark_failed
from callreview.service.inbox_files import display_path, scan_inbox
from callreview.service.intake import IntakeResult, take_in
from callreview.service.sampling import sample_consistent_calls
from callreview.service.transcription import transcribe_call
from callreview.storage.dates import utcnow
from callreview.storage.db import open_session
from callreview.storage.settings import StorageSettings
from callreview.transcribe.engine import get_engine
from callreview.transcribe.settings import WhisperSettings


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
    audit_sample: dict | None = None  # the week drawn for audit, when CALLREVIEW_AUDIT_SAMPLE_RATE is set

    def to_dict(self) -> dict:
        return asdict(self)


@task(name="intake", retries=2, retry_delay_seconds=1, cache_policy=NO_CACHE)
def intake_task(storage: StorageSettings, recording: str, log_sidecar: str | None,
                refusal: str | None) -> IntakeResult:
    with open_session(storage) as session:
        return take_in(session, ACTOR, storage, Path(recording), Path(log_sidecar) if log_sidecar else None, refusal)


@task(name="transcribe", retries=2, retry_delay_seconds=1, cache_policy=NO_CACHE)
def transcribe_task(storage: StorageSettings, whisper: WhisperSettings, intake: IntakeResult,
                    recording: str) -> int | None:
    if not intake.goes_on:
        return None
    with open_session(storage) as session:
        return transcribe_call(session, ACTOR, storage.archive_dir, intake.call_pk, Path(recording),
                               lambda: get_engine(whisper))


@task(name="assess", retries=2, retry_delay_seconds=1, cache_policy=NO_CACHE)
def assess_task(storage: StorageSettings, review: ReviewSettings, intake: IntakeResult,
                transcript_pk: int | None) -> AssessResult | None:
    if not intake.goes_on:
        return None
    with open_session(storage) as session:
        return assess_stored_call(session, ACTOR, intake.call_pk, load_rules(review.rules))


@flow(name="process-inbox", log_prints=False, task_runner=ThreadPoolTaskRunner(max_workers=1))
def process_inbox(inbox: str, storage: StorageSettings | None = None, whisper: WhisperSettings | None = None,
                  review: ReviewSettings | None = None, progress: ProgressListener | None = None) -> BatchSummary:
    """Process every recording in `inbox` that has not been processed before.

    `progress`, when given, hears of each recording as its call ends (its file name and its status in the
    summary), in inbox order.
    """
    logger = get_run_logger()
    storage = storage or StorageSettings()
    whisper = whisper or WhisperSettings()
    review = review or ReviewSettings()
    load_rules(review.rules)  # a broken rules file stops the batch before any call is touched
    summary = BatchSummary(inbox=str(inbox))
    with open_session(storage) as session:  # a copy killed by an earlier crash must not linger as a leftover
        clean_archive_leftovers(session, ACTOR, storage.archive_dir)
    chains = []
    for entry in scan_inbox(Path(inbox)):
        log = str(entry.log_sidecar) if entry.log_sidecar else None
        f_intake = intake_task.submit(storage, str(entry.recording), log, entry.refusal)
        f_transcript = transcribe_task.submit(storage, whisper, f_intake, str(entry.recording))
        f_assess = assess_task.submit(storage, review, f_intake, f_transcript)
        chains.append((entry, f_intake, f_transcript, f_assess))
    verdicts: Counter[str] = Counter()
    for entry, f_intake, f_transcript, f_assess in chains:
        summary.seen += 1
        row = {"file": display_path(entry.recording.name), "call_id": None, "status": "failed", "reason": None}
        outcome = f_intake.result(raise_on_failure=False)
        if isinstance(outcome, BaseException):
            summary.failed += 1
            row["reason"] = f"{display_path(entry.recording)}: intake failed: {outcome}"
        else:
            row.update(call_id=outcome.call_id, status=outcome.status, reason=outcome.reason)
            if outcome.goes_on:
                error = _first_error(f_transcript, f_assess)
                if error is not None:  # one bad call must not stop the batch
                    with open_session(storage) as session:
                        mark_failed(session, ACTOR, outcome.call_pk, f"{display_path(entry.recording)}: {error}")
                    logger.error("%s failed: %s", row["file"], error)
                    summary.failed += 1
                    row.update(status="failed", reason=str(error))
                else:
                    result = f_assess.result()
                    summary.processed += 1
                    verdicts[result.verdict] += 1
                    summary.queued += int(result.queued)
                    row.update(status="processed", verdict=result.verdict, reasons=list(result.reasons))
            elif outcome.status == "skipped":
                summary.skipped += 1
            else:
                summary.quarantined += 1
        summary.calls.append(row)
        if progress is not None:
            progress(row["file"], row["status"])
    summary.verdicts = dict(sorted(verdicts.items()))
    summary.audit_sample = _audit_sample(storage, BatchSettings())
    logger.info("inbox %s: %d processed, %d skipped, %d quarantined, %d failed", inbox, summary.processed,
                summary.skipped, summary.quarantined, summary.failed)
    return summary


def _audit_sample(storage: StorageSettings, batch: BatchSettings) -> dict | None:
    """Draw last week's consistent calls for audit, when the batch settings ask for it (callreview.service.sampling)."""
    if batch.audit_sample_rate is None:
        return None
    today = utcnow().date()
    monday = today - timedelta(days=today.weekday() + 7)
    with open_session(storage) as session:
        done = sample_consistent_calls(session, ACTOR, monday, monday + timedelta(days=6), batch.audit_sample_rate,
                                       minimum=batch.audit_sample_min)
    return {"from": str(done.date_from), "to": str(done.date_to), "drawn": len(done.draw.chosen),
            "queued": len(done.created), "seed": done.draw.seed}


def _first_error(*futures) -> BaseException | None:
    """The first failure along a call's chain; later tasks never ran, so their futures are not asked."""
    for future in futures:
        result = future.result(raise_on_failure=False)
        if isinstance(result, BaseException):
            return result
    return None


def configured_flow(batch: BatchSettings, base: Flow = process_inbox) -> Flow:
    """`base` with the task runner the batch settings ask for: threads, a local Dask cluster, or a remote one."""
    if batch.dask_address:
        from prefect_dask import DaskTaskRunner

        if batch.dask_address == "local":
            runner = DaskTaskRunner(cluster_kwargs={"n_workers": batch.workers, "threads_per_worker": 1,
                                                    "processes": True,
                                                    # any free port: a fixed one clashes with other clusters
                                                    "dashboard_address": ":0"})
        else:
            runner = DaskTaskRunner(address=batch.dask_address)
        return base.with_options(task_runner=runner)
    return base.with_options(task_runner=ThreadPoolTaskRunner(max_workers=batch.workers))
