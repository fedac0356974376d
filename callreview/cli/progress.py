"""`callreview run`'s progress bar: calls done, audio minutes done, and the finish estimated from the audio.

A night's calls differ in length, so the estimate is paced by audio seconds, not by calls: the bar's unit
is a second of recording, probed from each file's header before the batch starts (a file that cannot be
probed counts as none: intake will refuse it quickly). Calls are reported in inbox order, so the n-th
report is the n-th recording.
"""
from __future__ import annotations

from typing import Sequence

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from callreview.service.inbox_files import InboxEntry
from callreview.transcribe.audio import probe_audio
from callreview.transcribe.errors import TranscribeError


def recording_seconds(entries: Sequence[InboxEntry]) -> list[float]:
    """Each entry's duration from its header, 0 for one that is refused or cannot be probed."""
    out = []
    for entry in entries:
        try:
            out.append(0.0 if entry.refusal else probe_audio(entry.recording).duration)
        except (TranscribeError, OSError):
            out.append(0.0)
    return out


class BatchBar:
    """A rich progress bar over a batch; call it with (file, status) as each call ends."""

    def __init__(self, seconds: Sequence[float], console: Console, enabled: bool = True):
        self.seconds, self.done = list(seconds), 0
        # markup=False: the description is a file name from the inbox, which may hold "[" and "]".
        self.progress = Progress(TextColumn("{task.description}", markup=False), BarColumn(),
                                 TextColumn("{task.fields[calls]} calls"), TextColumn("{task.fields[audio]} audio min"),
                                 TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                                 console=console, disable=not enabled)
        self.task = self.progress.add_task("calls", total=max(sum(self.seconds), 1e-9),
                                           calls=self._calls(), audio=self._audio())

    def __enter__(self) -> BatchBar:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)

    def __call__(self, name: str, status: str) -> None:
        step = self.seconds[self.done] if self.done < len(self.seconds) else 0.0
        self.done += 1
        self.progress.update(self.task, advance=step, description=f"{name}: {status}",
                             calls=self._calls(), audio=self._audio())

    def _calls(self) -> str:
        return f"{self.done}/{len(self.seconds)}"

    def _audio(self) -> str:
        finished = sum(self.seconds[:self.done])
        return f"{finished / 60:.1f}/{sum(self.seconds) / 60:.1f}"
