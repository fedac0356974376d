"""Prefect's own CLI works against the API callreview's flows run on (issue 21): with FastAPI 0.151 to
0.154 the server refused `prefect deployment ls` with 422, because the client sends `"limit": null` and
`"sort": null` and those releases stopped filling a body field's default for an explicit null."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.mark.parametrize("command", [["deployment", "ls"], ["flow-run", "ls"], ["flow", "ls"]])
def test_prefect_list_commands_answer(command):
    from prefect.settings import PREFECT_API_URL

    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "COLUMNS": "200"}
    result = subprocess.run([sys.executable, "-m", "prefect", *command], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Unprocessable" not in result.stdout + result.stderr  # the 422 answer (a run id may hold "422")
