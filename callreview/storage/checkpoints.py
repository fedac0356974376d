"""Signed checkpoints of the audit log, in an append-only file outside the database.

After every commit that adds audit rows, one JSON line is appended: the number of rows (the head's id,
ids being consecutive from 1), the head's hash, the time and the key's id, signed with the audit key.
Once a checkpoint is written, the rows it covers cannot be deleted or rewritten with SQL without
`callreview verify` noticing: the database no longer has a row with that id and hash.

Why every commit and not once per request or batch: each request and each batch stage is one commit
already, and a checkpoint is one small append (no fsync: losing the last lines in a power cut only leaves
the newest rows unanchored, it cannot raise a false alarm). Fewer checkpoints would leave every row
written since the last one open to silent deletion.

Processes append concurrently (web workers, the batch, the CLI), so lines are not in row order: each
line is written whole in one `write` under an exclusive `flock`, and `check_checkpoints` compares each
line with the database on its own.
"""
from __future__ import annotations

import fcntl
import hmac
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session, select

from callreview.storage.audit_key import AuditKey
from callreview.storage.dates import utcnow
from callreview.storage.tables import AuditEvent

logger = logging.getLogger(__name__)

_LABEL = "callreview audit checkpoint v1"
_ID_CHUNK = 500


@dataclass(frozen=True)
class Checkpoint:
    line: int
    rows: int
    head: str
    at: str
    key_id: str


@dataclass(frozen=True)
class CheckpointProblem:
    """Something about the checkpoint file, or the database against it, that does not hold."""

    line: int | None
    problem: str


@dataclass(frozen=True)
class CheckpointReport:
    path: str
    checkpoints: int = 0
    anchored_rows: int = 0  # the most rows any valid checkpoint vouches for
    problems: tuple[CheckpointProblem, ...] = ()


def _payload(rows: int, head: str, at: str, key_id: str) -> bytes:
    return json.dumps([_LABEL, rows, head, at, key_id], separators=(",", ":")).encode("utf-8")


def append_checkpoint(path: Path, key: AuditKey, rows: int, head: str) -> None:
    """Append one signed checkpoint line: the log has `rows` rows and ends in `head`."""
    at = utcnow().isoformat(timespec="microseconds")
    record = {"rows": rows, "head": head, "at": at, "key_id": key.id, "mac": key.sign(_payload(rows, head, at, key.id))}
    data = (json.dumps(record, separators=(",", ":")) + "\n").encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, data)
    finally:
        os.close(fd)  # releases the lock


def read_checkpoints(path: Path, key: AuditKey) -> tuple[list[Checkpoint], list[CheckpointProblem]]:
    """The valid checkpoints in `path`, and a problem for every line that is not one."""
    checkpoints: list[Checkpoint] = []
    problems: list[CheckpointProblem] = []
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    torn = lines.pop()  # after the last newline: empty, or a line a crash cut short
    for n, raw in enumerate(lines, 1):
        checkpoint, problem = _parse(n, raw, key)
        if problem:
            problems.append(CheckpointProblem(n, problem))
        elif checkpoint:
            checkpoints.append(checkpoint)
    if torn.strip():
        checkpoint, problem = _parse(len(lines) + 1, torn, key)
        if checkpoint:
            checkpoints.append(checkpoint)
        # An unfinished last line is what a crash mid-append leaves: noted in the log, not a custody problem.
        logger.warning("%s: line %d is incomplete (%s)", path, len(lines) + 1, problem or "no newline")
    return checkpoints, problems


def _parse(n: int, raw: bytes, key: AuditKey) -> tuple[Checkpoint | None, str | None]:
    if not raw.strip():
        return None, None
    try:
        record = json.loads(raw)
        rows, head, at, key_id, mac = (record["rows"], record["head"], record["at"], record["key_id"],
                                       record["mac"])
        if not (isinstance(rows, int) and rows > 0 and all(isinstance(v, str) for v in (head, at, key_id, mac))):
            raise ValueError
    except (ValueError, KeyError, TypeError):
        return None, "is not a checkpoint (JSON with rows, head, at, key_id, mac)"
    if key_id != key.id:
        return None, f"is signed with another key (id {key_id}; the key file holds {key.id})"
    if not _same(mac, key.sign(_payload(rows, head, at, key_id))):
        return None, "signature does not match: the line was edited or forged"
    return Checkpoint(n, rows, head, at, key_id), None


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


