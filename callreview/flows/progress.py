"""How a batch tells its caller (the CLI's progress bar) that each call has ended.

The caller passes a `ProgressListener` to the flow as a parameter. Prefect sends the flow's parameters
to Dask workers with every task (in the serialized flow run context), and a terminal progress bar cannot
travel; nothing on a worker reports progress anyway, so a pickled listener arrives as one that does nothing.
"""
from __future__ import annotations

from typing import Callable

Report = Callable[[str, str], None]


class ProgressListener:
    """Calls `report(file, status)` as each call of a batch ends, in the process that runs the flow."""

    def __init__(self, report: Report | None = None):
        self._report = report

    def __call__(self, name: str, status: str) -> None:
        if self._report is not None:
            self._report(name, status)

    def __reduce__(self):
        return (ProgressListener, ())
