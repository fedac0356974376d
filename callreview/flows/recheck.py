"""The re-check flow: after the rules file changes, re-tag and re-assess stored transcripts (no Whisper).

Each call gets an assessment under the new rules version; review items that no longer apply are closed
with the reason and new ones are opened (`callreview.service.queue.queue_assessment`); nothing is duplicated.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from callreview.core.rules import load_rules
from callreview.core.settings import ReviewSettings
from callreview.flows import ACTOR
from callreview.service.assessment import Reassessment, reassess_call
from callreview.storage.calls import calls_to_recheck
from callreview.storage.db import open_session
from callreview.storage.settings import StorageSettings


@dataclass
class RecheckSummary:
    rules_version: str
    checked: int = 0
    verdicts: dict[str, int] = field(default_factory=dict)
    changed: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


@task(name="reassess", retries=2, retry_delay_seconds=1, cache_policy=NO_CACHE)
def reassess_task(storage: StorageSettings, review: ReviewSettings, call_pk: int) -> Reassessment:
    with open_session(storage) as session:
        return reassess_call(session, ACTOR, call_pk, load_rules(review.rules))


@flow(name="recheck-calls", task_runner=ThreadPoolTaskRunner(max_workers=1))
def recheck_calls(since: datetime | None = None, storage: StorageSettings | None = None,
                  review: ReviewSettings | None = None) -> RecheckSummary:
    """Re-assess every stored call received on or after `since` (all calls when None)."""
    logger = get_run_logger()
    storage = storage or StorageSettings()
    review = review or ReviewSettings()
    rules = load_rules(review.rules)
    with open_session(storage) as session:
        call_pks = calls_to_recheck(session, since)
    futures = [reassess_task.submit(storage, review, pk) for pk in call_pks]
    summary = RecheckSummary(rules_version=rules.version)
    verdicts: Counter[str] = Counter()
    for future in futures:
        reassessment = future.result()
        result = reassessment.result
        summary.checked += 1
        verdicts[result.verdict] += 1
        if reassessment.changed:
            summary.changed.append({"call_id": result.call_id, "before": reassessment.before, "after": result.verdict,
                                    "reasons": list(result.reasons)})
    summary.verdicts = dict(sorted(verdicts.items()))
    logger.info("re-checked %d calls under rules %s; %d changed verdict", summary.checked, rules.version,
                len(summary.changed))
    return summary
