"""The errors `transcribe` raises: one base class, and subclasses that keep their facts as attributes.

Every message starts with the file (or model) it is about, then says what is wrong, so that it can be used
as-is as a quarantine reason or printed by the CLI.
"""
from __future__ import annotations

from pathlib import Path


class TranscribeError(Exception):
    """Base class for everything `transcribe` raises on purpose."""


class AudioError(TranscribeError):
    """A recording could not be read: empty, corrupt, truncated, or not audio at all."""

    def __init__(self, path: str | Path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class UnsupportedFormat(AudioError, ValueError):
    """The file's extension or container is not one callreview accepts."""


class NoAudioStream(AudioError):
    """The file is a valid media container but holds no audio stream (e.g. a video without sound)."""


class RecordingTooLong(AudioError):
    """A recording lasts longer than the caller accepts: its header says so, or decoding it runs past the limit."""

    def __init__(self, path: str | Path, duration: float, limit: float, *, declared: bool = True):
        self.duration = duration
        self.limit = limit
        if declared:
            problem = (f"recording lasts {_clock(duration)} ({duration:,.0f} s), over the limit of "
                       f"{_clock(limit)} ({limit:,.0f} s)")
        else:
            header = f"its header declares {_clock(duration)}" if duration > 0 else "its header declares no duration"
            problem = f"recording decodes to more than the limit of {_clock(limit)} ({limit:,.0f} s); {header}"
        super().__init__(path, problem)


def _clock(seconds: float) -> str:
    """Seconds as h:mm:ss."""
    whole = int(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


class ModelError(TranscribeError):
    """A Whisper model is missing, corrupt, or does not match its expected checksum."""

    def __init__(self, model: str | Path, problem: str):
        self.model = str(model)
        self.problem = problem
        super().__init__(f"{self.model}: {problem}")


class TranscriptImportError(TranscribeError, ValueError):
    """An existing transcript (`.transcript.json` or `.vtt` sidecar) is malformed."""

    def __init__(self, path: str | Path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")
