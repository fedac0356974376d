"""The content-addressed audio archive: originals copied by SHA-256, read-only, re-verifiable.

A file is hashed while it is copied into a temporary name inside the archive, then renamed into place
(atomic on one filesystem), so a crash never leaves a half-written file under a real name.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from callreview.storage.errors import ArchiveError, FileTooLarge

_CHUNK = 1 << 20  # 1 MiB reads keep memory flat for hour-long recordings
INCOMING_PREFIX = ".incoming-"  # temporary names of copies in progress; never a real archive entry


@dataclass(frozen=True)
class ArchivedFile:
    sha256: str
    relative_path: str
    size: int


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def check_size(path: Path, maximum: int) -> int:
    """The file's size, refusing anything over `maximum` without reading it."""
    size = Path(path).stat().st_size
    if size > maximum:
        raise FileTooLarge(str(path), size, maximum)
    return size


def archive_relative_path(sha256: str, suffix: str) -> str:
    return f"{sha256[:2]}/{sha256}{suffix.lower()}"


def archive_file(src: Path, archive_dir: Path, *, max_bytes: int) -> ArchivedFile:
    """Copy `src` into the archive under its SHA-256 and return where it went.

    The original is only read. If the archive already holds the same bytes, nothing is written.

    Raises:
        FileTooLarge: over `max_bytes` (checked before reading).
        ArchiveError: the source cannot be read or the archived copy does not verify.
    """
    src = Path(src)
    size = check_size(src, max_bytes)
    archive_dir = Path(archive_dir)
    archive_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(prefix=INCOMING_PREFIX, dir=archive_dir)
    try:
        with open(src, "rb") as fin, os.fdopen(fd, "wb") as fout:
            while chunk := fin.read(_CHUNK):
                digest.update(chunk)
                fout.write(chunk)
            fout.flush()
            os.fsync(fout.fileno())
        sha = digest.hexdigest()
        rel = archive_relative_path(sha, src.suffix)
        dest = archive_dir / rel
        if dest.exists():
            os.unlink(tmp_name)
            if sha256_file(dest) != sha:
                raise ArchiveError(str(dest), "archived copy does not match its SHA-256; run `callreview verify`")
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(tmp_name, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
            os.replace(tmp_name, dest)
    except OSError as exc:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        if isinstance(exc, ArchiveError):
            raise
        raise ArchiveError(str(src), f"cannot archive: {exc.strerror or exc}") from None
    return ArchivedFile(sha256=sha, relative_path=rel, size=size)


def quarantine_file(src: Path, quarantine_dir: Path, reason: str, *, max_bytes: int) -> Path | None:
    """Copy a refused file into the quarantine folder beside a `.reason.txt`; return the copy's path.

    Files over the size limit (or unreadable) are not copied: only the reason is written.
    """
    src = Path(src)
    quarantine_dir = Path(quarantine_dir)
    quarantine_dir.mkdir(parents=True, exist_ok=True)
    safe_name = "".join(c if c.isalnum() or c in "._-" else "_" for c in src.name) or "unnamed"
    target = quarantine_dir / safe_name
    n = 1
    while target.exists() or target.with_name(target.name + ".reason.txt").exists():
        target = quarantine_dir / f"{n}-{safe_name}"
        n += 1
    copied: Path | None = None
    try:
        if src.is_file() and not src.is_symlink() and src.stat().st_size <= max_bytes:
            shutil.copyfile(src, target)
            copied = target
    except OSError:
        copied = None
    # A refused name may not be valid UTF-8: escape it rather than fail to record the refusal.
    target.with_name(target.name + ".reason.txt").write_text(f"{src}\n{reason}\n", encoding="utf-8",
                                                             errors="backslashreplace")
    return copied


STALE_INCOMING_S = 3600  # an hour: no copy in progress takes that long, so an older temp file is a crash's


def remove_stale_incoming(archive_dir: Path, older_than_s: float = STALE_INCOMING_S) -> list[Path]:
    """Delete `.incoming-*` temp files left by copies that were killed; return what was removed.

    Only files untouched for `older_than_s` go, so a batch running beside this one keeps its copy.
    """
    import time

    removed = []
    cutoff = time.time() - older_than_s
    for path in Path(archive_dir).glob(INCOMING_PREFIX + "*"):
        try:
            if path.is_file() and not path.is_symlink() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed.append(path)
        except FileNotFoundError:  # another run removed it first
            continue
    return removed
