"""Benchmark the whole inbox flow: calls/minute, orchestration overhead per call, 1 -> 2 workers.

Usage: python bench/pipeline.py [--calls 50] [--modes imported,whisper] [--runners thread,dask] [--workers 1,2]

N synthesised calls (short case templates below, varied names and ids, spoken by espeak-ng through
../shared/tools/make_inbox.py, rendered once into bench/out/ and reused) go through `configured_flow` exactly
as `callreview run` runs them, on a fresh SQLite database per run:
- `imported`: each call has a transcript sidecar, so the transcribe stage imports it;
- `whisper`: no sidecars; the transcribe stage runs openai-whisper with a tiny random-weight checkpoint
  (written here like the tests' fixture: the real code path, no download, the words are noise), decoding
  greedily on one thread per worker (WHISPER_DECODING).
Each is run on the thread runner and on a local Dask cluster (`CALLREVIEW_DASK_ADDRESS=local`), with 1 and
2 workers, one after the other in this process, so the ratios are measured side by side.

Stage time is measured by wrapping the service calls the flow's tasks make, `take_in / transcribe_call /
assess_stored_call` as `callreview.flows.inbox` names them (installed here, and in each Dask worker through a
worker preload); nothing in the package is edited.
Orchestration overhead per call = (workers x flow wall time - seconds inside the stage functions) / calls:
the worker-seconds a call costs beyond its own work (Prefect task runs and state reports, futures, Dask
scheduling, cluster and flow start-up). With one worker it is simply wall time minus stage time, per call.
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
MAKE_INBOX = ROOT.parent / "shared" / "tools" / "make_inbox.py"
STAGES = ("take_in", "transcribe_call", "assess_stored_call")
LOG_ENV = "CALLREVIEW_BENCH_STAGE_LOG"
# Greedy, English, one torch thread per worker, fallback thresholds out of reach: with the defaults a random
# model's noise sends every 30 s window through beam search and all six temperatures (minutes per call),
# and the bench would measure nothing but that.
WHISPER_DECODING = dict(threads=1, beam_size=1, language="en", compression_ratio_threshold=1000,
                        logprob_threshold=-1000)

# ---------------------------------------------------------------------------------------------------
# Short calls (10-20 s of speech each): four templates covering the verdicts, with names and places varied.

OFFICERS = ["Lt. D. Whitfield", "Lt. M. Keene", "Sgt. R. Alvarez", "Lt. J. Okafor", "Capt. S. Brandt"]
AGENTS = ["Officer Haskell", "Officer Vance", "Agent Moreno", "Officer Lindqvist", "Agent Carter"]
STREETS = ["Tolliver Lane", "Bardstown Road", "Preston Highway", "Dixie Highway", "Poplar Level Road"]
TEMPLATES = [
    ("dispatched", ["criminal_warrant"], [
        ("ice", "This is {agent} with ICE. We have a subject with a felony warrant out of Jefferson Circuit Court."),
        ("officer", "I ran him in NCIC and the felony warrant is active. I'll send two units to {street}."),
    ]),
    ("dispatched", ["crime"], [
        ("ice", "This is {agent} with ICE. We need a couple of officers to knock on the door at {street}."),
        ("officer", "All right, I'll send a unit over to {street} to help you."),
    ]),
    ("declined", [], [
        ("ice", "This is {agent} with ICE. Shots fired at {street}, a man is shooting at people right now."),
        ("officer", "We can't help with that one today, sorry."),
    ]),
    (None, [], [
        ("ice", "This is {agent} with ICE. Can your officers help us serve an administrative warrant on {street}?"),
        ("officer", "No, we don't do administrative warrants for ICE."),
    ]),
]


def bench_case(i: int) -> dict:
    """Case number `i`: template i % 4 with its own names, place and date."""
    rng = random.Random(i)
    decision, basis, lines = TEMPLATES[i % len(TEMPLATES)]
    words = {"agent": rng.choice(AGENTS), "street": f"{rng.randint(100, 9999)} {rng.choice(STREETS)}"}
    segments, t = [], 0.5
    for speaker, text in lines:
        segments.append({"start": t, "end": t + 6.0, "speaker": speaker, "text": text.format(**words)})
        t += 6.5
    log = None
    if decision is not None:
        log = {"received_at": f"2017-{1 + i % 12:02d}-{1 + i % 28:02d}T{8 + i % 10:02d}:15:00-04:00",
               "requesting_agency": "ICE ERO", "requester": words["agent"],
               "commanding_officer": rng.choice(OFFICERS), "decision": decision, "basis": basis, "notes": ""}
    return {"call_id": f"BENCH-{i:04d}", "log": log, "transcript": {"language": "en", "segments": segments}}


def render_calls(n: int) -> Path:
    """bench/out/render/ holding at least n calls (audio, log, transcript); renders only the missing ones."""
    render = OUT / "render"
    render.mkdir(parents=True, exist_ok=True)
    missing = [i for i in range(n) if not (render / f"BENCH-{i:04d}.transcript.json").exists()]
    if missing:
        print(f"rendering {len(missing)} calls with espeak-ng into {render} (once; reused later) ...", flush=True)
        with tempfile.TemporaryDirectory() as td:
            parts = [Path(td) / str(k) for k in range(min(2, len(missing)))]
            for k, i in enumerate(missing):
                parts[k % len(parts)].mkdir(exist_ok=True)
                (parts[k % len(parts)] / f"BENCH-{i:04d}.json").write_text(json.dumps(bench_case(i)))
            procs = [subprocess.Popen([sys.executable, str(MAKE_INBOX), str(p), str(render), "--with-transcript"],
                                      stdout=subprocess.DEVNULL) for p in parts]
            if any(p.wait() for p in procs):
                raise SystemExit("make_inbox.py failed (needs espeak-ng and sox)")
    return render


def inbox_for(n: int, mode: str) -> Path:
    """A folder of n calls, hard links into the rendered set; `whisper` leaves out the transcript sidecars."""
    render = render_calls(n)
    inbox = OUT / f"inbox-{n}-{mode}"
    if inbox.is_dir() and len(list(inbox.glob("*.wav"))) == n:
        return inbox
    shutil.rmtree(inbox, ignore_errors=True)
    inbox.mkdir(parents=True)
    for i in range(n):
        for suffix in (".wav", ".json") + ((".transcript.json",) if mode == "imported" else ()):
            src = render / f"BENCH-{i:04d}{suffix}"
            if src.exists():
                os.link(src, inbox / src.name)
    return inbox


def random_whisper_checkpoint() -> Path:
    """A tiny openai-whisper checkpoint with random weights (as tests/conftest.py makes it)."""
    path = OUT / "random-tiny.pt"
    if not path.exists():
        import torch
        from whisper.model import ModelDimensions, Whisper

        torch.manual_seed(0)
        dims = ModelDimensions(n_mels=80, n_audio_ctx=1500, n_audio_state=64, n_audio_head=2, n_audio_layer=1,
                               n_vocab=51864, n_text_ctx=448, n_text_state=64, n_text_head=2, n_text_layer=1)
        torch.save({"dims": dims.__dict__, "model_state_dict": Whisper(dims).state_dict()}, path)
    return path


def _die_with_parent() -> None:
    """In the server's process before exec: SIGTERM it when the bench dies, even by SIGKILL (Linux)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def start_prefect_server() -> subprocess.Popen:
    """`prefect server start` on a free port with its database in bench/out/prefect; sets PREFECT_API_URL.

    A real server, as a deployment would use (Prefect's ephemeral mode starts one per process and times out
    on a loaded machine).
    """
    import socket
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    home = OUT / "prefect"
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    proc = subprocess.Popen(["prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port), "--no-ui"],
                            env=env, stdout=open(home / "server.log", "w"), stderr=subprocess.STDOUT,
                            start_new_session=True, preexec_fn=_die_with_parent)
    url = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + 180
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"prefect server start failed; see {home / 'server.log'}")
            time.sleep(0.5)
    os.environ["PREFECT_API_URL"] = url
    return proc


