"""callreview.cli.search: search, export, export-queue, export-dispositions and report through the CLI, audited."""
import csv
import json

import pytest
import webvtt
from sqlmodel import select
from typer.testing import CliRunner

from calldata import dispose, load_samples
from callreview.cli.app import app
from callreview.storage.audit import verify_audit_chain
from callreview.storage.db import open_session
from callreview.storage.tables import AuditEvent

runner = CliRunner()


@pytest.fixture
def db(storage_settings, monkeypatch):
    """The three sample calls in a real SQLite file that the CLI finds through the environment."""
    monkeypatch.setenv("CALLREVIEW_DATABASE_URL", storage_settings.url)
    monkeypatch.setenv("CALLREVIEW_DATA_DIR", str(storage_settings.data_dir))
    with open_session(storage_settings) as session:
        load_samples(session)
        dispose(session, "CR-SAMPLE-002", "confirmed", "Door knock dispatched.")
        session.commit()
    return storage_settings


def cli(*args):
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    return result


def events(settings, action):
    with open_session(settings) as s:
        assert verify_audit_chain(s) == []
        return [e for e in s.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))]


def one_line(result) -> str:
    return " ".join(result.stderr.split())


def test_search_json_lists_hits_and_is_audited(db):
    result = cli("search", '"knock on the door"', "--json")
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert [(h["call_id"], h["segment"], h["speaker"]) for h in hits] == [("CR-SAMPLE-002", 2, "ice")]
    # SQLite marks the phrase as one span, PostgreSQL each word: both start the mark at "knock".
    assert "\ue000knock" in hits[0]["snippet"]
    [event] = events(db, "search")
    assert event.actor.startswith("cli:") and event.object_id == '"knock on the door"'
    assert json.loads(event.detail_json)["hits"] == 1


def test_search_filters(db):
    result = cli("search", "warrant", "--officer", "lowry", "--verdict", "mismatch", "--from", "2017-06-05",
                 "--to", "2017-06-05", "--decision", "dispatched", "--json")
    assert [h["call_id"] for h in json.loads(result.stdout)] == ["CR-SAMPLE-002"]
    result = cli("search", "detainer", "--decision", "none", "--json")
    assert {h["call_id"] for h in json.loads(result.stdout)} == {"CR-SAMPLE-003"}
    result = cli("search", "warrant", "--tag", "door_knock", "--limit", "1", "--json")
    assert [h["call_id"] for h in json.loads(result.stdout)] == ["CR-SAMPLE-002"]


def test_search_table_for_people(db):
    result = cli("search", "felony")
    assert result.exit_code == 0 and "CR-SAMPLE-001" in result.stdout


def test_malformed_query_is_one_clear_line_exit_2_and_audited(db):
    result = cli("search", '"knock on the door')
    assert result.exit_code == 2
    assert 'without a closing one' in one_line(result)
    [event] = events(db, "search")
    assert event.outcome == "invalid_query"


def test_bad_date_is_a_usage_error(db):
    assert cli("search", "x", "--from", "2017-13-01").exit_code == 2


def test_export_vtt_to_a_file_parses_and_is_audited(db, tmp_path):
    out = tmp_path / "call.vtt"
    result = cli("export", "CR-SAMPLE-001", "--format", "vtt", "--out", str(out))
    assert result.exit_code == 0, result.output
    cues = list(webvtt.read(str(out)))
    assert cues[0].voice == "officer" and len(cues) == 4
    [event] = events(db, "export_transcript")
    assert event.object_id == "CR-SAMPLE-001" and json.loads(event.detail_json)["format"] == "vtt"


def test_export_srt_to_stdout(db):
    result = cli("export", "CR-SAMPLE-003", "--format", "srt")
    assert result.exit_code == 0 and result.stdout.startswith("1\n00:00:00,000 --> ")


def test_export_unknown_call_or_format(db):
    result = cli("export", "CR-NOPE")
    assert result.exit_code == 1 and "CR-NOPE: no such call" in one_line(result)
    assert events(db, "export_transcript")[0].outcome == "not_found"
    assert cli("export", "CR-SAMPLE-001", "--format", "docx").exit_code == 2


def test_export_queue_and_dispositions_csv(db, tmp_path):
    queue, dispositions = tmp_path / "q.csv", tmp_path / "d.csv"
    assert cli("export-queue", "--out", str(queue)).exit_code == 0
    assert [r["call_id"] for r in csv.DictReader(queue.open())] == ["CR-SAMPLE-002", "CR-SAMPLE-003"]
    assert cli("export-dispositions", "--out", str(dispositions)).exit_code == 0
    assert [(r["call_id"], r["disposition"]) for r in csv.DictReader(dispositions.open())] == [
        ("CR-SAMPLE-002", "confirmed")]
    assert len(events(db, "export_queue")) == 1 and len(events(db, "export_dispositions")) == 1


def test_report_json_html_and_pdf(db, tmp_path):
    result = cli("report", "--from", "2017-06-01", "--to", "2017-06-30", "--json")
    data = json.loads(result.stdout)
    assert (data["calls"], data["decisions"]["dispatched"]) == (2, 2)
    assert data["reasons"] == {"dispatch_without_basis": 1, "door_knock_request_dispatched": 1}
    html, pdf = tmp_path / "r.html", tmp_path / "r.pdf"
    assert cli("report", "--from", "2017-06-01", "--to", "2017-06-30", "--out", str(html)).exit_code == 0
    assert "data:image/png;base64," in html.read_text() and "Lowry" not in html.read_text()
    assert cli("report", "--from", "2017-06-01", "--to", "2017-06-30", "--out", str(pdf)).exit_code == 0
    assert pdf.read_bytes().startswith(b"%PDF")
    assert len(events(db, "export_report")) == 3


def test_report_refuses_bad_period_and_suffix(db, tmp_path):
    assert cli("report", "--from", "2017-06-30", "--to", "2017-06-01").exit_code == 2
    assert cli("report", "--from", "2017-06-01", "--to", "2017-06-30", "--out", str(tmp_path / "r.docx")).exit_code == 2


@pytest.mark.parametrize("option,value,name", [("--to", "9999-12-31", "date_to"),
                                               ("--from", "0001-01-01", "date_from")])
def test_search_date_out_of_range_is_exit_2_and_audited(db, option, value, name):
    result = cli("search", "door", option, value)
    assert result.exit_code == 2
    assert f"{option} must be a day from 1900-01-01 to 2999-12-31, got {value}" in one_line(result)
    [event] = events(db, "search")
    assert event.outcome == f"invalid_{name}"


@pytest.mark.parametrize("option,value,name", [("--to", "9999-12-31", "date_to"),
                                               ("--from", "1899-12-31", "date_from")])
def test_report_date_out_of_range_is_exit_2_and_audited(db, option, value, name):
    args = {"--from": "2017-01-01", "--to": "2017-12-31", option: value}
    result = cli("report", *[x for pair in args.items() for x in pair], "--json")
    assert result.exit_code == 2 and f"{option} must be a day from 1900-01-01" in one_line(result)
    [event] = events(db, "export_report")
    assert event.outcome == f"invalid_{name}"
