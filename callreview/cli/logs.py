"""Where the `callreview` loggers write when the command line runs.

Prefect puts a console handler on the root logger that keeps the stderr it saw when it was first
imported; once that stream is closed (a test runner's capture, a redirected shell) every warning
propagated to it prints a "Logging error" traceback instead of the warning. The package's own
loggers therefore write through a handler of their own that looks stderr up at each record.
"""
from __future__ import annotations

import logging
import os
import sys

_FORMAT = "%(levelname)s %(name)s: %(message)s"


class CurrentStderrHandler(logging.StreamHandler):
    """A stream handler bound to whatever `sys.stderr` is when a record is written."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self):  # noqa: D102 - logging.StreamHandler's attribute, made live
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def configure_package_logging() -> None:
    """Send `callreview.*` records to the current stderr at CALLREVIEW_LOG_LEVEL (default WARNING)."""
    package = logging.getLogger("callreview")
    package.setLevel(os.environ.get("CALLREVIEW_LOG_LEVEL", "WARNING").upper())
    if not any(isinstance(handler, CurrentStderrHandler) for handler in package.handlers):
        handler = CurrentStderrHandler()
        handler.setFormatter(logging.Formatter(_FORMAT))
        package.addHandler(handler)
    package.propagate = False
