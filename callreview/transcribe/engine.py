"""One interface over two Whisper implementations: `get_engine(settings).transcribe(audio)`.

The engine does what both implementations share, so they cannot drift apart:
- each channel of a multi-channel recording is decoded on its own and labelled with its speaker
  (`settings.channel_speakers`); mono gets "unknown"; the channels are merged by time;
- voice detection runs first; only speech is decoded (the speech stretches are joined, decoded, and the
  times mapped back), so timestamps stay true to the original file and skipped stretches become gaps;
- long recordings are taken window by window (`settings.window_s`), cutting only where there is no speech;
- every segment is checked for hallucination and flagged, never dropped; when Whisper's language detection
  gives English a low probability on every channel, every segment is flagged `uncertain_language`;
- pieces of one sentence that Whisper cut apart are joined again (`callreview.transcribe.fragments`).
A backend (`openai_engine`, `faster_engine`) only loads a model and decodes one array of speech.
"""
from __future__ import annotations

import bisect
import dataclasses
import itertools
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Protocol

import numpy as np

from callreview.transcribe.audio import SAMPLE_RATE, Audio, stream_audio
from callreview.transcribe.chunks import speech_chunks
from callreview.transcribe.fragments import ends_sentence, join_fragments
from callreview.transcribe.hallucination import flag_segments, is_loop
from callreview.transcribe.segments import Decoded, Gap, Segment, Transcript, Word
from callreview.transcribe.settings import WhisperSettings
from callreview.transcribe.vad import Stretch, find_gaps, speech_stretches

logger = logging.getLogger(__name__)

Progress = Callable[[float, float], None]
"""Called with (seconds of the recording done, seconds in all)."""

# How many times each (engine, model, device, compute_type, threads) was loaded in this process.
MODEL_LOADS: Counter = Counter()


class Backend(Protocol):
    """What an implementation provides: a loaded model that decodes one array of 16 kHz speech."""

    name: str
    model_label: str

    def decode(self, samples: np.ndarray, settings: WhisperSettings) -> Decoded:
        """Segments (times relative to `samples`), the language spoken, and how sure Whisper is it is English."""
        ...