# ---------------------------------------------------------------------------------------------------
# Stage timing: wrappers around the stage functions, writing one JSON line per call to a per-process file.

_log_lock = threading.Lock()


def install_stage_timers() -> None:
    """Wrap the service calls in `callreview.flows.inbox` (idempotent); the tasks look them up there at call time."""
    from callreview.flows import inbox as stages

    for name in STAGES:
        fn = getattr(stages, name)
        if getattr(fn, "_bench_timed", False):
            continue

        @functools.wraps(fn)
        def timed(*args, _fn=fn, _name=name, **kwargs):
            start, t0 = time.time(), time.perf_counter()
            try:
                return _fn(*args, **kwargs)
            finally:
                seconds = time.perf_counter() - t0
                log_dir = os.environ.get(LOG_ENV)
                if log_dir:
                    line = json.dumps({"stage": _name, "start": start, "seconds": seconds})
                    with _log_lock, open(Path(log_dir) / f"{os.getpid()}.jsonl", "a") as fh:
                        fh.write(line + "\n")

        timed._bench_timed = True
        setattr(stages, name, timed)


def dask_setup(worker) -> None:
    """Dask worker preload hook (this file is the preload): time the stages in the worker process too."""
    install_stage_timers()


def read_stage_log(log_dir: Path) -> list[dict]:
    return [json.loads(line) for f in sorted(log_dir.glob("*.jsonl")) for line in f.read_text().splitlines()]


