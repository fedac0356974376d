"""The openai-whisper backend (PyTorch): load a checkpoint or a named model, decode one array of speech."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from callreview.transcribe.errors import ModelError
from callreview.transcribe.segments import Decoded, Segment, Word
from callreview.transcribe.settings import WhisperSettings

logger = logging.getLogger(__name__)


@dataclass
class OpenAIWhisperBackend:
    """A loaded openai-whisper model."""

    model: object
    model_label: str
    name: str = "openai-whisper"

    def decode(self, samples: np.ndarray, settings: WhisperSettings) -> Decoded:
        """Decode 16 kHz float32 speech; segment times are relative to `samples`."""
        import whisper

        language, english = settings.language, None
        if language is None and self.model.is_multilingual:
            # Detect here, as whisper.transcribe would (first 30 s), to keep the probabilities it discards.
            mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(samples), self.model.dims.n_mels)
            _, probs = self.model.detect_language(mel.to(self.model.device))
            language, english = max(probs, key=probs.get), float(probs.get("en", 0.0))
        result = whisper.transcribe(
            self.model, samples, verbose=None,
            fp16=settings.device != "cpu",  # CPUs have no fast fp16; asking for it only warns
            language=language,
            beam_size=settings.beam_size if settings.beam_size > 1 else None,
            initial_prompt=settings.initial_prompt,
            word_timestamps=settings.word_timestamps,
            temperature=settings.temperatures,
            condition_on_previous_text=settings.condition_on_previous_text,
            compression_ratio_threshold=settings.compression_ratio_threshold,
            logprob_threshold=settings.logprob_threshold,
            # Never let Whisper drop a window as "no speech": we flag such segments instead (evidence).
            no_speech_threshold=None,
        )
        segments = [
            Segment(start=float(s["start"]), end=float(s["end"]), text=s["text"].strip(),
                    avg_logprob=float(s["avg_logprob"]), no_speech_prob=float(s["no_speech_prob"]),
                    compression_ratio=float(s["compression_ratio"]),
                    words=tuple(Word(start=float(w["start"]), end=float(w["end"]), text=w["word"],  # raw, leading space kept: the engine re-joins and strips
                                     probability=float(w["probability"])) for w in s.get("words", ())))
            for s in result["segments"]
        ]
        return Decoded(segments, result.get("language") or "en", english)


def load_openai_whisper(ref: str, settings: WhisperSettings) -> OpenAIWhisperBackend:
    """Load a `.pt` checkpoint (`{"dims", "model_state_dict"}`) or a named model (downloads on first use).

    Raises:
        ModelError: the file is missing or corrupt, or the named model cannot be downloaded.
    """
    import torch

    # Deliberate: torch defaults to all cores and may oversubscribe when callers run several workers.
    torch.set_num_threads(settings.cpu_threads)
    path = Path(ref)
    if path.suffix == ".pt" or path.exists():
        return OpenAIWhisperBackend(model=_load_checkpoint(path, settings.device), model_label=_label(path))
    import whisper

    if ref not in whisper.available_models():
        raise ModelError(ref, f"unknown model name; use one of {', '.join(whisper.available_models())} "
                              "or a path to a .pt checkpoint")
    try:
        model = whisper.load_model(ref, device=settings.device)
    except Exception as e:  # network errors, checksum mismatch, disk full: one clear message for all
        raise ModelError(ref, f"cannot download or load the named model ({_reason(e)}); offline sites set "
                              "CALLREVIEW_WHISPER_MODEL to a local .pt checkpoint (see `callreview model list`)") from None
    return OpenAIWhisperBackend(model=model, model_label=ref)


def _load_checkpoint(path: Path, device: str):
    import torch
    from whisper.model import ModelDimensions, Whisper

    if not path.is_file():
        raise ModelError(path, "no such checkpoint file")
    try:
        # weights_only: a checkpoint is data; refuse pickled code (these files travel between sites).
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        dims = ModelDimensions(**checkpoint["dims"])
        model = Whisper(dims)
        model.load_state_dict(checkpoint["model_state_dict"])
    except Exception as e:  # torch raises many types for a damaged file; say what and where once
        raise ModelError(path, f"not a usable openai-whisper checkpoint ({_reason(e)})") from None
    heads = checkpoint.get("alignment_heads")
    if heads:
        mask = torch.zeros(dims.n_text_layer, dims.n_text_head, dtype=torch.bool)
        for layer, head in heads:
            mask[layer, head] = True
        model.register_buffer("alignment_heads", mask.to_sparse(), persistent=False)
    return model.to(device).eval()


def _label(path: Path) -> str:
    from callreview.transcribe.models import _sha256_cached

    return f"{path.stem}@sha256:{_sha256_cached(path)[:16]}"


def _reason(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:200]}" if text else type(error).__name__