class Engine:
    """A loaded model plus the decoding settings; reuse it for every call of a batch."""

    def __init__(self, settings: WhisperSettings, backend: Backend):
        self.settings = settings
        self.backend = backend

    @property
    def name(self) -> str:
        """The implementation: openai-whisper or faster-whisper."""
        return self.backend.name

    @property
    def model(self) -> str:
        """The model, as recorded with each transcript (a name, with the weights' SHA-256 when local)."""
        return self.backend.model_label

    def transcribe(self, audio: Audio, *, progress: Progress | None = None) -> Transcript:
        """Transcribe a decoded recording.

        Args:
            audio: from `callreview.transcribe.audio.load_audio`.
            progress: called after each window of each channel with (seconds done, seconds in all); the
                channels are taken one after the other, so each counts for its share of the recording.

        Returns:
            Segments of every channel merged by time, with speakers, flags, and the gaps voice detection
            skipped.
        """
        window = int(self.settings.window_s * SAMPLE_RATE)

        def windows(channel: int) -> Iterator[tuple[float, np.ndarray, bool]]:
            samples = audio.channels[channel]
            return ((start / SAMPLE_RATE, samples[start:start + window], start + window >= len(samples))
                    for start in range(0, max(len(samples), 1), window))

        return self._transcribe_channels(windows, len(audio.channels), audio.duration, progress)

    def transcribe_path(self, path: str | Path, *, progress: Progress | None = None) -> Transcript:
        """Transcribe a recording straight from its file, one channel at a time, window by window.

        Memory is bounded by one window of one channel, whatever the recording's length; the file is decoded
        once per channel. The transcript is the one `transcribe(load_audio(path))` gives.

        Raises:
            AudioError: the recording cannot be decoded.
        """
        from callreview.transcribe.audio import probe_audio

        info = probe_audio(path)

        def windows(channel: int) -> Iterator[tuple[float, np.ndarray, bool]]:
            for offset, (samples,), last in stream_audio(path, window_s=self.settings.window_s, channel=channel):
                yield offset, samples, last
                del samples  # before the next window is read

        return self._transcribe_channels(windows, info.original_channels, info.duration, progress)

    def _transcribe_channels(self, windows: Callable[[int], Iterable[tuple[float, np.ndarray, bool]]], n_channels: int,
                             total: float, progress: Progress | None) -> Transcript:
        """Transcribe each channel from its windows (`windows(channel)` gives (offset, samples, last) in turn),
        then merge the channels by time."""
        speakers = self._speakers(n_channels)
        segments: list[Segment] = []
        gaps: list[Gap] = []
        languages: Counter = Counter()
        english: list[tuple[int, float | None, float]] = []
        for ch in range(n_channels):
            def report(done: float, ch: int = ch) -> None:
                if progress:
                    progress((ch * total + min(done, total)) / n_channels, total)

            for segs, chan_gaps, decoded, speech in self._transcribe_channel(
                    windows(ch), ch if n_channels > 1 else None, speakers[ch], report):
                segments.extend(segs)
                gaps.extend(chan_gaps)
                if decoded is not None:
                    languages[decoded.language] += speech
                    english.append((ch, decoded.english_probability, speech))
        segments.sort(key=lambda s: (s.start, s.channel if s.channel is not None else -1))
        gaps.sort(key=lambda g: (g.start, g.channel if g.channel is not None else -1))
        language = self.settings.language or (languages.most_common(1)[0][0] if languages else "en")
        flagged = flag_segments(segments, self.settings)
        best = best_english_probability(english)
        if best is not None and best < self.settings.min_english_probability:
            logger.info("no channel is likely English (best P(en) %.2f): every segment flagged", best)
            flagged = [dataclasses.replace(seg, flags=seg.flags + ("uncertain_language",)) for seg in flagged]
        if self.settings.join_fragments:
            flagged = join_fragments(flagged)
        return Transcript(language=language, segments=tuple(flagged),
                          engine=self.name, model=self.model, gaps=tuple(gaps))

    def _transcribe_channel(self, windows: Iterable[tuple[float, np.ndarray, bool]], channel: int | None,
                            speaker: str, report: Callable[[float], None],
                            ) -> Iterator[tuple[list[Segment], list[Gap], Decoded | None, float]]:
        """Decode one channel window by window; speech still running at a window's end waits for the next.

        Yields, per window: its segments and gaps in file time, what the backend decoded, and seconds of speech.
        """
        carry = np.zeros(0, np.float32)
        carry_at = 0.0
        for offset, samples, last in windows:
            buf = np.concatenate([carry, samples]) if len(carry) else samples
            at = carry_at if len(carry) else offset
            spans = self._speech(buf) if self.settings.vad else [Stretch(0, len(buf), 0, len(buf))]
            cut = len(buf) if last else self._safe_cut(buf, spans)
            yield self._transcribe_stretch(buf[:cut], [span for span in spans if span.end <= cut], at, channel, speaker)
            carry = buf[cut:].copy()
            carry_at = at + cut / SAMPLE_RATE
            report(offset + len(samples) / SAMPLE_RATE)
            del buf, samples  # before the next window is read, or two would be held at once

    def _safe_cut(self, buf: np.ndarray, spans: list[Stretch]) -> int:
        """Where a window may end without cutting through speech: the start of speech still running at its end."""
        if not self.settings.vad:
            return len(buf)
        tail = int(self.settings.vad_min_silence_s * SAMPLE_RATE)
        if spans and spans[-1][1] >= len(buf) - tail:
            start = spans[-1][0]
            # One unbroken stretch of speech longer than two windows is cut anyway, to bound memory.
            if start > 0 or len(buf) > 2 * self.settings.window_s * SAMPLE_RATE:
                return start if start > 0 else len(buf)
            return 0
        return len(buf)

    def _speech(self, samples: np.ndarray) -> list[Stretch]:
        s = self.settings
        return speech_stretches(samples, threshold=s.vad_threshold, min_silence_s=s.vad_min_silence_s,
                                padding_s=s.vad_padding_s, floor_margin_db=s.vad_floor_margin_db)

    def _transcribe_stretch(self, samples: np.ndarray, stretches: list[Stretch], offset: float,
                            channel: int | None, speaker: str) -> tuple[list[Segment], list[Gap], Decoded | None, float]:
        if len(samples) == 0:
            return [], [], None, 0.0
        spans = [(s.start, s.end) for s in stretches]
        gaps = find_gaps(spans, len(samples), offset=offset, channel=channel) if self.settings.vad else []
        if not spans:
            return [], gaps, None, 0.0
        speech = np.concatenate([samples[a:b] for a, b in spans]) if len(spans) > 1 else samples[spans[0][0]:spans[0][1]]
        joints = list(itertools.accumulate(b - a for a, b in spans))[:-1]
        decoded = self._decode_all(np.ascontiguousarray(speech, dtype=np.float32), joints)
        timeline = _Timeline(spans, offset, voiced=[(s.voiced_start, s.voiced_end) for s in stretches])
        segments = [piece for seg in decoded.segments for piece in _place(seg, timeline, speaker, channel)]
        return segments, gaps, decoded, len(speech) / SAMPLE_RATE

    def _first_pass(self, speech: np.ndarray, joints: list[int]) -> Decoded:
        """The joined speech decoded in chunks of one window each, batched, when the backend can
        (faster-whisper, `batch_size` > 0, no temperature fallback); otherwise in one pass, window by window."""
        chunked = getattr(self.backend, "decode_chunks", None)
        if chunked is None or not self.settings.batch_size or self.settings.temperature_fallback:
            return self.backend.decode(speech, self.settings)
        return chunked(speech, speech_chunks(speech, joints), self.settings)

    def _decode_all(self, speech: np.ndarray, joints: list[int]) -> Decoded:
        """Decode joined speech (`joints`: where one stretch meets the next), then decode again, on its own,
        any long stretch the first pass lost.

        Two ways Whisper loses speech:
        - it ends a 30-second window early when it believes the rest is silence, and skips to the next window:
          at the joint of two speech stretches a whole sentence can go;
        - it falls into a loop ("the new Canon scheme for the new Canon scheme ..."), which the text before
          it keeps feeding from window to window, and the loop covers the speech.
        Voice detection says there is speech there, so a stretch of it that no word outside a loop covers is
        decoded once more, alone, without the previous text that fed the loop (and, if that loops too, without
        the prompt). Decoding stays deterministic. The loop itself is kept, flagged.
        """
        first = self._first_pass(speech, joints)
        raw = list(first.segments)
        min_s = self.settings.redecode_missed_s
        if not min_s:
            return first
        # Retries, in turn, until one does not loop: without the previous text; then without the prompt too
        # (a prompt full of form numbers can start a loop of its own). Like Whisper's own temperature
        # fallback, a retry that is not used is not part of the transcript.
        retries = [self.settings.model_copy(update={"condition_on_previous_text": False}),
                   self.settings.model_copy(update={"condition_on_previous_text": False, "initial_prompt": None})]
        covering = [seg for seg in raw if not is_loop(seg, self.settings)]
        margin = int(_REDECODE_MARGIN_S * SAMPLE_RATE)
        for start, end in missed_stretches(covering, len(speech) / SAMPLE_RATE, min_s):
            a, b = max(int(start * SAMPLE_RATE) - margin, 0), min(int(end * SAMPLE_RATE) + margin, len(speech))
            for retry in retries:
                extra = self.backend.decode(np.ascontiguousarray(speech[a:b]), retry).segments
                if not any(is_loop(seg, retry) for seg in extra):
                    break
            shift = a / SAMPLE_RATE
            # Keep only what lies in the missed stretch: the margin may hold a word the first pass already has.
            raw.extend(moved for seg in extra if seg.text.strip()
                       for moved in [_shift(seg, shift)] if start <= (moved.start + moved.end) / 2 <= end)
            logger.debug("re-decoded missed speech %.1f-%.1f s of the joined audio", start, end)
        raw.sort(key=lambda seg: seg.start)
        return first._replace(segments=raw)

    def _speakers(self, n_channels: int) -> list[str]:
        if n_channels == 1:
            return ["unknown"]
        names = list(self.settings.channel_speakers)
        return [names[i] if i < len(names) else "unknown" for i in range(n_channels)]


