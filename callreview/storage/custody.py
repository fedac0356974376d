"""Chain of custody: prove that every archived recording is still the file that was taken in, and that
the audit log and the evidence rows beside it are what was written.

`verify_archive` works in this order:
0. the checkpoint file is read first (`callreview.storage.checkpoints.load_checkpoints` says why), then everything
   else from the session's one snapshot;
1. every call that still has audio (status other than `purged`): its archive path must be the one its
   SHA-256 names, the file must be there, be a regular file, and re-hash to the stored SHA-256, which must
   also be the SHA-256 the (hash-chained) audit log recorded when the call was taken in;
2. every file in the archive folder must belong to such a call: anything else is orphaned, and the
   `.incoming-*` temporary files an interrupted copy leaves behind are reported apart, as leftovers;
3. the audit log's keyed hash chain (`callreview.storage.audit.verify_audit_chain`);
4. the database against the signed checkpoints outside it (`callreview.storage.checkpoints.check_checkpoints`):
   rows deleted after a checkpoint, a rewritten chain;
5. the decision logs, transcript versions, dispositions and review items against the audit events that
   wrote them (`callreview.storage.evidence.verify_evidence`).

Hashing streams each file in chunks, so memory stays flat whatever the size of the archive. Nothing
here writes: the caller records the check in the audit log. Give it a read-only session
(`open_session(read_only=True)`): one snapshot for all the checks, and writers are not held up.
"""
from __future__ import annotations

import json
import os
import stat
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, select

from callreview.storage.archive import INCOMING_PREFIX, archive_relative_path, sha256_file
from callreview.storage.audit import ChainProblem, anchor_of, audit_head, count_keyed_rows, verify_audit_chain
from callreview.storage.audit_key import AuditKeyError
from callreview.storage.checkpoints import CheckpointProblem, check_checkpoints, load_checkpoints
from callreview.storage.evidence import EvidenceProblem, verify_evidence
from callreview.storage.settings import StorageSettings
from callreview.storage.tables import AuditEvent, Call

PURGED = "purged"


@dataclass(frozen=True)
class FileProblem:
    """One archive file (relative to the archive folder) that does not hold up, and why."""

    path: str
    problem: str
    call_id: str | None = None