# ---------------------------------------------------------------------------------------------------


@dataclass
class Result:
    mode: str
    runner: str
    workers: int
    calls: int
    wall: float
    stage_seconds: float
    startup: float
    processed: int
    failed: int
    stage_means: dict

    @property
    def per_minute(self) -> float:
        return 60.0 * self.calls / self.wall

    @property
    def stage_per_call(self) -> float:
        return self.stage_seconds / self.calls

    @property
    def overhead_per_call(self) -> float:
        return (self.workers * self.wall - self.stage_seconds) / self.calls


def run_once(n: int, mode: str, runner: str, workers: int) -> Result:
    from callreview.flows.inbox import configured_flow
    from callreview.flows.settings import BatchSettings
    from callreview.storage.db import dispose_engines
    from callreview.storage.settings import StorageSettings
    from callreview.transcribe.settings import WhisperSettings

    inbox = inbox_for(n, mode)
    work = OUT / "runs" / f"{mode}-{runner}-{workers}-{n}"
    shutil.rmtree(work, ignore_errors=True)
    (work / "stages").mkdir(parents=True)
    os.environ[LOG_ENV] = str(work / "stages")  # Dask workers start inside the flow run and inherit it
    storage = StorageSettings(data_dir=work / "data")
    whisper = WhisperSettings(engine="openai-whisper", model=str(random_whisper_checkpoint()), **WHISPER_DECODING) \
        if mode == "whisper" else WhisperSettings()
    batch = BatchSettings(workers=workers, dask_address="local" if runner == "dask" else None)
    flow = configured_flow(batch)
    t0 = time.time()
    summary = flow(str(inbox), storage=storage, whisper=whisper)
    wall = time.time() - t0
    dispose_engines()
    os.environ.pop(LOG_ENV, None)
    records = read_stage_log(work / "stages")
    means = {s: sum(r["seconds"] for r in records if r["stage"] == s) / max(1, sum(r["stage"] == s for r in records))
             for s in STAGES}
    startup = (min(r["start"] for r in records) - t0) if records else float("nan")
    return Result(mode, runner, workers, n, wall, sum(r["seconds"] for r in records), startup,
                  summary.processed, summary.failed, means)