def best_english_probability(evidence: Iterable[tuple[int, float | None, float]]) -> float | None:
    """The highest per-channel P(English) from (channel, P(English) or None, seconds of speech) detections.

    Each channel's detections are weighed by the seconds of speech they stood for. The best channel counts,
    not the mean: one party speaking clear English is enough to read the call, and the other may be a line
    of static or a few words. None when the language was never detected.
    """
    weighted: Counter = Counter()
    seconds: Counter = Counter()
    for channel, english, secs in evidence:
        if english is not None and secs > 0:
            weighted[channel] += english * secs
            seconds[channel] += secs
    return max((weighted[ch] / seconds[ch] for ch in seconds), default=None)


# How far outside the speech voice detection heard a time may fall. Whisper puts a sentence's first word at
# the start of the padding it was given (0.8 s early with 0.8 s of padding), and reviewers play evidence from
# these times; but an onset quieter than detection hears (a soft "f", a telephone band) begins a little earlier.
_VOICED_SLACK_S = 0.25


class _Timeline:
    """Maps a time in the joined speech back to the time in the original file."""

    def __init__(self, spans: list[tuple[int, int]], offset: float,
                 voiced: list[tuple[int, int]] | None = None):
        self.joined_starts, self.original_starts, self.lengths, self.bounds = [], [], [], []
        at = 0
        for (start, end), (heard_start, heard_end) in zip(spans, voiced or spans):
            self.joined_starts.append(at / SAMPLE_RATE)
            self.original_starts.append(offset + start / SAMPLE_RATE)
            self.lengths.append((end - start) / SAMPLE_RATE)
            self.bounds.append((offset + max(heard_start / SAMPLE_RATE - _VOICED_SLACK_S, start / SAMPLE_RATE),
                                offset + min(heard_end / SAMPLE_RATE + _VOICED_SLACK_S, end / SAMPLE_RATE)))
            at += end - start

    def index(self, t: float, *, is_end: bool = False) -> int:
        """Which speech stretch a joined time falls in."""
        # An end time exactly on a joint belongs to the stretch before it, a start time to the one after.
        find = bisect.bisect_left if is_end else bisect.bisect_right
        return max(find(self.joined_starts, t) - 1, 0)

    def original(self, t: float, *, is_end: bool = False, stretch: int | None = None) -> float:
        """The file time of joined time `t`, kept inside `stretch` when given (a word never spans a joint),
        and no further than `_VOICED_SLACK_S` outside the speech heard in it."""
        i = self.index(t, is_end=is_end) if stretch is None else stretch
        within = min(max(t - self.joined_starts[i], 0.0), self.lengths[i])
        low, high = self.bounds[i]
        return round(min(max(self.original_starts[i] + within, low), high), 3)