@dataclass(frozen=True)
class CheckpointFile:
    """The checkpoint file as read, before the database is looked at."""

    path: Path
    exists: bool
    checkpoints: tuple[Checkpoint, ...] = ()
    problems: tuple[CheckpointProblem, ...] = ()


def load_checkpoints(path: Path, key: AuditKey | None) -> CheckpointFile:
    """Read the checkpoint file. Read it before the database: every checkpoint in it then describes a
    commit the database snapshot read afterwards includes, so a commit racing `verify` cannot look like a
    deletion."""
    path = Path(path)
    if key is None or not path.exists():
        return CheckpointFile(path, path.exists())
    checkpoints, problems = read_checkpoints(path, key)
    return CheckpointFile(path, True, tuple(checkpoints), tuple(problems))


def check_checkpoints(session: Session, loaded: CheckpointFile, db_rows: int, keyed_rows: int) -> CheckpointReport:
    """Compare the database's audit log with the checkpoints read by `load_checkpoints`.

    Args:
        session: a session on the database (read-only is enough); nothing is written.
        loaded: the checkpoint file, read before this session's snapshot began.
        db_rows: audit rows in the database (its head's id).
        keyed_rows: how many of them are keyed.

    Returns:
        A CheckpointReport. Problems: a missing file while keyed rows exist, lines that are not valid
        signed checkpoints, two checkpoints that disagree about the same row, rows a checkpoint vouches
        for that are gone (deleted), and rows whose hash differs from their checkpoint (rewritten).
    """
    path = loaded.path
    if not loaded.exists:
        problems = (CheckpointProblem(None, f"{path} is missing, but the audit log has {keyed_rows} keyed rows: the "
                                            "file was removed, or CALLREVIEW_AUDIT_CHECKPOINT_FILE points elsewhere"),)
        return CheckpointReport(str(path), problems=problems if keyed_rows else ())
    problems = list(loaded.problems)
    by_rows: dict[int, Checkpoint] = {}
    for cp in loaded.checkpoints:
        seen = by_rows.setdefault(cp.rows, cp)
        if seen.head != cp.head:
            problems.append(CheckpointProblem(cp.line, f"says row {cp.rows} ends in {cp.head[:12]}…, line {seen.line} "
                                                       f"says {seen.head[:12]}…: the log forked"))
    missing = sorted(r for r in by_rows if r > db_rows)
    if missing:
        last = by_rows[missing[-1]]
        problems.append(CheckpointProblem(last.line, f"the log had {last.rows} rows at {last.at}; the database has "
                                                     f"{db_rows}: rows {db_rows + 1}..{last.rows} were deleted"))
    present = sorted(r for r in by_rows if r <= db_rows)
    hashes = _hashes(session, present)
    differ = [by_rows[r] for r in present if hashes.get(r) != by_rows[r].head]
    if differ:
        first = differ[0]
        more = f"; {len(differ) - 1} later checkpoints differ too" if len(differ) > 1 else ""
        problems.append(CheckpointProblem(first.line, f"row {first.rows} no longer ends the chain the checkpoint of "
                                                      f"{first.at} signed (hash {first.head[:12]}…): the chain was "
                                                      f"rewritten from row {first.rows} or earlier{more}"))
    return CheckpointReport(str(path), checkpoints=len(loaded.checkpoints), anchored_rows=max(by_rows, default=0),
                            problems=tuple(problems))


def _hashes(session: Session, ids: list[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for start in range(0, len(ids), _ID_CHUNK):
        chunk = ids[start:start + _ID_CHUNK]
        found.update(session.exec(select(AuditEvent.id, AuditEvent.hash).where(AuditEvent.id.in_(chunk))).all())
    return found
