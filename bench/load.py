"""Load bench: signed-in users against a real web server, beside a `callreview run`, on SQLite and PostgreSQL.

Usage: python bench/load.py [--users 6] [--seconds 40] [--databases sqlite,postgres] [--postgres-url URL]
                            [--batch-calls 150 | --no-batch] [--scrypt-n 32768] [--json]

For each database, one after the other on the same machine:
1. a fresh data folder and database (PostgreSQL: a new database on the server of --postgres-url, default
   $CALLREVIEW_TEST_POSTGRES_URL, dropped afterwards) holding --seed-calls calls made from samples/ (each
   with its own bytes and id) and the users: two thirds reviewers, the rest supervisors;
2. `callreview web` in its own process (uvicorn, on a free port of 127.0.0.1) and, unless --no-batch,
   `callreview run` in another, taking in an inbox of --batch-calls more calls into the same database;
   the users start once the batch has taken in its first call, so the whole window overlaps it;
3. each user, in a thread of this process with its own cookie jar, sends requests back to back until
   --seconds have passed: the queue (reviewers), call pages, searches, audio with a Range header, a fresh
   sign-in, and sign-ins with a wrong password (a login CSRF form fetch, then the POST);
4. every request is timed; a 5xx answer counts as an error, and so does a dropped connection (no answer);
   any other answer a request should not get (e.g. a redirect to sign-in) is counted apart;
5. afterwards the audit log is read back: the rows web users wrote against the audited requests that were
   answered, and `verify_audit_chain` over the whole chain.
The figures print side by side, one column per database. Traffic goes to 127.0.0.1 only.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import wave
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
SAMPLES = ROOT / "samples"
# `python bench/load.py` puts bench/ first on sys.path, where bench/transcribe.py shadows the package.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() not in (BENCH, ROOT)]
PASSWORD = "load bench password 1"
SEARCH_WORDS = ("warrant", "door", "ICE", "knock", "felony", '"administrative warrant"', "detainer", "apartment")
# (kind, weight) per role; the weights are the share of that role's requests.
MIX = {
    "reviewer": (("queue", 30), ("call", 25), ("audio", 20), ("search", 10), ("sign_in", 5), ("wrong_password", 10)),
    "supervisor": (("call", 30), ("audio", 20), ("search", 35), ("sign_in", 5), ("wrong_password", 10)),
}
EXPECTED = {"queue": 200, "call": 200, "audio": 206, "search": 200, "login_form": 200, "sign_in": 303,
            "wrong_password": 401}
# The requests that write one audit row each (the login form and its redirects write none).
AUDITED = ("queue", "call", "audio", "search", "sign_in", "wrong_password")


# ---------------------------------------------------------------------------------------------------
# Data: calls made from the three samples, each with its own bytes (so its own SHA-256) and id.

def write_calls(folder: Path, prefix: str, n: int) -> list[str]:
    """n calls in `folder` (recording, log sidecar where the sample has one, transcript sidecar)."""
    folder.mkdir(parents=True, exist_ok=True)
    samples = sorted(SAMPLES.glob("*.wav"))
    call_ids = []
    for i in range(n):
        sample = samples[i % len(samples)]
        call_id = f"{prefix}-{i:04d}"
        with wave.open(str(sample), "rb") as w:
            params, frames = w.getparams(), bytearray(w.readframes(w.getnframes()))
        frames[:4] = i.to_bytes(4, "little")  # one inaudible sample differs: a new recording
        with wave.open(str(folder / f"{call_id}.wav"), "wb") as w:
            w.setparams(params)
            w.writeframes(bytes(frames))
        log = sample.with_suffix(".json")
        if log.exists():
            data = json.loads(log.read_text())
            data["call_id"] = call_id
            (folder / f"{call_id}.json").write_text(json.dumps(data))
        shutil.copy(sample.with_suffix(".transcript.json"), folder / f"{call_id}.transcript.json")
        call_ids.append(call_id)
    return call_ids


def seed(settings, folder: Path, n_calls: int, users: list[tuple[str, str]], scrypt_n: int) -> list[str]:
    """Take in n_calls through the real stages and create the users; return the call ids."""
    from callreview.core.rules import load_rules
    from callreview.service.assessment import assess_stored_call
    from callreview.service.intake import take_in
    from callreview.service.transcription import transcribe_call
    from callreview.service.users import create_user
    from callreview.storage.db import dispose_engines, open_session

    rules = load_rules()
    call_ids = write_calls(folder, "LOAD", n_calls)
    for call_id in call_ids:
        wav, log = folder / f"{call_id}.wav", folder / f"{call_id}.json"
        with open_session(settings) as session:
            intake = take_in(session, "batch", settings, wav, log if log.exists() else None)
            transcribe_call(session, "batch", settings.archive_dir, intake.call_pk, wav, engine_factory=None)
            assess_stored_call(session, "batch", intake.call_pk, rules)
    with open_session(settings) as session:
        for name, role in users:
            create_user(session, username=name, password=PASSWORD, role=role, actor="bench", scrypt_n=scrypt_n)
        session.commit()
    dispose_engines()
    return call_ids


# ---------------------------------------------------------------------------------------------------
# Processes: the web server and the batch, each with the database's environment.

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cli(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    """`callreview ARGS` from this checkout, in its own process group (so it can be stopped whole)."""
    return subprocess.Popen([sys.executable, "-c", "from callreview.cli.app import app; app()", *args], env=env, cwd=log.parent,
                            stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True)


def _stop(proc: subprocess.Popen, sig: int = signal.SIGINT, wait: float = 20) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _wait_for_server(base: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the web server did not start; see {log}")
        time.sleep(0.2)


def _batch_calls_in(settings) -> int:
    from sqlalchemy import func
    from sqlmodel import select

    from callreview.storage.db import open_session
    from callreview.storage.tables import AuditEvent

    with open_session(settings) as session:
        return session.exec(select(func.count()).select_from(AuditEvent)
                            .where(AuditEvent.actor == "batch", AuditEvent.action == "intake")).one()


# ---------------------------------------------------------------------------------------------------
# Users.

@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    kinds: Counter = field(default_factory=Counter)
    server_errors: Counter = field(default_factory=Counter)
    dropped: Counter = field(default_factory=Counter)
    unexpected: Counter = field(default_factory=Counter)
    answered_audited: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, seconds: float, status: int | None) -> None:
        with self.lock:
            self.latencies.append(seconds)
            self.kinds[kind] += 1
            if status is None:
                self.dropped[kind] += 1
            elif status >= 500:
                self.server_errors[kind] += 1
            else:
                if status != EXPECTED[kind]:
                    self.unexpected[f"{kind} {status}"] += 1
                if kind in AUDITED:
                    self.answered_audited += 1


class User:
    def __init__(self, base: str, name: str, role: str, call_ids: list[str], tally: Tally, seed_: int):
        self.base, self.name, self.role, self.call_ids, self.tally = base, name, role, call_ids, tally
        self.rng = random.Random(seed_)
        self.client: httpx.Client | None = None

    def _timed(self, kind: str, client: httpx.Client, method: str, path: str, **kwargs) -> httpx.Response | None:
        start = time.perf_counter()
        try:
            response = client.request(method, path, **kwargs)
        except httpx.TransportError:
            self.tally.add(kind, time.perf_counter() - start, None)
            return None
        self.tally.add(kind, time.perf_counter() - start, response.status_code)
        return response

    def _sign_in(self, password: str, kind: str) -> httpx.Client | None:
        client = httpx.Client(base_url=self.base, timeout=60, follow_redirects=False)
        form = self._timed("login_form", client, "GET", "/login")
        token = None
        if form is not None and form.status_code == 200:
            marker = 'name="csrf_token" value="'
            start = form.text.find(marker)
            token = form.text[start + len(marker):form.text.find('"', start + len(marker))] if start >= 0 else None
        if token is None:
            client.close()
            return None
        response = self._timed(kind, client, "POST", "/login",
                               data={"username": self.name, "password": password, "csrf_token": token, "next": ""})
        if response is None or response.status_code != 303:
            client.close()
            return None
        return client

    def run(self, deadline: float) -> None:
        self.client = self._sign_in(PASSWORD, "sign_in")
        kinds, weights = zip(*MIX[self.role])
        while time.monotonic() < deadline:
            if self.client is None:  # a failed sign-in: try again
                self.client = self._sign_in(PASSWORD, "sign_in")
                continue
            kind = self.rng.choices(kinds, weights)[0]
            call_id = self.rng.choice(self.call_ids)
            if kind == "queue":
                self._timed(kind, self.client, "GET", "/queue")
            elif kind == "call":
                self._timed(kind, self.client, "GET", f"/calls/{call_id}")
            elif kind == "audio":
                start = self.rng.randrange(0, 200_000)
                self._timed(kind, self.client, "GET", f"/calls/{call_id}/audio",
                            headers={"Range": f"bytes={start}-{start + 65535}"})
            elif kind == "search":
                self._timed(kind, self.client, "GET", "/search", params={"q": self.rng.choice(SEARCH_WORDS)})
            elif kind == "sign_in":
                fresh = self._sign_in(PASSWORD, "sign_in")
                if fresh is not None:
                    self.client.close()
                    self.client = fresh
            else:
                wrong = self._sign_in("not the password", "wrong_password")
                if wrong is not None:
                    wrong.close()
        if self.client is not None:
            self.client.close()


def users_of(n: int) -> list[tuple[str, str]]:
    reviewers = max(1, round(n * 2 / 3)) if n > 1 else 1
    return [(f"reviewer{i + 1}", "reviewer") for i in range(reviewers)] + \
           [(f"supervisor{i + 1}", "supervisor") for i in range(n - reviewers)]


# ---------------------------------------------------------------------------------------------------
# One database.

def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def _audit_after(settings) -> dict:
    from sqlalchemy import func
    from sqlmodel import select

    from callreview.storage.audit import verify_audit_chain
    from callreview.storage.db import dispose_engines, open_session
    from callreview.storage.tables import AuditEvent

    with open_session(settings) as session:
        web_rows = session.exec(select(func.count()).select_from(AuditEvent)
                                .where(AuditEvent.actor.like("web:%"))).one()
        total = session.exec(select(func.count()).select_from(AuditEvent)).one()
        problems = verify_audit_chain(session)
    dispose_engines()
    return {"audit_rows": total, "audit_rows_web": web_rows, "chain_problems": len(problems),
            "chain_first_problems": [f"{p.event_id}: {p.problem}" for p in problems[:3]]}


def run_one(label: str, url: str | None, args, work: Path) -> dict:
    from callreview.storage.settings import StorageSettings

    data = work / "data"
    settings = StorageSettings(data_dir=data, database_url=url)
    users = users_of(args.users)
    print(f"[{label}] seeding {args.seed_calls} calls and {len(users)} users ...", file=sys.stderr, flush=True)
    call_ids = seed(settings, work / "seed", args.seed_calls, users, args.scrypt_n)
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "CALLREVIEW_DATA_DIR": str(data), "CALLREVIEW_DATABASE_URL": settings.url,
           "CALLREVIEW_WEB_SCRYPT_N": str(args.scrypt_n), "PREFECT_HOME": str(work / "prefect"),
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = _cli(["web", "--port", str(port)], env, work / "web.log")
    batch = None
    try:
        _wait_for_server(base, server, work / "web.log")
        if args.batch_calls:
            write_calls(work / "inbox", "BATCH", args.batch_calls)
            batch = _cli(["run", str(work / "inbox"), "--json", "--quiet"], env, work / "batch.log")
            print(f"[{label}] waiting for `callreview run` to take in its first call ...", file=sys.stderr, flush=True)
            deadline = time.monotonic() + 180
            while _batch_calls_in(settings) == 0:
                if batch.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"`callreview run` took in nothing; see {work / 'batch.log'}")
                time.sleep(0.5)
        print(f"[{label}] {len(users)} users for {args.seconds} s ...", file=sys.stderr, flush=True)
        tally = Tally()
        started = time.monotonic()
        deadline = started + args.seconds
        threads = [threading.Thread(target=User(base, name, role, call_ids, tally, i).run, args=(deadline,))
                   for i, (name, role) in enumerate(users)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        batch_state = None
        if batch is not None:
            batch_state = "finished" if batch.poll() is not None else "still running (stopped)"
    finally:
        if batch is not None:
            _stop(batch)
        _stop(server)
    batch_in = _batch_calls_in(settings) if args.batch_calls else 0
    audit = _audit_after(settings)
    lat = tally.latencies
    return {
        "database": label, "users": len(users), "seconds": round(elapsed, 1), "requests": len(lat),
        "requests_per_s": round(len(lat) / elapsed, 1) if elapsed else None,
        "errors_5xx": sum(tally.server_errors.values()), "dropped": sum(tally.dropped.values()),
        "errors_by_kind": dict(tally.server_errors + tally.dropped), "unexpected": dict(tally.unexpected),
        "p50_ms": _ms(_percentile(lat, 50)), "p95_ms": _ms(_percentile(lat, 95)), "p99_ms": _ms(_percentile(lat, 99)),
        "by_kind": dict(tally.kinds), "batch": batch_state, "batch_calls_taken_in": batch_in,
        "audited_requests_answered": tally.answered_audited, **audit,
    }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def _postgres_database(admin_url: str):
    """A context manager yielding the URL of a new PostgreSQL database, dropped on exit."""
    import contextlib

    import sqlalchemy

    @contextlib.contextmanager
    def manager():
        name = f"cr_load_{uuid.uuid4().hex[:10]}"
        admin = sqlalchemy.create_engine(admin_url.replace("postgresql://", "postgresql+psycopg://", 1),
                                         isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield admin_url.rsplit("/", 1)[0] + "/" + name
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()

    return manager()


ROWS = (("users", "users"), ("seconds", "seconds"), ("requests", "requests"), ("req/s", "requests_per_s"),
        ("errors 5xx", "errors_5xx"), ("dropped", "dropped"), ("p50 ms", "p50_ms"), ("p95 ms", "p95_ms"),
        ("p99 ms", "p99_ms"), ("other answers", "unexpected"), ("batch calls in", "batch_calls_taken_in"),
        ("batch", "batch"), ("audited answered", "audited_requests_answered"), ("audit rows web", "audit_rows_web"),
        ("chain problems", "chain_problems"))


def print_table(results: list[dict]) -> None:
    width = 28
    print("".ljust(20) + "".join(r["database"].ljust(width) for r in results))
    for title, key in ROWS:
        cells = []
        for r in results:
            value = r.get(key)
            if isinstance(value, dict):
                value = ", ".join(f"{k}: {v}" for k, v in sorted(value.items())) or "none"
            cells.append(str(value)[:width - 2].ljust(width))
        print(title.ljust(20) + "".join(cells))
    for r in results:
        if r["errors_by_kind"]:
            print(f"{r['database']}: errors by request: {r['errors_by_kind']}")
        if r["chain_first_problems"]:
            print(f"{r['database']}: first chain problems: {r['chain_first_problems']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=6, help="signed-in users (2/3 reviewers, default 6)")
    parser.add_argument("--seconds", type=float, default=40, help="how long the users send requests (default 40)")
    parser.add_argument("--databases", default="sqlite,postgres", help="sqlite, postgres or both (default both)")
    parser.add_argument("--postgres-url", default=os.environ.get("CALLREVIEW_TEST_POSTGRES_URL"),
                        help="a PostgreSQL URL whose role may create databases (default $CALLREVIEW_TEST_POSTGRES_URL)")
    parser.add_argument("--seed-calls", type=int, default=12, help="calls in the database before the load")
    parser.add_argument("--batch-calls", type=int, default=150, help="calls `callreview run` takes in beside the load")
    parser.add_argument("--no-batch", action="store_true", help="no `callreview run` beside the users")
    parser.add_argument("--scrypt-n", type=int, default=2 ** 15, help="password hash cost (the product default)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    if args.users < 1 or args.seconds <= 0 or args.seconds > 600:
        parser.error("--users must be at least 1 and --seconds between 0 and 600")
    if args.no_batch:
        args.batch_calls = 0
    results = []
    for label in [d.strip() for d in args.databases.split(",") if d.strip()]:
        with tempfile.TemporaryDirectory(prefix=f"callreview-load-{label}-") as tmp:
            if label == "sqlite":
                results.append(run_one(label, None, args, Path(tmp)))
            elif label == "postgres":
                if not args.postgres_url:
                    print("postgres: skipped, no --postgres-url (or CALLREVIEW_TEST_POSTGRES_URL)", file=sys.stderr)
                    continue
                with _postgres_database(args.postgres_url) as url:
                    results.append(run_one(label, url, args, Path(tmp)))
            else:
                parser.error(f"--databases: unknown database {label!r} (sqlite or postgres)")
    if args.json:
        print(json.dumps(results, indent=1))
    else:
        print_table(results)
    return 0 if all(r["errors_5xx"] == 0 and r["dropped"] == 0 and r["chain_problems"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
