"""The temporary Prefect API server of a batch command, tied to the life of the process that started it.

With no `PREFECT_API_URL`, Prefect starts a temporary server on first use (`SubprocessASGIServer`: a
`python -m uvicorn` child, ~220 MB) and stops it from an atexit hook. A SIGKILL, or the OOM killer, runs no
atexit hook, and the server lived on as an orphan. So a batch command starts that server itself, first
thing, from its main thread, as a child that the kernel kills when its parent dies (Linux
`PR_SET_PDEATHSIG`), and puts it where Prefect looks for its default server, the way Prefect's own test
harness does: every part of Prefect then uses this server instead of starting its own. On a normal exit
Prefect's atexit hook still stops it, after the log and event workers have flushed into it.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading

import prefect
from prefect.server.api.server import SubprocessASGIServer
from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED, get_current_settings

# Runs in the server's process before uvicorn, instead of `python -m uvicorn`. The parent-death signal is
# set by the child itself, so no preexec_fn runs between fork and exec (unsafe with threads in the parent).
# SIGKILL, not SIGTERM: a graceful shutdown can wait on open connections, and the server's SQLite database
# survives a kill like any SQLite database.
_BOOT = """
import ctypes, os, runpy, signal, sys
parent = int(sys.argv.pop(1))
try:
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG (Linux)
except (AttributeError, OSError):
    pass  # elsewhere Prefect's atexit hook is the only clean-up
if os.getppid() != parent:
    sys.exit(1)  # the parent died before the signal was set: nobody is left to send it
sys.argv[0] = "uvicorn"
runpy.run_module("uvicorn", run_name="__main__", alter_sys=True)
"""


class OwnedServer(SubprocessASGIServer):
    """Prefect's temporary server, started so that it dies with the thread that started it."""

    def _run_uvicorn_command(self) -> subprocess.Popen:
        # Prefect 3.8.8's own command and environment (prefect/server/api/server.py), through _BOOT.
        env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
               "PREFECT__SERVER_FINAL": "1", **get_current_settings().to_environment_variables(exclude_unset=True)}
        return subprocess.Popen(
            [sys.executable, "-c", _BOOT, str(os.getpid()), "--app-dir", str(prefect.__module_path__.parent),
             "--factory", "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(self.port),
             "--log-level", "error", "--lifespan", "on"],
            env=env)


def start_owned_server() -> SubprocessASGIServer | None:
    """Start the temporary API server this process will use, unless Prefect is pointed at a server.

    Call it from the main thread (the kernel signals the child when the thread that started it ends) before
    any flow runs. Returns the running server, or None when `PREFECT_API_URL` is set, the temporary server
    is turned off, or this is not the main thread (Prefect then behaves as it always did).
    """
    if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED or \
            threading.current_thread() is not threading.main_thread():
        return None
    current = SubprocessASGIServer._instances.get(None)
    if current is not None and current.running:
        return current
    SubprocessASGIServer._instances.pop(None, None)
    server = OwnedServer()  # registers itself under None, where Prefect's `SubprocessASGIServer()` finds it
    server.start()
    return server
