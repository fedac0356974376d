"""What an inbox folder holds: recordings, their sidecars, and entries that must be refused.

The inbox is written by other systems (and, potentially, by someone hostile), so an entry is refused
before anything reads it when its name or its kind of file is not safe:
- a recording or sidecar that is a symlink leading outside the inbox (following it would take in a file
  nobody put in the inbox);
- a recording or sidecar that is not a regular file (a folder, a FIFO that would block a read, a broken link);
- a name that is not valid UTF-8 or holds control characters (it cannot be shown, logged or stored as is).
"""
from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from callreview.transcribe.audio import SUPPORTED_EXTENSIONS

SIDECAR_SUFFIXES = (".json", ".vtt")
# Every file that travels with a recording: its decision log and its transcript (callreview.transcribe.imports).
_COMPANION_SUFFIXES = (".json", ".transcript.json", ".vtt")


@dataclass(frozen=True)
class InboxEntry:
    recording: Path
    log_sidecar: Path | None
    refusal: str | None = None  # set when the entry must be quarantined before it is even read


def display_path(path: Path | str) -> str:
    """The path as printable text: undecodable bytes and control characters escaped, anything else as is."""
    text = os.fsencode(str(path)).decode("utf-8", "backslashreplace")
    return "".join(ascii(c)[1:-1] if unicodedata.category(c) in ("Cc", "Cf") else c for c in text)


def name_problem(path: Path) -> str | None:
    """Why a file name cannot be taken in as is, or None."""
    try:
        path.name.encode("utf-8")
    except UnicodeEncodeError:
        return "file name is not valid UTF-8"
    if any(unicodedata.category(c) == "Cc" for c in path.name):
        return "file name contains control characters"
    return None


def link_problem(path: Path, root: Path) -> str | None:
    """Why `path` (a recording or sidecar in the inbox) must not be read, or None."""
    if path.is_symlink():
        target = path.resolve()
        if root not in target.parents:
            return f"symlink points outside the inbox (to {display_path(target)}); refused"
    if not path.is_file():
        return "not a regular file" if path.exists() else "broken symlink"
    return None


def _sidecar(recording: Path, suffix: str) -> Path | None:
    candidate = recording.with_name(recording.stem + suffix)
    return candidate if candidate.is_file() else None


def refusal_for(recording: Path, root: Path | None = None) -> str | None:
    """Why `recording` must be refused before it is read (the message names the file), or None.

    Args:
        recording: a recording in the inbox.
        root: the inbox, resolved; default: the recording's folder.
    """
    root = root if root is not None else recording.parent.resolve()
    problem = name_problem(recording) or link_problem(recording, root)
    if problem:
        return f"{display_path(recording)}: {problem}"
    for suffix in _COMPANION_SUFFIXES:
        companion = recording.with_name(recording.stem + suffix)
        if os.path.lexists(companion):
            problem = link_problem(companion, root)
            if problem:
                return f"{display_path(companion)}: sidecar of {display_path(recording.name)}: {problem}"
    return None


def scan_inbox(inbox: Path) -> list[InboxEntry]:
    """List the recordings in `inbox` (not recursive), sorted by name, with their log sidecars.

    A recording is listed with a refusal (see the module docstring) when it, or one of its sidecars, must
    not be read.
    """
    inbox = Path(inbox)
    root = inbox.resolve()
    entries = []
    for path in sorted(inbox.iterdir(), key=lambda p: p.name):
        if path.suffix.lower() not in SUPPORTED_EXTENSIONS:
            continue
        entries.append(InboxEntry(recording=path, log_sidecar=_sidecar(path, ".json"), refusal=refusal_for(path, root)))
    return entries
