"""The audit log's anchors outside the database: the key file and the signed checkpoint file."""
from __future__ import annotations

import hashlib
import json
import stat
import threading
from datetime import datetime, timezone

import pytest
from sqlalchemy import text
from sqlmodel import select

from callreview.storage.audit import record_event, verify_audit_chain
from callreview.storage.audit_key import AuditKeyError, create_key, read_key
from callreview.storage.custody import verify_archive
from callreview.storage.db import dispose_engines, make_engine, open_session
from callreview.storage.migrate import upgrade
from callreview.storage.tables import AuditEvent


def _append(settings, n: int = 1, actor: str = "tester") -> None:
    for i in range(n):
        with open_session(settings) as s:
            record_event(s, actor=actor, action="view_call", object_type="call", object_id=f"CR-{i}")
            s.commit()


def _verify(settings):
    with open_session(settings, read_only=True) as s:
        return verify_archive(s, settings)


def test_first_append_makes_a_private_key_and_every_commit_a_signed_checkpoint(storage_settings):
    _append(storage_settings, 3)
    key_file, checkpoints = storage_settings.audit_key_path, storage_settings.audit_checkpoint_path
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = read_key(key_file)
    lines = [json.loads(line) for line in checkpoints.read_text().splitlines()]
    assert [(c["rows"], c["key_id"]) for c in lines] == [(1, key.id), (2, key.id), (3, key.id)]
    with open_session(storage_settings) as s:
        rows = s.exec(select(AuditEvent).order_by(AuditEvent.id)).all()
        assert {r.key_id for r in rows} == {key.id}
        assert [c["head"] for c in lines] == [r.hash for r in rows]
    report = _verify(storage_settings)
    assert report.ok and (report.checkpoints, report.anchored_rows, report.audit_key_id) == (3, 3, key.id)


def test_a_rolled_back_append_leaves_no_checkpoint(storage_settings):
    _append(storage_settings)
    with open_session(storage_settings) as s:
        record_event(s, actor="tester", action="view_call", object_type="call", object_id="CR-gone")
        s.rollback()
    _append(storage_settings)
    lines = [json.loads(line) for line in storage_settings.audit_checkpoint_path.read_text().splitlines()]
    assert [c["rows"] for c in lines] == [1, 2]
    assert _verify(storage_settings).ok


