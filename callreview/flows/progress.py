"""Where the CLI's progress bar listens for finished calls.

A plain module-level slot rather than a ContextVar: prefect-dask pickles the flow function, and a
ContextVar (or a lambda in one) cannot be pickled.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

Hook = Callable[[str, str], None]
_hook: Hook | None = None


def report(name: str, status: str) -> None:
    """Tell the listener, if any, that the call in file `name` ended with `status`."""
    if _hook is not None:
        _hook(name, status)


@contextmanager
def listening(hook: Hook) -> Iterator[None]:
    """Send every `report` to `hook` while the block runs."""
    global _hook
    previous, _hook = _hook, hook
    try:
        yield
    finally:
        _hook = previous
