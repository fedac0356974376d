"""callreview.cli.transcribe: `transcribe FILE` and `model import|list`, errors as one line on stderr, exit 1."""
from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from callreview.cli.transcribe import register

app = typer.Typer()
register(app)
runner = CliRunner()


def err(result) -> str:
    # callreview.cli.output.fail prints through rich, which wraps long lines at 80 columns under CliRunner
    return " ".join(result.stderr.split()).replace(" ", "")


def test_transcribe_json_on_a_tone_call(random_pt, stereo_tone_wav):
    result = runner.invoke(app, ["transcribe", str(stereo_tone_wav), "--engine", "openai-whisper", "--model", str(random_pt),
                                 "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["segments"] == [] and data["engine"] == "openai-whisper" and not data["imported"]
    assert {g["channel"] for g in data["gaps"]} == {0, 1}


def test_transcribe_vtt(random_pt, stereo_tone_wav):
    result = runner.invoke(app, ["transcribe", str(stereo_tone_wav), "--engine", "openai-whisper", "--model", str(random_pt),
                                 "--vtt"])
    assert result.exit_code == 0 and result.stdout.startswith("WEBVTT")


def test_bad_recording_is_one_clear_line(tmp_path, random_pt):
    bad = tmp_path / "notes.mp3"
    bad.write_text("not audio")
    result = runner.invoke(app, ["transcribe", str(bad), "--engine", "openai-whisper", "--model", str(random_pt)])
    assert result.exit_code == 1 and "notes.mp3:notarecognisableaudiofile" in err(result)
    assert "Traceback" not in result.output


def test_missing_model_and_bad_engine(stereo_tone_wav, tmp_path):
    result = runner.invoke(app, ["transcribe", str(stereo_tone_wav), "--engine", "openai-whisper", "--model",
                                 str(tmp_path / "gone.pt")])
    assert result.exit_code == 1 and "gone.pt:nosuchfileorfolder" in err(result)
    result = runner.invoke(app, ["transcribe", str(stereo_tone_wav), "--engine", "whisper.cpp"])
    assert result.exit_code == 1 and "CALLREVIEW_WHISPER_ENGINE" in err(result)


def test_model_import_and_list(tiny_en_pack, tmp_path, monkeypatch):
    monkeypatch.setenv("CALLREVIEW_WHISPER_CACHE_DIR", str(tmp_path))
    out = tmp_path / "tiny.en.pt"
    result = runner.invoke(app, ["model", "import", str(tiny_en_pack), str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["source_sha256"].startswith("1a5afae0") and out.is_file()
    listed = json.loads(runner.invoke(app, ["model", "list", "--json"]).stdout)
    assert {(m["name"], m["kind"]) for m in listed} >= {("tiny.en", "ctranslate2"), ("tiny.en", "checkpoint")}
    result = runner.invoke(app, ["model", "import", str(tiny_en_pack), str(out), "--sha256", "0" * 64])
    assert result.exit_code == 1 and "refusingtouseit" in err(result)
