"""The faster-whisper backend (CTranslate2, int8 on CPU): load a model folder or name, decode speech."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from callreview.transcribe.audio import SAMPLE_RATE
from callreview.transcribe.errors import ModelError
from callreview.transcribe.segments import Decoded, Segment, Word
from callreview.transcribe.settings import WhisperSettings

logger = logging.getLogger(__name__)


@dataclass
class FasterWhisperBackend:
    """A loaded faster-whisper model."""

    model: object
    model_label: str
    name: str = "faster-whisper"
    _batched: object = field(default=None, repr=False)

    def decode(self, samples: np.ndarray, settings: WhisperSettings) -> Decoded:
        """Decode 16 kHz float32 speech; segment times are relative to `samples`."""
        segments, info = self.model.transcribe(
            samples, language=settings.language, beam_size=settings.beam_size,
            initial_prompt=settings.initial_prompt, word_timestamps=settings.word_timestamps,
            condition_on_previous_text=settings.condition_on_previous_text,
            compression_ratio_threshold=settings.compression_ratio_threshold,
            log_prob_threshold=settings.logprob_threshold,
            no_speech_threshold=None,  # keep every window; we flag instead of dropping (evidence)
            temperature=settings.temperatures,
            vad_filter=False,  # the engine already ran voice detection and joined the speech
        )
        return _decoded(segments, info)

    def decode_chunks(self, samples: np.ndarray, chunks: list[tuple[int, int]], settings: WhisperSettings) -> Decoded:
        """Decode each (start, end) sample range of `samples` (at most 30 s) whole and on its own,
        `settings.batch_size` at once; segment times are relative to `samples`.

        Without timestamp tokens Whisper cannot end a chunk early and skip what follows; word times come
        from alignment. Each chunk sees the prompt but not the chunk before it.
        """
        from faster_whisper import BatchedInferencePipeline

        if self._batched is None:
            self._batched = BatchedInferencePipeline(self.model)
        clips = [{"start": a / SAMPLE_RATE, "end": b / SAMPLE_RATE} for a, b in chunks]
        segments, info = self._batched.transcribe(
            samples, language=settings.language, beam_size=settings.beam_size,
            initial_prompt=settings.initial_prompt, word_timestamps=settings.word_timestamps,
            compression_ratio_threshold=settings.compression_ratio_threshold,
            log_prob_threshold=settings.logprob_threshold,
            no_speech_threshold=None,  # keep every chunk; we flag instead of dropping (evidence)
            temperature=settings.temperatures[0],  # the batched pipeline has no fallback (the engine then uses `decode`)
            clip_timestamps=clips, vad_filter=False, batch_size=max(settings.batch_size, 1),
        )
        return _decoded(segments, info)


def _decoded(segments, info) -> Decoded:
    """What faster-whisper gave, as our segments."""
    out = [
        Segment(start=float(s.start), end=float(s.end), text=s.text.strip(), avg_logprob=float(s.avg_logprob),
                no_speech_prob=float(s.no_speech_prob), compression_ratio=float(s.compression_ratio),
                words=tuple(Word(start=float(w.start), end=float(w.end), text=w.word,  # raw: the engine re-joins and strips
                                 probability=float(w.probability)) for w in (s.words or ())))
        for s in segments  # a generator: decoding happens here
    ]
    # Detection ran only for an unset language on a multilingual model; it looks at the first 30 s.
    probs = dict(info.all_language_probs) if info.all_language_probs else None
    return Decoded(out, info.language or "en", probs.get("en", 0.0) if probs is not None else None)


def load_faster_whisper(ref: str, settings: WhisperSettings) -> FasterWhisperBackend:
    """Load a CTranslate2 Whisper folder or a named model (downloads on first use).

    Raises:
        ModelError: the folder is missing or corrupt, or the named model cannot be downloaded.
    """
    from faster_whisper import WhisperModel

    path = Path(ref)
    local = path.is_dir()
    try:
        model = WhisperModel(ref, device=settings.device, compute_type=settings.compute_type,
                             cpu_threads=settings.cpu_threads, num_workers=1)
    except Exception as e:  # CTranslate2 raises RuntimeError/ValueError; huggingface_hub its own types
        text = str(e).strip().splitlines()
        reason = f"{type(e).__name__}: {text[0][:200]}" if text else type(e).__name__
        if local:
            raise ModelError(ref, f"not a usable CTranslate2 Whisper model ({reason})") from None
        raise ModelError(ref, f"cannot download or load the named model ({reason}); offline sites set "
                              "CALLREVIEW_WHISPER_MODEL to a CTranslate2 folder (see `callreview model list`)") from None
    label = ref
    if local:
        from callreview.transcribe.models import PACKS, _sha256_cached

        sha = _sha256_cached(path / "model.bin")
        name = next((p.name for p in PACKS if p.sha256 == sha), path.name)
        label = f"{name}@sha256:{sha[:16]}"
    return FasterWhisperBackend(model=model, model_label=label)
