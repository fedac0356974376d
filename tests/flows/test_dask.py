"""The inbox flow on Dask (issue 6): per-call tasks on a local multi-process cluster, and on a cluster by address.

`configured_flow(BatchSettings(dask_address=...))` swaps the thread runner for prefect-dask's DaskTaskRunner;
the tasks, their settings objects and the futures between them are pickled to worker processes, which
report to the same Prefect API. The results must be the ones the thread runner gives.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlmodel import select

from inboxes import CASES, render_inbox
from live_prefect import prefect_api_url
from callreview.storage.db import open_session
from callreview.storage.tables import AssessmentRecord, Call, ReviewItem, TranscriptRecord

IMPORTED = ("TC-01", "TC-02", "TC-04", "TC-05")  # consistent, mismatch, needs_review, missing_log
WHISPERED = "TC-17"  # no transcript sidecar: the worker runs Whisper

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::ResourceWarning")]


@pytest.fixture(scope="module")
def dask_inbox(tmp_path_factory) -> Path:
    inbox = render_inbox([CASES / f"{name}.json" for name in (*IMPORTED, WHISPERED)], tmp_path_factory, "dask")
    (inbox / f"{WHISPERED}.transcript.json").unlink()
    return inbox


@pytest.fixture
def whisper(random_whisper_checkpoint):
    from callreview.transcribe.settings import WhisperSettings

    # Greedy, English, one thread per worker, and fallback thresholds out of reach: a random model's noise
    # would otherwise send every window through beam search and all six temperatures (minutes per call).
    return WhisperSettings(engine="openai-whisper", model=str(random_whisper_checkpoint), threads=1, beam_size=1,
                           language="en", compression_ratio_threshold=1000, logprob_threshold=-1000)


def _run(inbox: Path, storage, whisper, **batch) -> dict:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from callreview.flows.inbox import configured_flow
    from callreview.flows.settings import BatchSettings

    # The workers are other processes: they report to the API the flow's settings name, a real server here.
    with temporary_settings({PREFECT_API_URL: prefect_api_url()}):
        return configured_flow(BatchSettings(**batch))(str(inbox), storage=storage, whisper=whisper).to_dict()


def _results(storage) -> dict:
    with open_session(storage) as s:
        verdicts = s.exec(select(Call.call_id, Call.status, AssessmentRecord.verdict, AssessmentRecord.reasons_json)
                          .join(AssessmentRecord, AssessmentRecord.call_pk == Call.id)
                          .where(AssessmentRecord.is_current == True)).all()  # noqa: E712
        queue = s.exec(select(Call.call_id, ReviewItem.verdict).join(ReviewItem, ReviewItem.call_pk == Call.id)
                       .where(ReviewItem.status == "open")).all()
        engines = s.exec(select(Call.call_id, TranscriptRecord.engine, TranscriptRecord.imported)
                         .join(TranscriptRecord, TranscriptRecord.call_pk == Call.id)).all()
    return {"verdicts": sorted(v for v in verdicts if v[0] != WHISPERED),
            "whispered": sorted(v[:2] for v in verdicts if v[0] == WHISPERED),
            "queue": sorted(q for q in queue if q[0] != WHISPERED),
            "engines": sorted(engines)}


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_local_dask_cluster_gives_the_thread_runner_results(backend, dask_inbox, tmp_path, storage_factory,
                                                              whisper):
    with storage_factory(backend, tmp_path / "threads") as threads:
        by_threads = _run(dask_inbox, threads, whisper, workers=2)
        expected = _results(threads)
    with storage_factory(backend, tmp_path / "dask") as dask:
        by_dask = _run(dask_inbox, dask, whisper, workers=2, dask_address="local")
        got = _results(dask)

    assert (by_dask["processed"], by_dask["failed"]) == (len(IMPORTED) + 1, 0), by_dask["calls"]
    assert by_dask["verdicts"] == by_threads["verdicts"]
    assert got["verdicts"] == expected["verdicts"]
    assert got["queue"] == expected["queue"]
    assert got["engines"] == expected["engines"] == sorted(
        [(c, "import", True) for c in IMPORTED] + [(WHISPERED, "openai-whisper", False)])
    assert got["whispered"] == [(WHISPERED, "assessed")]


def test_a_dask_scheduler_address_runs_the_tasks_on_that_cluster(dask_inbox, tmp_path, storage_factory, whisper):
    """CALLREVIEW_DASK_ADDRESS=tcp://...: the tasks run on a cluster somebody else started."""
    from distributed import Client, LocalCluster

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for f in dask_inbox.glob("TC-0[12].*"):
        shutil.copy(f, inbox / f.name)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            storage_factory("sqlite", tmp_path) as storage:
        summary = _run(inbox, storage, whisper, dask_address=cluster.scheduler_address)
        with Client(cluster) as client:
            prefixes = set(client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.task_prefixes)))
    assert (summary["processed"], summary["failed"]) == (2, 0), summary["calls"]
    assert {"intake_task", "transcribe_task", "assess_task"} <= prefixes
