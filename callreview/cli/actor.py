"""Who the audit log names for what a person does at the command line."""
from __future__ import annotations

import getpass


def cli_actor() -> str:
    """`cli:<login name>`, or `cli:unknown` where the login has no name."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no passwd entry in some containers
        return "cli:unknown"