def _place(seg: Segment, timeline: _Timeline, speaker: str, channel: int | None) -> list[Segment]:
    """Map a decoded segment back to file time, splitting it where it crosses from one speech stretch to the next.

    Whisper sees the speech stretches joined, so one of its segments can run across several turns of the
    other party; split by word timing, each piece covers only speech this channel really holds.
    """
    common = {"speaker": speaker, "channel": channel}
    if not seg.words:
        start, end = timeline.original(seg.start), timeline.original(seg.end, is_end=True)
        return [dataclasses.replace(seg, start=start, end=max(end, start), text=seg.text.strip(), **common)]
    stretches = _sentence_cuts(seg.words, [timeline.index((w.start + w.end) / 2) for w in seg.words])
    # Backends hand words over with Whisper's own leading spaces, so pieces re-join exactly ("next-position").
    groups: dict[int, list[Word]] = {}
    for w, stretch in zip(seg.words, stretches):
        groups.setdefault(stretch, []).append(w)
    pieces = []
    for stretch, group in sorted(groups.items()):
        words = tuple(Word(start=timeline.original(w.start, stretch=stretch),
                           end=timeline.original(w.end, stretch=stretch), text=w.text.strip(),
                           probability=w.probability) for w in group)
        # Word times bound the speech more tightly than segment edges, which spill into padding and joints.
        text = seg.text.strip() if len(groups) == 1 else "".join(w.text for w in group).strip()
        pieces.append(dataclasses.replace(seg, start=words[0].start, end=max(words[-1].end, words[0].start),
                                          text=text, words=words, **common))
    return pieces


