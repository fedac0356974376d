"""One real Prefect server (`prefect server start`) for the whole test session, and the environment that
points `callreview` subprocesses at it.

Each `callreview` subprocess would otherwise start a temporary server of its own (several seconds each).
The server keeps its database in a temporary PREFECT_HOME, so it never touches ~/.prefect or a server
another test run started. It is started on first use and stopped when the session's Python exits.
"""
from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

_STARTUP_TIMEOUT_S = 180  # a loaded two-core CI machine takes 20-40 s to import and migrate
_server: dict | None = None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM it when the test process dies, even by SIGKILL (Linux)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # elsewhere the atexit hook below is the only clean-up


def _stop() -> None:
    global _server
    if _server is None:
        return
    proc: subprocess.Popen = _server["proc"]
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)  # its own process group: uvicorn and the services with it
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    _server["log"].close()
    shutil.rmtree(_server["home"], ignore_errors=True)
    _server = None


def prefect_api_url() -> str:
    """The API URL (http://127.0.0.1:PORT/api) of the session's Prefect server, starting it on first use."""
    global _server
    if _server is not None:
        return _server["url"]
    home = Path(tempfile.mkdtemp(prefix="callreview-prefect-"))
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_UI_ENABLED": "false", "PREFECT_SERVER_UI_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    log = open(home / "server.log", "w")
    proc = subprocess.Popen(["prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port), "--no-ui"],
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            preexec_fn=_die_with_parent)
    _server = {"proc": proc, "url": url, "home": home, "log": log}
    atexit.register(_stop)
    deadline = time.monotonic() + _STARTUP_TIMEOUT_S
    while not _healthy(url):
        if proc.poll() is not None or time.monotonic() > deadline:
            text = (home / "server.log").read_text(errors="replace")[-3000:]
            _stop()
            raise RuntimeError(f"prefect server start did not become healthy at {url}:\n{text}")
        time.sleep(0.5)
    return url


def cli_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """Environment for a `callreview` subprocess: the session's Prefect server, `data_dir`, and `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLREVIEW_")}
    env.update(PREFECT_API_URL=prefect_api_url(), PREFECT_HOME=str(_server["home"]),
               PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_LOGGING_LEVEL="WARNING",
               CALLREVIEW_DATA_DIR=str(data_dir))
    env.update(extra)
    return env
