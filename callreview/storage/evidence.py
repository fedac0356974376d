"""Evidence rows checked against the audit log: decision logs, transcript versions, dispositions, review items.

The audit chain is keyed and checkpointed (callreview.storage.audit), so its events can be trusted where the tables
beside it cannot. Each action that writes one of these rows therefore records in its own audit event,
in the same transaction, what it wrote, read back from the database:
- `intake`: "decision_log": `decision_log_record` (field digests and one over the row), or None;
- `transcribe`: "transcript": `transcript_record` (the version's fields, one digest per segment, one over
  the gaps, one over everything);
- `dispose`: "disposition_id" beside the "disposition" and "note" it always carried;
- `assess`, `sample`, `claim_item`, `release_item`, `dispose`: "review_items": `item_states` of the items it
  changed.
`verify_evidence` re-derives each row the same way and names every one that differs from its event, has
no event, or has an event but is gone. Rows whose events predate this (no record in the detail) are
counted as not covered, except dispositions, whose events always carried the disposition and the note.
A purged call's segments and gaps are gone on purpose (its `purge` event says so): only the transcript
version's own fields are compared then.
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, select

from callreview.storage.dates import utc_iso
from callreview.storage.tables import (AuditEvent, Call, DecisionLogRecord, Disposition, GapRecord, ReviewItem,
                                       SegmentRecord, TranscriptRecord)

_LOG_FIELDS = ("decision", "basis_json", "received_at", "requesting_agency", "requester", "commanding_officer",
               "notes", "source")
_TRANSCRIPT_FIELDS = ("call_pk", "version", "engine", "model", "language", "imported")
# Recorded only when set, so the digests of versions made before corrections existed stay as they were.
_CORRECTION_FIELDS = ("corrected_by", "correction_reason")
_SEGMENT_FIELDS = ("idx", "start", "end", "speaker", "text", "confidence", "avg_logprob", "no_speech_prob",
                   "compression_ratio", "channel", "flags_json", "words_json")
_ITEM_FIELDS = ("status", "claimed_by", "close_reason", "verdict", "reasons_json")
_TRANSCRIPT_ACTIONS = ("transcribe", "correct_transcript")  # each records the version it made
_STATE_ACTIONS = ("assess", "correct_transcript", "sample", "claim_item", "release_item", "dispose", "adjudicate")


def _plain(value):
    """A value as digested: datetimes as UTC ISO text (stored naive or aware, read back the same)."""
    if isinstance(value, datetime):
        return utc_iso(value)
    return value


def _digest(value, length: int = 64) -> str:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


# Short digests name which field or segment changed; the full digest over the whole row is what counts.
_SHORT = 16


def _log_columns():
    return [DecisionLogRecord.id, DecisionLogRecord.call_pk] + [getattr(DecisionLogRecord, n) for n in _LOG_FIELDS]


def _log_record(row) -> dict:
    values = {name: _plain(value) for name, value in zip(_LOG_FIELDS, row[2:])}
    return {"id": row[0], "sha256": _digest([row[1], values]),
            "fields": {name: _digest(value, _SHORT) for name, value in values.items()}}


def decision_log_record(session: Session, call_pk: int) -> dict | None:
    """The call's decision log as its intake event records it, read from the database; None if it has none."""
    row = session.exec(select(*_log_columns()).where(DecisionLogRecord.call_pk == call_pk)).first()
    return None if row is None else _log_record(row)


def _segment_columns():
    return [SegmentRecord.transcript_pk] + [getattr(SegmentRecord, n) for n in _SEGMENT_FIELDS]


def _gap_columns():
    return [GapRecord.transcript_pk, GapRecord.start, GapRecord.end, GapRecord.reason, GapRecord.channel]


def _transcript_record(transcript_id: int, meta: dict, segments: list[list], gaps: list[list]) -> dict:
    return {"id": transcript_id, "meta": meta, "sha256": _digest([meta, segments, gaps]),
            "segments": [_digest(s, _SHORT) for s in segments], "gaps": _digest(gaps, _SHORT)}


