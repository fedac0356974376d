"""The append-only audit log: a hash chain keyed with a secret outside the database, and checkpointed.

Every view, search, disposition, export and batch action is one row. Each row's hash is HMAC-SHA256,
under the audit key (`storage.audit_key`), of its own fields and the previous row's hash, and the row
names the key by its id. In order, for one append (`record_event`):
1. the chain is held for the rest of the caller's transaction (`storage.transactions.lock_audit_chain`),
   so concurrent appends queue instead of reading the same head;
2. the head is read, and the row is written at the next id with the keyed hash;
3. when the caller commits, a signed checkpoint of the new head is appended to the checkpoint file
   (`callreview.storage.checkpoints`); a rolled-back transaction leaves none.
Rows written before the chain was keyed (key_id NULL, plain SHA-256) are still verified as they are,
not migrated: the first keyed row's hash covers the last of them, so they cannot be rewritten either
without breaking it. A plain row after a keyed one can only be a forgery.

Where the key and the checkpoints live is bound to each engine by `callreview.storage.db.make_engine`
(`bind_anchor`). There is deliberately no function here that updates or deletes audit rows.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import and_, event, func, or_
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, select

from callreview.storage.audit_key import AuditKey, AuditKeyError, create_key, read_key
from callreview.storage.checkpoints import append_checkpoint
from callreview.storage.dates import utc_iso, utcnow
from callreview.storage.errors import StorageError
from callreview.storage.tables import AuditEvent
from callreview.storage.transactions import AuditConflict, lock_audit_chain

logger = logging.getLogger(__name__)

GENESIS = "0" * 64
_PENDING_HEAD = "callreview_audit_head"


@dataclass
class AuditAnchor:
    """Where one database's audit log is anchored outside it: the key file and the checkpoint file."""

    key_path: Path
    checkpoint_path: Path
    _key: AuditKey | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def key_for_append(self, session: Session) -> AuditKey:
        """The key, made on first use; refused when the log already holds rows keyed with a key now lost."""
        if self._key is None:
            with self._lock:
                if self._key is None:
                    key = read_key(self.key_path)
                    if key is None:
                        keyed = session.exec(select(AuditEvent.key_id).where(AuditEvent.key_id.is_not(None))
                                             .limit(1)).first()
                        if keyed is not None:
                            raise AuditKeyError(self.key_path, f"is missing, but the audit log holds rows keyed with "
                                                               f"key {keyed}: restore that key file")
                        key = create_key(self.key_path)
                    self._key = key
        return self._key

    def key_for_verify(self) -> AuditKey | None:
        """The key as the file holds it now (never made here), or None when there is no file."""
        return read_key(self.key_path)


_anchors: dict[str, AuditAnchor] = {}


def _url_of(bind) -> str:
    return bind.url.render_as_string(hide_password=False)


def bind_anchor(engine: Engine, anchor: AuditAnchor) -> None:
    """Use `anchor` for every session on `engine` (callreview.storage.db.make_engine calls this)."""
    _anchors[_url_of(engine)] = anchor
    if not event.contains(OrmSession, "after_commit", _checkpoint_after_commit):
        event.listen(OrmSession, "after_commit", _checkpoint_after_commit)
        event.listen(OrmSession, "after_rollback", _forget_pending_head)


def unbind_anchors() -> None:
    _anchors.clear()


def anchor_of(session: Session) -> AuditAnchor:
    anchor = _anchors.get(_url_of(session.get_bind()))
    if anchor is None:
        raise StorageError("this session's engine has no audit key bound: open sessions with callreview.storage.db.open_session")
    return anchor


def _checkpoint_after_commit(session: OrmSession) -> None:
    pending = session.info.pop(_PENDING_HEAD, None)
    if pending is None:
        return
    anchor, key, rows, head = pending
    try:
        append_checkpoint(anchor.checkpoint_path, key, rows, head)
    except OSError as exc:
        # The action is committed and audited; failing the request now would not undo it. The rows stay
        # unanchored until the next checkpoint, which `callreview verify` reports.
        logger.error("%s: could not append the audit checkpoint for row %d: %s", anchor.checkpoint_path, rows,
                     exc.strerror or exc)


def _forget_pending_head(session: OrmSession) -> None:
    session.info.pop(_PENDING_HEAD, None)


