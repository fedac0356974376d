"""Tampering with the database alone (plain SQL, no key, no access to the files beside it) fails
`callreview verify`, which names what was touched: on SQLite and on PostgreSQL.

The data is made by the real code: the sample calls go through intake (with their decision logs),
transcript import and assessment; alice claims item 2 and disposes of item 1 through the web app.
Each tampering below is something `verify` used to pass.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

import pytest
import sqlalchemy
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from callreview.cli.app import app as cli_app
from callreview.storage.db import dispose_engines
from tests.web.conftest import csrf_of, page_csrf, seed_sample_data, sign_in

NOTE = "Door knock requested and cars sent."


@pytest.fixture(params=["sqlite", "postgres"])
def custody(request, tmp_path, storage_factory, web_settings, monkeypatch):
    """Storage settings of a database with calls, logs, transcripts, a claim and a disposition, all audited;
    the CLI finds it through the environment."""
    from callreview.web.app import create_app

    with storage_factory(request.param, tmp_path) as storage:
        seed_sample_data(storage)
        with TestClient(create_app(storage=storage, web=web_settings), follow_redirects=False) as client:
            assert sign_in(client, "alice").status_code == 303
            assert client.post("/items/2/claim", data={"csrf_token": page_csrf(client)}).status_code == 303
            page = client.get("/calls/CR-SAMPLE-002")
            assert client.post("/items/1/disposition", data={"csrf_token": csrf_of(page.text),
                                                             "disposition": "confirmed", "note": NOTE}).status_code == 303
        dispose_engines()
        monkeypatch.setenv("CALLREVIEW_DATA_DIR", str(storage.data_dir))
        monkeypatch.setenv("CALLREVIEW_DATABASE_URL", storage.url)
        yield storage


def _verify() -> tuple[int, dict]:
    result = CliRunner().invoke(cli_app, ["verify", "--json"])
    dispose_engines()
    return result.exit_code, json.loads(result.stdout)


def _sql(storage, *statements: str, **params) -> None:
    """Plain SQL on its own connection, as someone with only database access would run it."""
    engine = sqlalchemy.create_engine(storage.url)
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(sqlalchemy.text(statement), params)
    engine.dispose()


def _evidence(report: dict) -> set[tuple[str, int]]:
    return {(p["table"], p["row_id"]) for p in report["evidence_problems"]}


def _row_id(storage, query: str) -> int:
    engine = sqlalchemy.create_engine(storage.url)
    with engine.connect() as conn:
        value = conn.execute(sqlalchemy.text(query)).scalar_one()
    engine.dispose()
    return value


def test_an_untouched_database_verifies_with_every_evidence_row_checked(custody):
    code, report = _verify()
    assert code == 0, report
    assert report["evidence_checked"] == {"decision_log": 2, "disposition": 1, "review_item": 2, "transcript": 3}
    assert report["evidence_not_covered"] == {} and report["audit_unkeyed_rows"] == 0
    assert report["anchored_rows"] == report["audit_rows"] > 0 and report["checkpoint_problems"] == []


def test_deleting_the_newest_audit_rows_is_caught_by_the_checkpoints(custody):
    last = _row_id(custody, "SELECT max(id) FROM audit_event")
    _sql(custody, "DELETE FROM audit_event WHERE id > :keep", keep=last - 3)
    code, report = _verify()
    assert code == 1
    assert report["audit_problems"] == []  # what is left is a perfectly good, shorter chain
    [problem] = report["checkpoint_problems"]
    assert f"rows {last - 2}..{last} were deleted" in problem["problem"]


def _rewrite_chain(storage, *, keep_key_ids: bool, edit_disposition_note: str) -> None:
    """Edit the dispose event's note, then recompute every hash with SHA-256: the most a database-only
    attacker can do, since the key is not in the database."""
    engine = sqlalchemy.create_engine(storage.url)
    with engine.begin() as conn:
        rows = conn.execute(sqlalchemy.text("SELECT id, at, actor, action, object_type, object_id, outcome, "
                                            "detail_json, key_id FROM audit_event ORDER BY id")).all()
        prev = "0" * 64
        for row in rows:
            detail = row.detail_json
            if row.action == "dispose":
                detail = json.dumps({**json.loads(detail), "note": edit_disposition_note}, sort_keys=True)
            # The time as the application hashes it: UTC ISO text (SQLite hands raw SQL a naive string).
            at = row.at if isinstance(row.at, datetime) else datetime.fromisoformat(row.at)
            at = (at if at.tzinfo else at.replace(tzinfo=timezone.utc)).astimezone(timezone.utc).isoformat()
            payload = json.dumps([prev, at, row.actor, row.action, row.object_type, row.object_id, row.outcome,
                                  detail], separators=(",", ":"), ensure_ascii=False)
            digest = hashlib.sha256(payload.encode()).hexdigest()
            conn.execute(sqlalchemy.text("UPDATE audit_event SET prev_hash = :p, hash = :h, detail_json = :d, "
                                         "key_id = :k WHERE id = :id"),
                         {"p": "x" + str(row.id), "h": digest, "d": detail, "id": row.id,
                          "k": row.key_id if keep_key_ids else None})
            prev = digest
        # prev_hash is unique: set in two passes so no two rows hold the same value in between.
        prev = "0" * 64
        for row in rows:
            conn.execute(sqlalchemy.text("UPDATE audit_event SET prev_hash = :p WHERE id = :id"), {"p": prev, "id": row.id})
            prev = conn.execute(sqlalchemy.text("SELECT hash FROM audit_event WHERE id = :id"), {"id": row.id}).scalar_one()
        conn.execute(sqlalchemy.text("UPDATE disposition SET note = :n"), {"n": edit_disposition_note})
    engine.dispose()


def test_a_chain_rewritten_with_recomputed_hashes_fails_the_keyed_check_and_the_checkpoints(custody):
    _rewrite_chain(custody, keep_key_ids=True, edit_disposition_note="Nothing to see here.")
    code, report = _verify()
    assert code == 1
    assert report["audit_problems"] and all("keyed" in p["problem"] for p in report["audit_problems"])
    assert any("the chain was rewritten" in p["problem"] for p in report["checkpoint_problems"])


def test_a_forged_key_less_chain_is_caught_by_the_checkpoints(custody):
    _rewrite_chain(custody, keep_key_ids=False, edit_disposition_note="Nothing to see here.")
    code, report = _verify()
    assert code == 1
    assert report["audit_problems"] == []  # a self-consistent plain chain...
    assert report["audit_unkeyed_rows"] == report["audit_rows"]
    # ...that no signed checkpoint vouches for
    assert any("the chain was rewritten from row 1 or earlier" in p["problem"] for p in report["checkpoint_problems"])


@pytest.mark.parametrize("statement,table,row_query,named", [
    ("UPDATE disposition SET note = 'Nothing to see here.'", "disposition",
     "SELECT id FROM disposition", "note"),
    ("UPDATE disposition SET disposition = 'dismissed'", "disposition",
     "SELECT id FROM disposition", "disposition"),
    ("UPDATE review_item SET status = 'closed', close_reason = 'no longer applies' WHERE id = 2", "review_item",
     "SELECT 2", "status is 'closed'"),
    ("UPDATE review_item SET claimed_by = NULL WHERE id = 2", "review_item",
     "SELECT 2", "claimed_by is None"),
    ("UPDATE decision_log SET decision = 'declined' WHERE call_pk = (SELECT id FROM call WHERE call_id = 'CR-SAMPLE-002')",
     "decision_log", "SELECT id FROM decision_log WHERE call_pk = (SELECT id FROM call WHERE call_id = 'CR-SAMPLE-002')",
     "decision differ"),
    ("UPDATE segment SET text = 'We need officers to serve a felony warrant.' WHERE idx = 1 AND transcript_pk = "
     "(SELECT t.id FROM transcript t JOIN call c ON c.id = t.call_pk WHERE c.call_id = 'CR-SAMPLE-002')",
     "transcript", "SELECT t.id FROM transcript t JOIN call c ON c.id = t.call_pk WHERE c.call_id = 'CR-SAMPLE-002'",
     "segment 1 differ"),
    ("DELETE FROM disposition", "disposition", "SELECT id FROM disposition", "is gone"),
])
def test_editing_an_evidence_row_in_its_own_table_is_named(custody, statement, table, row_query, named):
    row_id = _row_id(custody, row_query)
    _sql(custody, statement)
    code, report = _verify()
    assert code == 1
    assert report["audit_problems"] == [] and report["checkpoint_problems"] == []  # the log itself is untouched
    assert _evidence(report) == {(table, row_id)}
    [problem] = report["evidence_problems"]
    assert named in problem["problem"]