def _meta(row) -> dict:
    return {**{name: getattr(row, name) for name in _TRANSCRIPT_FIELDS},
            **{name: getattr(row, name) for name in _CORRECTION_FIELDS if getattr(row, name) is not None}}


def _transcript_columns():
    return [TranscriptRecord.id, *[getattr(TranscriptRecord, n) for n in _TRANSCRIPT_FIELDS + _CORRECTION_FIELDS]]


def transcript_record(session: Session, transcript_pk: int) -> dict:
    """A transcript version as its transcribe event records it, read from the database."""
    row = session.exec(select(*_transcript_columns()).where(TranscriptRecord.id == transcript_pk)).one()
    segments = [list(s[1:]) for s in session.exec(select(*_segment_columns())
                                                  .where(SegmentRecord.transcript_pk == transcript_pk)
                                                  .order_by(SegmentRecord.idx, SegmentRecord.id))]
    gaps = [list(g[1:]) for g in session.exec(select(*_gap_columns()).where(GapRecord.transcript_pk == transcript_pk)
                                              .order_by(GapRecord.start, GapRecord.id))]
    return _transcript_record(row.id, _meta(row), segments, gaps)


def _item_columns():
    return [ReviewItem.id, ReviewItem.call_pk] + [getattr(ReviewItem, n) for n in _ITEM_FIELDS]


def item_states(session: Session, *, call_pk: int | None = None, item_ids: list[int] | None = None) -> dict[str, dict]:
    """The review items of a call (or these items) as events record them: id -> status, claim, reason, verdict."""
    stmt = select(*_item_columns()).order_by(ReviewItem.id)
    if call_pk is not None:
        stmt = stmt.where(ReviewItem.call_pk == call_pk)
    if item_ids is not None:
        stmt = stmt.where(ReviewItem.id.in_(item_ids))
    return {str(row[0]): dict(zip(_ITEM_FIELDS, row[2:])) for row in session.exec(stmt)}


@dataclass(frozen=True)
class EvidenceProblem:
    """One evidence row that the audit log does not vouch for, and why."""

    table: str
    row_id: int | None
    call_id: str | None
    problem: str


@dataclass
class EvidenceReport:
    checked: Counter = field(default_factory=Counter)      # table -> rows compared with an event
    not_covered: Counter = field(default_factory=Counter)  # table -> rows whose events predate the records
    problems: list[EvidenceProblem] = field(default_factory=list)


@dataclass(frozen=True)
class _Event:
    id: int
    actor: str
    action: str
    object_type: str
    object_id: str
    outcome: str
    detail: dict


def _events(session: Session, actions: tuple[str, ...]) -> list[_Event]:
    found = []
    for row in session.exec(select(AuditEvent.id, AuditEvent.actor, AuditEvent.action, AuditEvent.object_type,
                                   AuditEvent.object_id, AuditEvent.outcome, AuditEvent.detail_json)
                            .where(AuditEvent.action.in_(actions)).order_by(AuditEvent.id)):
        try:
            detail = json.loads(row.detail_json)
        except ValueError:
            detail = {}  # an edited row: the chain check names it
        found.append(_Event(row.id, row.actor, row.action, row.object_type, row.object_id, row.outcome,
                            detail if isinstance(detail, dict) else {}))
    return found


def verify_evidence(session: Session) -> EvidenceReport:
    """Compare every decision log, transcript version, disposition and review item with its audit event.

    Args:
        session: a session whose one snapshot also served the chain check (verify uses a read-only one).

    Returns:
        An EvidenceReport: rows checked and not covered per table, and a problem for each row that differs.
    """
    report = EvidenceReport()
    calls = dict(session.exec(select(Call.id, Call.call_id)).all())
    events = _events(session, ("intake", *_TRANSCRIPT_ACTIONS, "purge", *_STATE_ACTIONS))
    purged = {e.object_id for e in events if e.action == "purge" and e.object_type == "call" and e.outcome == "ok"}
    _check_decision_logs(session, calls, [e for e in events if e.action == "intake" and e.outcome == "ok"], report)
    _check_transcripts(session, calls, purged, [e for e in events if e.action in _TRANSCRIPT_ACTIONS], report)
    _check_dispositions(session, calls, [e for e in events if e.action in ("dispose", "adjudicate") and e.outcome == "ok"],
                        report)
    _check_review_items(session, calls, [e for e in events if e.action in _STATE_ACTIONS], report)
    return report


