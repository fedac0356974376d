"""transcribe.convert / transcribe.models / transcribe.settings: offline packs, checksums, conversion."""
from __future__ import annotations

import pytest
import torch

from transcribe.convert import convert_ct2_to_whisper, read_ct2_variables
from transcribe.engine import _Timeline
from transcribe.errors import ModelError
from transcribe.models import PACKS, list_models, resolve_model
from transcribe.settings import WhisperSettings


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
    assert resolve_model(WhisperSettings(engine="faster-whisper", cache_dir=tmp_path)) == str(tiny_en_pack)
    converted = resolve_model(WhisperSettings(engine="openai-whisper", cache_dir=tmp_path))
    assert converted.endswith(".pt") and converted.startswith(str(tmp_path))
    assert any(m.kind == "checkpoint" for m in list_models(settings))
    assert resolve_model(WhisperSettings(model="base.en")) == "base.en"  # a name passes through


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


def test_timeline_maps_joined_speech_back_to_file_time():
    # speech at 1-2 s and 10-11 s of the file, joined into 0-2 s
    t = _Timeline([(16000, 32000), (160000, 176000)], offset=100.0)
    assert t.original(0.5) == 101.5 and t.original(1.0, is_end=True) == 102.0 and t.original(1.0) == 110.0
    assert t.original(1.9, stretch=0) == 102.0  # a word is kept inside its own stretch