def test_processes_starting_together_agree_on_one_key(tmp_path):
    path = tmp_path / "audit.key"
    keys = []
    threads = [threading.Thread(target=lambda: keys.append(create_key(path))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({k.secret for k in keys}) == 1 and read_key(path).secret == keys[0].secret
    assert [p.name for p in tmp_path.iterdir()] == ["audit.key"]  # no temporary files left


def test_a_key_file_that_holds_no_key_is_a_clear_error(tmp_path):
    path = tmp_path / "audit.key"
    path.write_text("not a key\n")
    with pytest.raises(AuditKeyError, match=r"audit.key: does not hold an audit key .* CALLREVIEW_AUDIT_KEY_FILE"):
        read_key(path)


def test_a_lost_key_stops_appends_instead_of_starting_a_second_chain(storage_settings):
    _append(storage_settings)
    dispose_engines()
    storage_settings.audit_key_path.unlink()
    with open_session(storage_settings) as s:
        with pytest.raises(AuditKeyError, match="is missing, but the audit log holds rows keyed with key"):
            record_event(s, actor="tester", action="view_call", object_type="call", object_id="CR-1")
    assert not storage_settings.audit_key_path.exists()
    with open_session(storage_settings, read_only=True) as s:
        problems = verify_audit_chain(s)
    assert len(problems) == 1 and "the audit key file is missing" in problems[0].problem


def test_a_different_key_cannot_vouch_for_the_rows(storage_settings):
    _append(storage_settings, 2)
    dispose_engines()
    storage_settings.audit_key_path.unlink()
    create_key(storage_settings.audit_key_path)
    report = _verify(storage_settings)
    assert not report.ok
    assert [p.event_id for p in report.audit_problems] == [1] and "holds key" in report.audit_problems[0].problem
    assert all("signed with another key" in p.problem for p in report.checkpoint_problems)


def test_an_edited_checkpoint_line_is_reported_and_a_torn_last_line_is_not(storage_settings):
    _append(storage_settings, 2)
    path = storage_settings.audit_checkpoint_path
    lines = path.read_text().splitlines()
    edited = json.loads(lines[0]) | {"rows": 7}
    path.write_text("\n".join([json.dumps(edited), lines[1]]) + "\n" + lines[1][:30])  # a crash mid-append
    report = _verify(storage_settings)
    assert [(p.line, p.problem) for p in report.checkpoint_problems] == [
        (1, "signature does not match: the line was edited or forged")]


def test_a_missing_checkpoint_file_is_reported(storage_settings):
    _append(storage_settings)
    storage_settings.audit_checkpoint_path.unlink()
    report = _verify(storage_settings)
    assert not report.ok and "audit-checkpoints.jsonl is missing" in report.checkpoint_problems[0].problem


def _legacy_hash(prev: str, at: datetime, actor: str, object_id: str) -> str:
    """A row hash as callreview wrote it before the chain was keyed (plain SHA-256)."""
    payload = json.dumps([prev, at.isoformat(), actor, "view_call", "call", object_id, "ok", "{}"],
                         separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def test_rows_from_before_the_key_are_verified_as_they_are_and_anchored_by_the_first_keyed_row(storage_settings):
    """An audit log written by the previous schema revision, migrated in place: its plain rows are kept
    (not re-signed), still verify, and cannot be rewritten or extended without the key."""
    engine = make_engine(storage_settings, migrate=False)
    upgrade(engine, "d80bf0cc564a")  # the schema before audit_event.key_id
    prev = "0" * 64
    with engine.begin() as conn:
        for i in (1, 2, 3):
            at = datetime(2024, 5, i, 12, tzinfo=timezone.utc)
            row_hash = _legacy_hash(prev, at, "legacy", f"CR-{i}")
            conn.execute(text("INSERT INTO audit_event (id, at, actor, action, object_type, object_id, outcome, "
                              "detail_json, prev_hash, hash) VALUES (:id, :at, 'legacy', 'view_call', 'call', :oid, "
                              "'ok', '{}', :prev, :hash)"), {"id": i, "at": at, "oid": f"CR-{i}", "prev": prev,
                                                            "hash": row_hash})
            prev = row_hash
    upgrade(engine)
    _append(storage_settings, 2)
    report = _verify(storage_settings)
    assert report.ok and (report.audit_rows, report.audit_unkeyed_rows, report.anchored_rows) == (5, 3, 5)

    with engine.begin() as conn:  # rewrite a plain row with a recomputed plain hash
        at = datetime(2024, 5, 3, 12, tzinfo=timezone.utc)
        conn.execute(text("UPDATE audit_event SET actor = 'someone else', hash = :h WHERE id = 3"),
                     {"h": hashlib.sha256(b"anything").hexdigest()})
    problems = {(p.event_id, p.problem.split(" (")[0]) for p in _verify(storage_settings).audit_problems}
    assert problems == {(3, "content does not match its hash"), (4, "does not link to the previous row")}


def test_a_plain_row_after_keyed_rows_is_a_forgery(storage_settings):
    _append(storage_settings, 2)
    with open_session(storage_settings) as s:
        head = s.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    at = datetime(2030, 1, 1, tzinfo=timezone.utc)
    engine = make_engine(storage_settings)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO audit_event (id, at, actor, action, object_type, object_id, outcome, "
                          "detail_json, prev_hash, hash) VALUES (3, :at, 'forger', 'view_call', 'call', 'CR-9', 'ok', "
                          "'{}', :prev, :hash)"),
                     {"at": at, "prev": head.hash, "hash": _legacy_hash(head.hash, at, "forger", "CR-9")})
    problems = _verify(storage_settings).audit_problems
    assert [(p.event_id, "forged" in p.problem) for p in problems] == [(3, True)]