def _payload(prev_hash: str, at: str, actor: str, action: str, object_type: str, object_id: str,
             outcome: str, detail_json: str) -> bytes:
    return json.dumps([prev_hash, at, actor, action, object_type, object_id, outcome, detail_json],
                      separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _row_payload(row: AuditEvent) -> bytes:
    return _payload(row.prev_hash, utc_iso(row.at), row.actor, row.action, row.object_type, row.object_id,
                    row.outcome, row.detail_json)


def record_event(session: Session, *, actor: str, action: str, object_type: str, object_id: str | int,
                 outcome: str = "ok", detail: dict | None = None) -> AuditEvent:
    """Append one audit row in the caller's transaction (the caller commits, soon: the chain is held).

    Raises:
        AuditConflict: another transaction took this position without the lock; run the unit of work again.
        ReadOnlySession: the session was opened read-only.
        AuditKeyError: the key file cannot be read, or is missing while keyed rows exist.
    """
    anchor = anchor_of(session)
    session.flush()  # the caller's pending rows first, so a constraint failure below is the audit row's own
    lock_audit_chain(session)
    last = session.exec(select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).first()
    key = anchor.key_for_append(session)
    prev = last.hash if last else GENESIS
    at = utcnow()
    detail_json = json.dumps(detail or {}, sort_keys=True, default=str, ensure_ascii=False)
    # The id is the last one plus one, not a sequence's next value: PostgreSQL sequences skip the ids of
    # rolled-back inserts, and a gap would read as a deleted row to `verify_audit_chain`.
    position = (last.id if last else 0) + 1
    row = AuditEvent(id=position, at=at, actor=actor, action=action, object_type=object_type,
                     object_id=str(object_id), outcome=outcome, detail_json=detail_json, prev_hash=prev,
                     key_id=key.id,
                     hash=key.sign(_payload(prev, utc_iso(at), actor, action, object_type, str(object_id), outcome,
                                            detail_json)))
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:
        raise AuditConflict(position) from exc
    session.info[_PENDING_HEAD] = (anchor, key, row.id, row.hash)
    return row


def list_audit_events(session: Session, *, page: int = 1, per_page: int = 50, actor: str | None = None,
                      action: str | None = None) -> tuple[list[AuditEvent], int]:
    """One page of the audit log, newest first, and the total number of matching rows.

    Args:
        session: an open session.
        page: 1-based page number.
        per_page: rows per page.
        actor: only rows by this actor (exact).
        action: only rows with this action (exact).
    """
    conditions = []
    if actor:
        conditions.append(AuditEvent.actor == actor)
    if action:
        conditions.append(AuditEvent.action == action)
    total = session.exec(select(func.count()).select_from(AuditEvent).where(*conditions)).one()
    rows = session.exec(select(AuditEvent).where(*conditions).order_by(AuditEvent.id.desc())
                        .offset(max(page - 1, 0) * per_page).limit(per_page))
    return list(rows), total


@dataclass(frozen=True)
class ChainProblem:
    event_id: int
    problem: str


@dataclass(frozen=True)
class AuditHead:
    """The newest row of the audit log: what a report or export says it was made from."""

    rows: int
    hash: str | None

    def to_dict(self) -> dict:
        return {"rows": self.rows, "hash": self.hash}

    def __str__(self) -> str:
        return f"{self.rows} rows, head {self.hash}" if self.hash else "empty"


def audit_head(session: Session) -> AuditHead:
    """The log's head as the session's transaction sees it (ids are consecutive, so its id is the row count)."""
    last = session.exec(select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).first()
    return AuditHead(last.id, last.hash) if last else AuditHead(0, None)


def events_about_call(session: Session, call_id: str, item_ids: list[int]) -> list[AuditEvent]:
    """The rows about one call: on the call itself, on its review items, and the draws that queued it."""
    rows = session.exec(select(AuditEvent).where(or_(
        and_(AuditEvent.object_type == "call", AuditEvent.object_id == call_id),
        and_(AuditEvent.object_type == "review_item", AuditEvent.object_id.in_([str(i) for i in item_ids])),
        AuditEvent.action == "sample")).order_by(AuditEvent.id))
    return [r for r in rows if r.action != "sample" or call_id in (_detail(r).get("created") or {})]


def chain_links(session: Session, first_id: int, last_id: int) -> list[tuple[int, str, str]]:
    """(id, prev_hash, hash) of every row from `first_id` to `last_id`: the links between two rows."""
    return [tuple(r) for r in session.exec(select(AuditEvent.id, AuditEvent.prev_hash, AuditEvent.hash)
                                           .where(AuditEvent.id >= first_id, AuditEvent.id <= last_id)
                                           .order_by(AuditEvent.id))]


def _detail(row: AuditEvent) -> dict:
    try:
        detail = json.loads(row.detail_json)
    except ValueError:
        return {}
    return detail if isinstance(detail, dict) else {}


def count_keyed_rows(session: Session) -> int:
    return session.exec(select(func.count()).select_from(AuditEvent).where(AuditEvent.key_id.is_not(None))).one()


def verify_audit_chain(session: Session) -> list[ChainProblem]:
    """Recompute the chain; return every row whose hash or link does not hold.

    Keyed rows are checked with the key in the anchor's key file; without that file they cannot be, which
    is itself a problem. Plain (pre-key) rows are checked with SHA-256, and are refused after a keyed row.
    """
    problems: list[ChainProblem] = []
    try:
        key = anchor_of(session).key_for_verify()
    except AuditKeyError as exc:
        key, key_problem = None, str(exc)
    else:
        key_problem = None if key else f"{anchor_of(session).key_path}: the audit key file is missing"
    prev = GENESIS
    prev_id = 0
    keyed_seen = False
    unverifiable: set[str] = set()  # key ids already reported as uncheckable
    for row in session.exec(select(AuditEvent).order_by(AuditEvent.id)):
        if row.id != prev_id + 1:
            problems.append(ChainProblem(row.id, f"rows {prev_id + 1}..{row.id - 1} are missing"))
        if row.prev_hash != prev:
            problems.append(ChainProblem(row.id, "does not link to the previous row (a row was deleted or edited)"))
        if row.key_id is None:
            if keyed_seen:
                problems.append(ChainProblem(row.id, "is not keyed, but follows keyed rows: it was written without "
                                                     "the audit key (forged)"))
            elif hashlib.sha256(_row_payload(row)).hexdigest() != row.hash:
                problems.append(ChainProblem(row.id, "content does not match its hash (the row was edited)"))
        else:
            keyed_seen = True
            if key is None or key.id != row.key_id:
                if row.key_id not in unverifiable:
                    why = key_problem or f"the key file {key.path} holds key {key.id}"
                    problems.append(ChainProblem(row.id, f"is keyed with key {row.key_id}, and {why}: no row keyed "
                                                         "with it can be checked"))
                    unverifiable.add(row.key_id)
            elif not hmac.compare_digest(key.sign(_row_payload(row)), row.hash):
                problems.append(ChainProblem(row.id, "content does not match its hash (keyed: the row was edited, "
                                                     "or its hash recomputed without the key)"))
        prev, prev_id = row.hash, row.id
    return problems
