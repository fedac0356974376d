"""Inboxes of spoken calls for the flow tests, rendered from case files by shared/tools/make_inbox.py."""
from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "tests" / "data" / "cases"
MAKE_INBOX = ROOT.parent / "shared" / "tools" / "make_inbox.py"


def render_inbox(case_files: Iterable[Path], tmp_path_factory, name: str) -> Path:
    """Render the cases (espeak-ng voices) into a new inbox folder, each call with its transcript sidecar."""
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (.ci/install installs it)")
    if not MAKE_INBOX.is_file():  # a clone outside the workspace has no ../shared beside it
        pytest.skip(f"{MAKE_INBOX} not found: these calls are rendered by the shared tools beside the clone")
    cases = tmp_path_factory.mktemp(f"{name}-cases")
    for case in case_files:
        shutil.copy(case, cases / case.name)
    inbox = tmp_path_factory.mktemp(f"{name}-inbox")
    subprocess.run([sys.executable, str(MAKE_INBOX), str(cases), str(inbox), "--with-transcript"], check=True,
                   capture_output=True)
    return inbox