def _check_decision_logs(session, calls, intakes, report) -> None:
    table = "decision_log"
    by_call = {e.object_id: e for e in intakes}
    logs = {row[1]: _log_record(row) for row in session.exec(select(*_log_columns()))}
    for call_pk, call_id in calls.items():
        event = by_call.get(call_id)
        actual = logs.get(call_pk)
        if event is None:
            if actual is not None:
                report.problems.append(EvidenceProblem(table, actual["id"], call_id,
                                                       "no intake event records this call (row added with SQL?)"))
            continue
        if "decision_log" not in event.detail:
            report.not_covered[table] += actual is not None
            continue
        expected = event.detail["decision_log"]
        if expected is None and actual is None:
            continue
        report.checked[table] += 1
        if actual is None:
            report.problems.append(EvidenceProblem(table, expected.get("id"), call_id,
                                                   f"is gone: intake (audit event {event.id}) stored it"))
        elif expected is None:
            report.problems.append(EvidenceProblem(table, actual["id"], call_id,
                                                   f"was added after intake: audit event {event.id} recorded no log"))
        elif actual["sha256"] != expected.get("sha256") or actual["id"] != expected.get("id"):
            changed = [name for name, digest in actual["fields"].items()
                       if digest != (expected.get("fields") or {}).get(name)] or ["the row"]
            report.problems.append(EvidenceProblem(table, actual["id"], call_id,
                                                   f"{', '.join(changed)} differ from what intake recorded in audit "
                                                   f"event {event.id}"))


def _grouped(session, columns, order) -> dict[int, list[list]]:
    """Rows of segments or gaps, by transcript, read in one pass."""
    groups: dict[int, list[list]] = {}
    for row in session.exec(select(*columns).order_by(*order)):
        groups.setdefault(row[0], []).append(list(row[1:]))
    return groups


def _check_transcripts(session, calls, purged, transcribes, report) -> None:
    table = "transcript"
    recorded = {}
    legacy = set()
    for e in transcribes:
        record = e.detail.get("transcript")
        if isinstance(record, dict) and "id" in record:
            recorded[record["id"]] = (e, record)
        else:
            legacy.add((e.object_id, e.detail.get("version")))
    segments = _grouped(session, _segment_columns(), (SegmentRecord.transcript_pk, SegmentRecord.idx, SegmentRecord.id))
    gaps = _grouped(session, _gap_columns(), (GapRecord.transcript_pk, GapRecord.start, GapRecord.id))
    for row in session.exec(select(*_transcript_columns()).order_by(TranscriptRecord.id)):
        call_id = calls.get(row.call_pk)
        found = recorded.pop(row.id, None)
        if found is None:
            if (call_id, row.version) in legacy:
                report.not_covered[table] += 1
            else:
                report.problems.append(EvidenceProblem(table, row.id, call_id, f"version {row.version} has no "
                                                       "transcribe event (row added with SQL?)"))
            continue
        event, expected = found
        report.checked[table] += 1
        actual = _transcript_record(row.id, _meta(row), segments.get(row.id, []), gaps.get(row.id, []))
        changed = [name for name, value in actual["meta"].items() if expected.get("meta", {}).get(name) != value]
        if call_id not in purged:
            want, have = expected.get("segments") or [], actual["segments"]
            changed += [f"segment {i}" for i in range(max(len(want), len(have)))
                        if i >= len(want) or i >= len(have) or want[i] != have[i]]
            if actual["gaps"] != expected.get("gaps"):
                changed.append("gaps")
            if not changed and actual["sha256"] != expected.get("sha256"):
                changed.append("content")
        if changed:
            report.problems.append(EvidenceProblem(table, row.id, call_id,
                                                   f"version {row.version}: {', '.join(changed)} differ from what "
                                                   f"audit event {event.id} recorded"))
    for transcript_id, (event, expected) in sorted(recorded.items()):
        report.problems.append(EvidenceProblem(table, transcript_id, event.object_id,
                                               f"version {expected.get('meta', {}).get('version')} is gone: audit "
                                               f"event {event.id} recorded it"))


