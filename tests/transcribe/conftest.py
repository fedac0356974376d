"""Fixtures for transcribe tests: real audio files made on the fly."""
from __future__ import annotations

from pathlib import Path

import pytest

from callaudio import silence, tone, write_wav


@pytest.fixture
def stereo_tone_wav(tmp_path) -> Path:
    """8 kHz stereo: a tone on the left, silence on the right."""
    return write_wav(tmp_path / "call.wav", [tone(1.0, 8000), silence(1.0, 8000)], 8000)