# How far (in words) a cut between speech stretches may move to fall between two sentences.
_MAX_CUT_SHIFT_WORDS = 2


def _sentence_cuts(words: tuple[Word, ...], stretches: list[int]) -> list[int]:
    """The speech stretch of each word, with each cut between stretches moved to a sentence boundary nearby.

    Whisper's word times are least sure next to silence, and a joint of two stretches is silence on both
    sides (the padding): a word spoken just after the joint is often timed just before it. Cut there, "No
    criminal warrant, no." becomes "No" at the end of the previous turn and "criminal warrant, no." after the
    other party spoke, and the negation is lost. A speaker's turn nearly always ends a sentence, so a cut
    that falls inside one moves to the nearest sentence boundary at most `_MAX_CUT_SHIFT_WORDS` words away
    (on a tie the words go to the later stretch, since the times err early); times are then kept inside
    the stretch each word is placed in.
    """
    out = list(stretches)
    n = len(words)
    bounds = [0] + [i for i in range(1, n) if out[i] != out[i - 1]] + [n]
    for k in range(1, len(bounds) - 1):
        cut = bounds[k]
        if ends_sentence(words[cut - 1].text):
            continue
        lo, hi = bounds[k - 1], bounds[k + 1]
        options = [j for j in range(max(lo, cut - _MAX_CUT_SHIFT_WORDS), min(hi, cut + _MAX_CUT_SHIFT_WORDS) + 1)
                   if j in (0, n) or ends_sentence(words[j - 1].text)]
        if not options:
            continue
        best = min(options, key=lambda j: (abs(j - cut), j))
        before, after = out[cut - 1], out[cut]
        for i in range(min(best, cut), max(best, cut)):
            out[i] = after if best < cut else before
        bounds[k] = best
    return out


# Audio taken on each side of a missed stretch when it is decoded again, so its edge words are whole.
_REDECODE_MARGIN_S = 0.3


def missed_stretches(segments: list[Segment], total: float, min_s: float) -> list[tuple[float, float]]:
    """Stretches of [0, total) seconds at least `min_s` long that no word (or, without word times, no segment) covers."""
    covered = sorted((w.start, w.end) for seg in segments for w in seg.words) if any(s.words for s in segments) \
        else sorted((seg.start, seg.end) for seg in segments)
    missed, at = [], 0.0
    for start, end in covered + [(total, total)]:
        if start - at >= min_s:
            missed.append((at, min(start, total)))
        at = max(at, end)
    return missed


def _shift(seg: Segment, by: float) -> Segment:
    words = tuple(dataclasses.replace(w, start=w.start + by, end=w.end + by) for w in seg.words)
    return dataclasses.replace(seg, start=seg.start + by, end=seg.end + by, words=words)


_cache: dict[tuple, Backend] = {}
_cache_lock = threading.Lock()


def get_engine(settings: WhisperSettings | None = None) -> Engine:
    """The engine for these settings, loading its model only the first time in this process.

    The model is keyed by (engine, model, device, compute_type, threads); decoding settings (language,
    beam size, prompt, VAD) may differ between engines that share one loaded model.

    Raises:
        ModelError: the model is missing, corrupt, cannot be downloaded, or fails its checksum.
    """
    from callreview.transcribe.models import resolve_model

    settings = settings or WhisperSettings()
    key = (settings.engine, settings.model, settings.device, settings.compute_type, settings.cpu_threads,
           str(settings.cache_dir))
    with _cache_lock:
        backend = _cache.get(key)
        if backend is None:
            ref = resolve_model(settings)
            if settings.engine == "faster-whisper":
                from callreview.transcribe.faster_engine import load_faster_whisper as load
            else:
                from callreview.transcribe.openai_engine import load_openai_whisper as load
            backend = load(ref, settings)
            MODEL_LOADS[key] += 1
            _cache[key] = backend
    return Engine(settings, backend)


def clear_engine_cache() -> None:
    """Forget loaded models (tests; or to free memory between batches)."""
    with _cache_lock:
        _cache.clear()
