"""Convert a CTranslate2 Whisper folder (what faster-whisper loads) into an openai-whisper checkpoint.

So that both engines can run the very same weights offline. The CTranslate2 `model.bin` layout is the one
`ctranslate2/specs/model_spec.py` writes: a version, the spec name, a revision, then named arrays (name,
rank, dims, dtype id, byte count, bytes), then aliases. Whisper's layers map one to one, except that
CTranslate2 fuses projections: self-attention `linear_0` is q, k and v stacked; cross-attention `linear_0`
is q and `linear_1` is k and v stacked; openai-whisper's `key` has no bias (CTranslate2 stores zeros).
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import struct
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from callreview.transcribe.errors import ModelError

logger = logging.getLogger(__name__)

# Order of the DataType enum in ctranslate2/types.h, as `_dtype_to_type_id` writes it.
_CT2_DTYPES = ("float32", "int8", "int16", "int32", "float16", "bfloat16")
_SUPPORTED_BINARY_VERSIONS = range(1, 7)


@dataclass(frozen=True)
class ConvertedModel:
    """What a conversion wrote."""

    path: Path
    source_sha256: str  # SHA-256 of the CTranslate2 model.bin that was read
    dims: dict
    english_only: bool


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file, read in 1 MiB pieces."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def read_ct2_variables(model_bin: str | Path) -> tuple[str, dict[str, np.ndarray]]:
    """Read every named array of a CTranslate2 `model.bin`.

    Args:
        model_bin: the file.

    Returns:
        (spec name, {variable name: array}); aliases point at the array they alias.

    Raises:
        ModelError: the file is missing, truncated, or not a CTranslate2 model.
    """
    path = Path(model_bin)
    if not path.is_file():
        raise ModelError(path, "file not found")
    data = memoryview(path.read_bytes())
    pos = 0

    def take(n: int) -> memoryview:
        nonlocal pos
        if pos + n > len(data):
            raise ModelError(path, f"truncated or corrupt CTranslate2 model (needs {pos + n} bytes, has {len(data)})")
        out = data[pos:pos + n]
        pos += n
        return out

    def uint(fmt: str) -> int:
        return struct.unpack("<" + fmt, take(struct.calcsize(fmt)))[0]

    def string() -> str:
        raw = bytes(take(uint("H")))
        return raw.rstrip(b"\0").decode("utf-8", errors="replace")

    version = uint("I")
    if version not in _SUPPORTED_BINARY_VERSIONS:
        raise ModelError(path, f"not a CTranslate2 model (binary version {version})")
    spec = string() if version >= 2 else ""
    if version >= 2:
        uint("I")  # spec revision
    variables: dict[str, np.ndarray] = {}
    for _ in range(uint("I")):
        name = string()
        shape = tuple(uint("I") for _ in range(take(1)[0]))
        type_id = take(1)[0] if version >= 4 else 0
        if type_id >= len(_CT2_DTYPES):
            raise ModelError(path, f"variable {name}: unknown dtype id {type_id}")
        dtype = _CT2_DTYPES[type_id]
        nbytes = uint("I")
        raw = take(nbytes)
        if dtype == "bfloat16":  # numpy has no bfloat16: widen to float32 by shifting into the high half
            arr = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            arr = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<"))
        expected = int(np.prod(shape)) if shape else 1
        if arr.size != expected:
            raise ModelError(path, f"variable {name}: {arr.size} values for shape {shape}")
        variables[name] = arr.reshape(shape)
    if version >= 3:
        for _ in range(uint("I")):
            alias, target = string(), string()
            if target in variables:
                variables[alias] = variables[target]
    return spec, variables


def convert_ct2_to_whisper(ct2_dir: str | Path, out_path: str | Path, *,
                           expected_sha256: str | None = None) -> ConvertedModel:
    """Write an openai-whisper checkpoint (`{"dims", "model_state_dict"}`) from a CTranslate2 Whisper folder.

    Args:
        ct2_dir: folder with `model.bin` and `config.json` (faster-whisper's layout).
        out_path: the `.pt` file to write (its folder is created).
        expected_sha256: when given, `model.bin` must have this SHA-256 or nothing is written.

    Returns:
        The output path, the source checksum, the model dimensions and whether it is English-only.

    Raises:
        ModelError: missing files, a checksum mismatch, or a model that is not Whisper.
    """
    import torch

    ct2_dir = Path(ct2_dir)
    model_bin = ct2_dir / "model.bin"
    if not model_bin.is_file():
        raise ModelError(ct2_dir, "no model.bin here; expected a CTranslate2 Whisper folder")
    source_sha = sha256_file(model_bin)
    if expected_sha256 and source_sha != expected_sha256.lower():
        raise ModelError(model_bin, f"SHA-256 is {source_sha}, expected {expected_sha256}; refusing to use it")
    spec, variables = read_ct2_variables(model_bin)
    if spec and spec != "WhisperSpec":
        raise ModelError(model_bin, f"a {spec} model, not Whisper")
    state, dims = _whisper_state(model_bin, variables)
    checkpoint = {"dims": dims, "model_state_dict": state}
    heads = _alignment_heads(ct2_dir, variables)
    if heads is not None:
        # Not part of openai-whisper's format (load_model ignores extra keys); our engine applies it so that
        # word timestamps use the cross-attention heads the model was tuned with.
        checkpoint["alignment_heads"] = heads
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".partial")
    torch.save(checkpoint, tmp)
    tmp.replace(out_path)  # never leave a half-written checkpoint under the real name
    logger.info("converted %s (sha256 %s) to %s", model_bin, source_sha, out_path)
    return ConvertedModel(path=out_path, source_sha256=source_sha, dims=dims,
                          english_only=dims["n_vocab"] < 51865)


def _whisper_state(path: Path, v: dict[str, np.ndarray]) -> tuple[dict, dict]:
    import torch

    def has(name: str) -> bool:
        return name in v

    def layers(prefix: str) -> int:
        found = {int(m.group(1)) for k in v if (m := re.match(rf"{prefix}/layer_(\d+)/", k))}
        return max(found) + 1 if found else 0

    try:
        n_audio_layer, n_text_layer = layers("encoder"), layers("decoder")
        conv1 = v["encoder/conv1/weight"]
        dims = {
            "n_mels": int(conv1.shape[1]),
            "n_audio_ctx": int(v["encoder/position_encodings/encodings"].shape[0]),
            "n_audio_state": int(conv1.shape[0]),
            "n_audio_head": int(v["encoder/num_heads"]) if has("encoder/num_heads") else None,
            "n_audio_layer": n_audio_layer,
            "n_vocab": int(v["decoder/embeddings/weight"].shape[0]),
            "n_text_ctx": int(v["decoder/position_encodings/encodings"].shape[0]),
            "n_text_state": int(v["decoder/embeddings/weight"].shape[1]),
            "n_text_head": int(v["decoder/num_heads"]) if has("decoder/num_heads") else None,
            "n_text_layer": n_text_layer,
        }
    except KeyError as e:
        raise ModelError(path, f"not a Whisper model (no variable {e.args[0]})") from None
    if dims["n_audio_head"] is None or dims["n_text_head"] is None:
        # Older converters did not store num_heads; Whisper always uses 64-wide heads.
        dims["n_audio_head"] = dims["n_audio_head"] or dims["n_audio_state"] // 64
        dims["n_text_head"] = dims["n_text_head"] or dims["n_text_state"] // 64
    if not n_audio_layer or not n_text_layer:
        raise ModelError(path, "not a Whisper model (no encoder or decoder layers)")

    state: dict[str, np.ndarray] = {}

    def weight(name: str) -> np.ndarray:
        try:
            w = v[name]
        except KeyError:
            raise ModelError(path, f"not a complete Whisper model (no variable {name})") from None
        scale = v.get(name + "_scale")
        if w.dtype == np.int8 and scale is not None:  # int8 packs: one scale per output row
            return w.astype(np.float32) / scale.astype(np.float32).reshape(-1, *([1] * (w.ndim - 1)))
        return w

    def norm(dst: str, src: str) -> None:
        state[f"{dst}.weight"] = weight(f"{src}/gamma")
        state[f"{dst}.bias"] = weight(f"{src}/beta")

    def linear(dst: str, src: str, bias: bool = True) -> None:
        state[f"{dst}.weight"] = weight(f"{src}/weight")
        if bias:
            state[f"{dst}.bias"] = weight(f"{src}/bias")

    def fused(dsts: list[str], src: str) -> None:
        ws = np.split(weight(f"{src}/weight"), len(dsts))
        bs = np.split(weight(f"{src}/bias"), len(dsts))
        for dst, w, b in zip(dsts, ws, bs):
            state[f"{dst}.weight"] = w
            if not dst.endswith(".key"):  # openai-whisper's key projection has no bias
                state[f"{dst}.bias"] = b

    def block(dst: str, src: str, cross: bool) -> None:
        attn = "attn"
        fused([f"{dst}.{attn}.query", f"{dst}.{attn}.key", f"{dst}.{attn}.value"], f"{src}/self_attention/linear_0")
        linear(f"{dst}.{attn}.out", f"{src}/self_attention/linear_1")
        norm(f"{dst}.attn_ln", f"{src}/self_attention/layer_norm")
        if cross:
            linear(f"{dst}.cross_attn.query", f"{src}/attention/linear_0")
            fused([f"{dst}.cross_attn.key", f"{dst}.cross_attn.value"], f"{src}/attention/linear_1")
            linear(f"{dst}.cross_attn.out", f"{src}/attention/linear_2")
            norm(f"{dst}.cross_attn_ln", f"{src}/attention/layer_norm")
        linear(f"{dst}.mlp.0", f"{src}/ffn/linear_0")
        linear(f"{dst}.mlp.2", f"{src}/ffn/linear_1")
        norm(f"{dst}.mlp_ln", f"{src}/ffn/layer_norm")

    state["encoder.positional_embedding"] = weight("encoder/position_encodings/encodings")
    linear("encoder.conv1", "encoder/conv1")
    linear("encoder.conv2", "encoder/conv2")
    for i in range(n_audio_layer):
        block(f"encoder.blocks.{i}", f"encoder/layer_{i}", cross=False)
    norm("encoder.ln_post", "encoder/layer_norm")
    state["decoder.token_embedding.weight"] = weight("decoder/embeddings/weight")
    state["decoder.positional_embedding"] = weight("decoder/position_encodings/encodings")
    for i in range(n_text_layer):
        block(f"decoder.blocks.{i}", f"decoder/layer_{i}", cross=True)
    norm("decoder.ln", "decoder/layer_norm")
    # Copies, so the tensors do not keep the whole model.bin buffer alive (and are writable for torch).
    return {k: torch.from_numpy(np.array(a)) for k, a in state.items()}, dims


def _alignment_heads(ct2_dir: Path, v: dict[str, np.ndarray]) -> list[list[int]] | None:
    config = ct2_dir / "config.json"
    if config.is_file():
        try:
            heads = json.loads(config.read_text()).get("alignment_heads")
        except (json.JSONDecodeError, OSError):
            heads = None
        if heads:
            return [[int(layer), int(head)] for layer, head in heads]
    return None


def describe(converted: ConvertedModel) -> dict:
    """A JSON-ready summary of a conversion (for the CLI)."""
    return {**asdict(converted), "path": str(converted.path)}