def print_table(results: list[Result]) -> None:
    head = ["mode", "runner", "workers", "calls", "wall s", "calls/min", "stage s/call", "  intake / transcribe / "
            "assess", "overhead s/call", "start-up s", "failed"]
    rows = [[r.mode, r.runner, str(r.workers), str(r.calls), f"{r.wall:.1f}", f"{r.per_minute:.1f}",
             f"{r.stage_per_call:.3f}", " / ".join(f"{r.stage_means[s]:.3f}" for s in STAGES),
             f"{r.overhead_per_call:.3f}", f"{r.startup:.1f}", str(r.failed)] for r in results]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    print("  ".join(h.rjust(w) for h, w in zip(head, widths)))
    for row in rows:
        print("  ".join(c.rjust(w) for c, w in zip(row, widths)))
    print()
    print("ratios (same mode, measured side by side)")
    by = {(r.mode, r.runner, r.workers): r for r in results}
    for (mode, runner, w), r in by.items():
        base = by.get((mode, runner, 1))
        if w != 1 and base:
            print(f"  {mode:9s} {runner:6s} {w} vs 1 worker: calls/min x{r.per_minute / base.per_minute:.2f}, "
                  f"overhead/call x{r.overhead_per_call / base.overhead_per_call:.2f}, "
                  f"stage s/call x{r.stage_per_call / base.stage_per_call:.2f}")
        thread = by.get((mode, "thread", w))
        if runner == "dask" and thread:
            print(f"  {mode:9s} dask vs thread, {w} worker(s): calls/min x{r.per_minute / thread.per_minute:.2f}, "
                  f"overhead/call {r.overhead_per_call:.3f} s vs {thread.overhead_per_call:.3f} s")
    for mode in dict.fromkeys(r.mode for r in results):
        t1 = by.get((mode, "thread", 1))
        if t1:
            print(f"  {mode:9s} thread, 1 worker: orchestration is {100 * t1.overhead_per_call * t1.calls / t1.wall:.0f}%"
                  f" of wall time")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", default="50", help="comma-separated call counts, e.g. 50,200 (default 50)")
    ap.add_argument("--modes", default="imported,whisper", help="imported, whisper (default both)")
    ap.add_argument("--runners", default="thread,dask", help="thread, dask (default both)")
    ap.add_argument("--workers", default="1,2", help="worker counts (default 1,2)")
    args = ap.parse_args()
    # `python bench/pipeline.py` puts bench/ first on sys.path, where bench/transcribe.py shadows the package.
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH]
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    server = None if os.environ.get("PREFECT_API_URL") else start_prefect_server()
    import dask

    # The Dask workers run this file's dask_setup: the stage timers are installed in every worker process.
    dask.config.set({"distributed.worker.preload": [str(Path(__file__).resolve())]})
    install_stage_timers()
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    load0 = os.getloadavg()
    results = []
    try:
        results = run_all(args)
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(30)
    print()
    print(f"bench/pipeline.py {' '.join(sys.argv[1:])}  (started {started}; {os.cpu_count()} CPUs; load average "
          f"{load0[0]:.1f} at start, {os.getloadavg()[0]:.1f} at end; Prefect API: "
          f"{'a `prefect server start` of its own' if server else os.environ['PREFECT_API_URL']})")
    print_table(results)


def run_all(args) -> list[Result]:
    results = []
    for n in (int(c) for c in args.calls.split(",")):
        for mode in args.modes.split(","):
            inbox_for(n, mode)
            for runner in args.runners.split(","):
                for workers in (int(w) for w in args.workers.split(",")):
                    print(f"running {n} calls, {mode}, {runner}, {workers} worker(s) ...", flush=True)
                    results.append(run_once(n, mode, runner, workers))
    return results


if __name__ == "__main__":
    main()
