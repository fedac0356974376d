"""What an inbox folder holds: recordings, their sidecars, and entries that must be refused."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from transcribe.audio import SUPPORTED_EXTENSIONS

SIDECAR_SUFFIXES = (".json", ".vtt")


@dataclass(frozen=True)
class InboxEntry:
    recording: Path
    log_sidecar: Path | None
    refusal: str | None = None  # set when the entry must be quarantined before it is even read


def _sidecar(recording: Path, suffix: str) -> Path | None:
    candidate = recording.with_name(recording.stem + suffix)
    return candidate if candidate.is_file() else None


def scan_inbox(inbox: Path) -> list[InboxEntry]:
    """List the recordings in `inbox` (not recursive), sorted by name, with their log sidecars.

    A symlink that leads outside the inbox is listed with a refusal: following it would archive a file
    nobody put in the inbox.
    """
    inbox = Path(inbox)
    root = inbox.resolve()
    entries = []
    for path in sorted(inbox.iterdir(), key=lambda p: p.name):
        if path.suffix.lower() not in SUPPORTED_EXTENSIONS:
            continue
        refusal = None
        if path.is_symlink():
            target = path.resolve()
            if root not in target.parents:
                refusal = f"{path}: symlink points outside the inbox (to {target}); refused"
        if refusal is None and not path.is_file():
            if path.exists():
                refusal = f"{path}: not a regular file"
            else:
                refusal = f"{path}: broken symlink"
        entries.append(InboxEntry(recording=path, log_sidecar=_sidecar(path, ".json"), refusal=refusal))
    return entries
