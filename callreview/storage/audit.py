"""The append-only audit log with a hash chain.

Every view, search, disposition, export and batch action is one row. Each row's hash covers its own
fields and the previous row's hash, so editing or deleting a row is detectable by `verify_audit_chain`.
There is deliberately no function here that updates or deletes audit rows.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import func
from sqlmodel import Session, select

from callreview.storage.tables import AuditEvent, utcnow

GENESIS = "0" * 64


def _stamp(at: datetime) -> str:
    """The time as hashed: UTC, so a server in another time zone reads back the same string."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    return at.astimezone(timezone.utc).isoformat()


def _row_hash(prev_hash: str, at: str, actor: str, action: str, object_type: str, object_id: str,
              outcome: str, detail_json: str) -> str:
    payload = json.dumps([prev_hash, at, actor, action, object_type, object_id, outcome, detail_json],
                         separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def record_event(session: Session, *, actor: str, action: str, object_type: str, object_id: str | int,
                 outcome: str = "ok", detail: dict | None = None) -> AuditEvent:
    """Append one audit row in the caller's transaction (the caller commits)."""
    last = session.exec(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).first()
    prev = last.hash if last else GENESIS
    at = utcnow()
    detail_json = json.dumps(detail or {}, sort_keys=True, default=str, ensure_ascii=False)
    # The id is the last one plus one, not a sequence's next value: PostgreSQL sequences skip the ids of
    # rolled-back inserts, and a gap would read as a deleted row to `verify_audit_chain`.
    row = AuditEvent(id=(last.id if last else 0) + 1, at=at, actor=actor, action=action, object_type=object_type, object_id=str(object_id),
                     outcome=outcome, detail_json=detail_json, prev_hash=prev,
                     hash=_row_hash(prev, _stamp(at), actor, action, object_type, str(object_id), outcome,
                                    detail_json))
    session.add(row)
    session.flush()
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


def verify_audit_chain(session: Session) -> list[ChainProblem]:
    """Recompute the chain; return every row whose hash or link does not hold."""
    problems: list[ChainProblem] = []
    prev = GENESIS
    prev_id = 0
    for row in session.exec(select(AuditEvent).order_by(AuditEvent.id)):
        if row.id != prev_id + 1:
            problems.append(ChainProblem(row.id, f"rows {prev_id + 1}..{row.id - 1} are missing"))
        if row.prev_hash != prev:
            problems.append(ChainProblem(row.id, "does not link to the previous row (a row was deleted or edited)"))
        expected = _row_hash(row.prev_hash, _stamp(row.at), row.actor, row.action, row.object_type,
                             row.object_id, row.outcome, row.detail_json)
        if expected != row.hash:
            problems.append(ChainProblem(row.id, "content does not match its hash (the row was edited)"))
        prev, prev_id = row.hash, row.id
    return problems