@dataclass(frozen=True)
class CustodyReport:
    """What `verify_archive` found. `ok` is False when anything at all is wrong."""

    archive_dir: str
    checked: int
    verified: int
    missing: tuple[FileProblem, ...] = ()
    altered: tuple[FileProblem, ...] = ()
    orphaned: tuple[FileProblem, ...] = ()
    leftovers: tuple[FileProblem, ...] = ()
    audit_rows: int = 0
    audit_head: str | None = None
    audit_problems: tuple[ChainProblem, ...] = field(default=())
    audit_key_id: str | None = None
    audit_unkeyed_rows: int = 0  # written before the chain was keyed
    checkpoint_file: str | None = None
    checkpoints: int = 0
    anchored_rows: int = 0  # rows the newest valid checkpoint vouches for; those after it are not anchored yet
    checkpoint_problems: tuple[CheckpointProblem, ...] = field(default=())
    evidence_checked: dict[str, int] = field(default_factory=dict)
    evidence_not_covered: dict[str, int] = field(default_factory=dict)
    evidence_problems: tuple[EvidenceProblem, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not (self.missing or self.altered or self.orphaned or self.leftovers or self.audit_problems
                    or self.checkpoint_problems or self.evidence_problems)

    def to_dict(self) -> dict:
        """The report as JSON-ready data (what `callreview verify --json` prints)."""
        data = asdict(self)
        data["ok"] = self.ok
        return data


def verify_archive(session: Session, settings: StorageSettings) -> CustodyReport:
    """Re-hash every archived recording and check the archive folder and the audit chain.

    Args:
        session: an open session; nothing is written through it.
        settings: where the archive lives.

    Returns:
        A CustodyReport listing missing, altered, orphaned and leftover files, audit chain problems,
        checkpoint problems and evidence rows that differ from their audit events.
    """
    anchor = anchor_of(session)
    try:
        key = anchor.key_for_verify()
    except AuditKeyError:
        key = None  # the chain check reports why
    checkpoint_file = load_checkpoints(anchor.checkpoint_path, key)
    archive_dir = Path(settings.archive_dir)
    intake_sha = _sha256_at_intake(session)
    expected: dict[str, str] = {}  # archive path -> call_id, for calls whose audio should be there
    purged: dict[str, str] = {}
    missing: list[FileProblem] = []
    altered: list[FileProblem] = []
    checked = verified = 0
    rows = session.exec(select(Call.call_id, Call.sha256, Call.archive_path, Call.size_bytes, Call.status)
                        .order_by(Call.id))
    for call_id, sha, rel, size, status in rows:
        if status == PURGED:
            purged[rel] = call_id
            continue
        checked += 1
        expected[rel] = call_id
        problem = _record_problem(call_id, sha, rel, intake_sha)
        if problem is None:
            problem = _file_problem(archive_dir / rel, sha, size)
            if problem == "missing":
                missing.append(FileProblem(rel, "file is missing from the archive", call_id))
                continue
        if problem is None:
            verified += 1
        else:
            altered.append(FileProblem(rel, problem, call_id))
    orphaned, leftovers = _unexpected_files(archive_dir, expected, purged)
    audit_problems = verify_audit_chain(session)
    head = audit_head(session)
    audit_rows = session.exec(select(func.count()).select_from(AuditEvent)).one()
    keyed = count_keyed_rows(session)
    checkpoints = check_checkpoints(session, checkpoint_file, head.rows, keyed)
    checkpoint_problems = list(checkpoints.problems)
    if key is None and checkpoint_file.exists and checkpoint_file.path.stat().st_size:
        checkpoint_problems.append(CheckpointProblem(None, f"{checkpoint_file.path} holds checkpoints, but there is no "
                                                           f"audit key at {anchor.key_path} to check them with"))
    evidence = verify_evidence(session)
    return CustodyReport(archive_dir=str(archive_dir), checked=checked, verified=verified, missing=tuple(missing),
                         altered=tuple(altered), orphaned=tuple(orphaned), leftovers=tuple(leftovers),
                         audit_rows=audit_rows, audit_head=head.hash, audit_problems=tuple(audit_problems),
                         audit_key_id=key.id if key else None, audit_unkeyed_rows=audit_rows - keyed,
                         checkpoint_file=str(checkpoint_file.path), checkpoints=checkpoints.checkpoints,
                         anchored_rows=checkpoints.anchored_rows, checkpoint_problems=tuple(checkpoint_problems),
                         evidence_checked=dict(sorted(evidence.checked.items())),
                         evidence_not_covered=dict(sorted((k, v) for k, v in evidence.not_covered.items() if v)),
                         evidence_problems=tuple(evidence.problems))


def _sha256_at_intake(session: Session) -> dict[str, str]:
    """call_id -> the SHA-256 the audit log recorded when the call was taken in."""
    found: dict[str, str] = {}
    for object_id, detail_json in session.exec(select(AuditEvent.object_id, AuditEvent.detail_json)
                                               .where(AuditEvent.action == "intake")):
        try:
            sha = json.loads(detail_json).get("sha256")
        except (ValueError, AttributeError):
            continue  # an edited row; the chain check reports it
        if isinstance(sha, str):
            found[object_id] = sha
    return found


def _record_problem(call_id: str, sha: str, rel: str, intake_sha: dict[str, str]) -> str | None:
    """A call row that contradicts itself or the audit log (edited in the database)."""
    if call_id in intake_sha and intake_sha[call_id] != sha:
        return (f"the call's stored SHA-256 {sha[:12]}… differs from the {intake_sha[call_id][:12]}… "
                "recorded in the audit log at intake (the call row was edited)")
    if rel != archive_relative_path(sha, Path(rel).suffix):
        return f"archive path does not match the call's SHA-256 {sha[:12]}… (the call row was edited)"
    return None


def _file_problem(path: Path, sha: str, size: int) -> str | None:
    """'missing', a description of how the file differs, or None when it re-hashes to `sha`."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        return f"cannot be examined: {exc.strerror or exc}"
    # A symlink could point at anything, now or later: the archive holds plain files only.
    if not stat.S_ISREG(info.st_mode):
        return "is not a regular file (replaced by a link or folder)"
    try:
        actual = sha256_file(path)
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    if actual != sha:
        return f"content changed: SHA-256 is now {actual[:12]}…, expected {sha[:12]}… ({info.st_size:,} bytes, " \
               f"{size:,} at intake)"
    return None


def _unexpected_files(archive_dir: Path, expected: dict[str, str],
                      purged: dict[str, str]) -> tuple[list[FileProblem], list[FileProblem]]:
    """Files in the archive no call accounts for, and leftovers of interrupted copies."""
    orphaned: list[FileProblem] = []
    leftovers: list[FileProblem] = []
    if not archive_dir.is_dir():
        return orphaned, leftovers
    for dirpath, dirnames, filenames in os.walk(archive_dir):
        dirnames.sort()
        for name in sorted(filenames):
            rel = (Path(dirpath) / name).relative_to(archive_dir).as_posix()
            if rel in expected:
                continue
            if name.startswith(INCOMING_PREFIX):
                leftovers.append(FileProblem(rel, "temporary file left by an interrupted archive copy"))
            elif rel in purged:
                orphaned.append(FileProblem(rel, "audio of a purged call is still present; run `callreview purge` "
                                                 "again to remove it", purged[rel]))
            else:
                orphaned.append(FileProblem(rel, "no call references this file"))
    return orphaned, leftovers
