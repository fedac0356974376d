"""`callreview verify` and `callreview purge` through typer's CliRunner, on calls taken in from the samples.

The calls go through the real service calls (intake, transcript import, assessment) without Prefect, into a data
folder named by CALLREVIEW_DATA_DIR, as a user's would.
"""
import json
import os
import shutil
import sqlite3
import stat

import pytest
from typer.testing import CliRunner

from tests.conftest import copy_samples
from callreview.cli.app import app
from callreview.storage.db import dispose_engines

runner = CliRunner()


@pytest.fixture(scope="module")
def pristine(tmp_path_factory, samples_dir):
    """A data folder holding the three sample calls: 001 consistent, 002 and 003 with open review items."""
    from callreview.core.rules import load_rules
    from callreview.service.assessment import assess_stored_call
    from callreview.service.intake import take_in
    from callreview.service.transcription import transcribe_call
    from callreview.storage.db import open_session
    from callreview.storage.settings import StorageSettings

    root = tmp_path_factory.mktemp("cli-custody")
    inbox, data = root / "inbox", root / "data"
    copy_samples(inbox)
    storage, rules = StorageSettings(data_dir=data, database_url=None), load_rules()
    for n in (1, 2, 3):
        wav, log = inbox / f"CR-SAMPLE-00{n}.wav", inbox / f"CR-SAMPLE-00{n}.json"
        with open_session(storage) as session:
            result = take_in(session, "batch", storage, wav, log if log.exists() else None)
            transcribe_call(session, "batch", storage.archive_dir, result.call_pk, wav, engine_factory=None)
            assess_stored_call(session, "batch", result.call_pk, rules)
    dispose_engines()  # checkpoints SQLite's WAL, so a copy of the folder is whole
    return data


@pytest.fixture
def data_dir(pristine, tmp_path, monkeypatch):
    """A fresh copy of the pristine data folder, named by CALLREVIEW_DATA_DIR."""
    data = tmp_path / "data"
    shutil.copytree(pristine, data)
    monkeypatch.setenv("CALLREVIEW_DATA_DIR", str(data))
    monkeypatch.delenv("CALLREVIEW_DATABASE_URL", raising=False)
    monkeypatch.delenv("CALLREVIEW_RETENTION_DAYS", raising=False)
    yield data
    dispose_engines()


def _invoke(*args):
    result = runner.invoke(app, list(args))
    dispose_engines()  # each command opens its own engine, as separate processes would
    return result


def _audit_actions(data):
    with sqlite3.connect(data / "callreview.db") as db:
        return [row[0] for row in db.execute("SELECT action FROM audit_event ORDER BY id")]


def test_verify_json_on_an_untouched_archive_exits_0_and_is_audited(data_dir):
    result = _invoke("verify", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] and (report["checked"], report["verified"]) == (3, 3)
    assert _audit_actions(data_dir)[-1] == "verify"


def test_verify_reports_an_edited_audit_row_and_an_altered_recording(data_dir):
    with sqlite3.connect(data_dir / "callreview.db") as db:
        db.execute("UPDATE audit_event SET detail_json = '{}' WHERE id = 2")
        path = db.execute("SELECT archive_path FROM call WHERE call_id = 'CR-SAMPLE-002'").fetchone()[0]
    recording = data_dir / "archive" / path
    os.chmod(recording, stat.S_IRUSR | stat.S_IWUSR)
    with open(recording, "r+b") as f:
        f.seek(1000)
        f.write(b"\x00\x01\x02\x03")  # four samples changed, same size
    result = _invoke("verify", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert [(p["call_id"], p["path"]) for p in report["altered"]] == [("CR-SAMPLE-002", path)]
    assert [p["event_id"] for p in report["audit_problems"]] == [2]
    assert "edited" in report["audit_problems"][0]["problem"]
    with sqlite3.connect(data_dir / "callreview.db") as db:
        outcome, detail = db.execute("SELECT outcome, detail_json FROM audit_event ORDER BY id DESC").fetchone()
    assert outcome == "problems" and json.loads(detail)["altered"] == [path]


def test_verify_table_names_each_problem_and_exits_1(data_dir):
    (data_dir / "archive" / ".incoming-abc").write_bytes(b"x")
    result = _invoke("verify")
    assert result.exit_code == 1
    assert "leftover" in result.stdout and ".incoming-abc" in result.stdout


def test_purge_dry_run_json_lists_what_would_go_and_removes_nothing(data_dir):
    result = _invoke("purge", "--before", "2999-01-01", "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [p["call_id"] for p in report["purged"]] == ["CR-SAMPLE-001"]
    assert {k["call_id"]: k["reason"].split(" #")[0] for k in report["kept"]} == {
        "CR-SAMPLE-002": "open review item", "CR-SAMPLE-003": "open review item"}
    assert json.loads(_invoke("verify", "--json").stdout)["verified"] == 3
    assert "purge_run" in _audit_actions(data_dir) and "purge" not in _audit_actions(data_dir)


def test_purge_removes_expired_audio_and_verify_still_passes(data_dir):
    result = _invoke("purge", "--before", "2999-01-01T00:00:00+00:00", "--json")
    assert result.exit_code == 0, result.output
    assert [p["file_removed"] for p in json.loads(result.stdout)["purged"]] == [True]
    report = json.loads(_invoke("verify", "--json").stdout)
    assert report["ok"] and report["checked"] == 2


def test_purge_refuses_a_date_the_retention_setting_protects(data_dir, monkeypatch):
    monkeypatch.setenv("CALLREVIEW_RETENTION_DAYS", "365")
    result = _invoke("purge", "--before", "2999-01-01")
    assert result.exit_code == 2 and "CALLREVIEW_RETENTION_DAYS=365" in result.output


def test_purge_needs_a_date_or_the_retention_setting(data_dir):
    result = _invoke("purge")
    assert result.exit_code == 2 and "--before" in result.output
    bad = _invoke("purge", "--before", "last tuesday")
    assert bad.exit_code == 2 and "not an ISO date" in bad.output