def _check_dispositions(session, calls, disposals, report) -> None:
    table = "disposition"
    by_id = {e.detail["disposition_id"]: e for e in disposals if "disposition_id" in e.detail}
    legacy = {e.object_id: e for e in disposals if "disposition_id" not in e.detail}
    item_call = dict(session.exec(select(ReviewItem.id, ReviewItem.call_pk)).all())
    for row in session.exec(select(Disposition).order_by(Disposition.id)):
        call_id = calls.get(item_call.get(row.review_item_pk))
        event = by_id.pop(row.id, None) or legacy.pop(str(row.review_item_pk), None)
        if event is None:
            report.problems.append(EvidenceProblem(table, row.id, call_id,
                                                   "no dispose event records it (row added with SQL?)"))
            continue
        report.checked[table] += 1
        expected = {"review item": event.object_id, "reviewer": event.actor.removeprefix("web:"),
                    "disposition": event.detail.get("disposition"), "note": event.detail.get("note"),
                    "stage": event.detail.get("stage", "adjudication" if event.action == "adjudicate" else None)}
        actual = {"review item": str(row.review_item_pk), "reviewer": row.reviewer, "disposition": row.disposition,
                  "note": row.note, "stage": row.stage}
        changed = [name for name in expected if expected[name] != actual[name]]
        if changed:
            report.problems.append(EvidenceProblem(table, row.id, call_id,
                                                   f"{', '.join(changed)} differ from audit event {event.id}"))
    for disposition_id, event in sorted(by_id.items()):
        report.problems.append(EvidenceProblem(table, disposition_id, event.detail.get("call_id"),
                                               f"is gone: audit event {event.id} recorded it"))


def _check_review_items(session, calls, state_events, report) -> None:
    table = "review_item"
    latest: dict[str, tuple[_Event, dict]] = {}
    mentioned: set[str] = set()
    for e in state_events:
        if e.action == "assess" and e.detail.get("review_item") is not None:
            mentioned.add(str(e.detail["review_item"]))
        elif e.action != "assess" and e.outcome == "ok":
            mentioned.add(e.object_id)
        for item_id, state in (e.detail.get("review_items") or {}).items():
            latest[item_id] = (e, state)
    item_call = dict(session.exec(select(ReviewItem.id, ReviewItem.call_pk)).all())
    for item_id, state in item_states(session).items():
        call_id = calls.get(item_call.get(int(item_id)))
        found = latest.pop(item_id, None)
        if found is None:
            if item_id in mentioned:
                report.not_covered[table] += 1
            else:
                report.problems.append(EvidenceProblem(table, int(item_id), call_id,
                                                       "no audit event records it (row added with SQL?)"))
            continue
        event, expected = found
        report.checked[table] += 1
        changed = [f"{name} is {state[name]!r}, audit event {event.id} ({event.action}) left it {expected.get(name)!r}"
                   for name in _ITEM_FIELDS if state[name] != expected.get(name)]
        if changed:
            report.problems.append(EvidenceProblem(table, int(item_id), call_id, "; ".join(changed)))
    for item_id, (event, _) in sorted(latest.items()):
        report.problems.append(EvidenceProblem(table, int(item_id), None,
                                               f"is gone: audit event {event.id} ({event.action}) recorded it"))
