"""`callreview packet`: a call's evidence in one zip that proves itself offline, the same bytes every time."""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from tests.conftest import copy_samples
from callreview.cli.app import app
from callreview.storage.db import dispose_engines, open_session
from callreview.storage.settings import StorageSettings
from callreview.storage.tables import AuditEvent

runner = CliRunner()


@pytest.fixture(scope="module")
def data(prefect_harness, samples_dir, tmp_path_factory) -> Path:
    """A data folder that `callreview run` filled from the sample inbox (real archive, real audit log)."""
    inbox = tmp_path_factory.mktemp("packet-inbox")
    copy_samples(inbox)
    folder = tmp_path_factory.mktemp("packet-data") / "data"
    # Not checked for tracebacks: Prefect's own console handler, set up by an earlier test under another
    # CliRunner, may report its closed stream into this output (the packet commands below are checked).
    result = _invoke(folder, "run", str(inbox), "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["processed"] == 3, result.output
    return folder


def _invoke(data: Path, *args: str):
    result = runner.invoke(app, list(args), env={"CALLREVIEW_DATA_DIR": str(data), "CALLREVIEW_DATABASE_URL": None})
    dispose_engines()
    return result


def invoke(data: Path, *args: str):
    result = _invoke(data, *args)
    assert "Traceback" not in result.output
    return result


def exports(data: Path) -> list[AuditEvent]:
    with open_session(StorageSettings(data_dir=data, database_url=None)) as s:
        rows = list(s.exec(select(AuditEvent).where(AuditEvent.action == "export_packet").order_by(AuditEvent.id)))
    dispose_engines()
    return rows


def test_the_same_call_gives_the_same_bytes_and_each_export_is_audited(data, tmp_path):
    first = json.loads(invoke(data, "packet", "CR-SAMPLE-002", "--out", str(tmp_path / "a.zip"), "--json").stdout)
    invoke(data, "show", "CR-SAMPLE-002")  # a read between the exports changes nothing in the packet
    invoke(data, "packet", "CR-SAMPLE-002", "--out", str(tmp_path / "b.zip"))
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    packet = zipfile.ZipFile(tmp_path / "a.zip")
    assert sorted(packet.namelist()) == sorted([*first["files"], "manifest.json"])
    assert {"call.json", "review.json", "audit.json", "summary.pdf", "transcripts/v1.json",
            "transcripts/v1.vtt"} <= set(packet.namelist())
    audit = json.loads(packet.read("audit.json"))
    assert [e["action"] for e in audit["events"]][:3] == ["intake", "transcribe", "assess"]
    assert packet.read("summary.pdf").startswith(b"%PDF")
    rows = exports(data)[-2:]
    assert [(r.object_id, r.outcome) for r in rows] == [("CR-SAMPLE-002", "ok")] * 2
    assert json.loads(rows[0].detail_json)["manifest_sha256"] == first["manifest_sha256"]


def test_a_packet_verifies_and_one_changed_byte_is_named(data, tmp_path):
    path = tmp_path / "p.zip"
    invoke(data, "packet", "CR-SAMPLE-002", "--out", str(path))
    ok = invoke(data, "packet", "verify", str(path), "--json")
    assert ok.exit_code == 0 and json.loads(ok.stdout) == {"packet": str(path), "ok": True, "problems": []}

    original = path.read_bytes()
    packet = zipfile.ZipFile(io.BytesIO(original))
    recording = next(i for i in packet.infolist() if i.filename.startswith("recording/"))
    at = recording.header_offset + 30 + len(recording.filename) + recording.compress_size // 2  # inside its data
    changed = bytearray(original)
    changed[at] ^= 0x01
    path.write_bytes(bytes(changed))
    bad = invoke(data, "packet", "verify", str(path), "--json")
    assert bad.exit_code == 1
    assert [p.split(":")[0] for p in json.loads(bad.stdout)["problems"]] == [recording.filename]


def test_an_edited_file_with_its_manifest_left_alone_is_named(data, tmp_path):
    path = tmp_path / "p.zip"
    invoke(data, "packet", "CR-SAMPLE-002", "--out", str(path))
    files = {i.filename: zipfile.ZipFile(path).read(i.filename) for i in zipfile.ZipFile(path).infolist()}
    files["review.json"] = files["review.json"].replace(b'"open"', b'"closed"')
    with zipfile.ZipFile(path, "w") as out:
        for name, body in files.items():
            out.writestr(name, body)
    bad = invoke(data, "packet", "verify", str(path))
    assert bad.exit_code == 1 and "review.json: its SHA-256 differs from manifest.json" in " ".join(bad.stdout.split())


def test_an_unknown_call_or_a_missing_out_is_a_clear_refusal(data, tmp_path):
    unknown = invoke(data, "packet", "CR-NOPE", "--out", str(tmp_path / "x.zip"))
    assert unknown.exit_code == 1 and "call CR-NOPE: no such call" in " ".join(unknown.stderr.split())
    assert not (tmp_path / "x.zip").exists()
    assert exports(data)[-1].outcome == "not_found"
    assert invoke(data, "packet", "CR-SAMPLE-002").exit_code == 2
