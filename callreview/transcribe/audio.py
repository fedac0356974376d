"""Decode a recording into 16 kHz mono float32 samples, one array per channel.

This is the only module that touches ffmpeg (through pydub's probe and converter). Everything after it
receives samples. Stereo telephone recordings keep one party per channel, so channels are never mixed
down here: the engine decodes each channel on its own and labels its speaker.

Bad input is refused with an `AudioError` whose message names the file and a short reason, never
ffmpeg's raw stderr dump.
"""
from __future__ import annotations

import logging
import struct
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from callreview.transcribe.errors import AudioError, NoAudioStream, RecordingTooLong, UnsupportedFormat

logger = logging.getLogger(__name__)

SUPPORTED_EXTENSIONS = (".wav", ".mp3", ".m4a", ".ogg", ".flac")
SAMPLE_RATE = 16000

# A decode that comes up this much shorter than the container says means the file was cut off
# (ffmpeg happily decodes the part that is there and exits 0).
_TRUNCATION_TOLERANCE_S = 0.25
_TRUNCATION_TOLERANCE_RATIO = 0.02


@dataclass(frozen=True)
class AudioInfo:
    """What the container says about a recording, before decoding it."""

    path: str
    format: str  # the file's kind as callreview names it: its extension, "wav", "m4a", ...
    container: str  # what ffprobe found inside, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
    codec: str
    original_sample_rate: int
    original_channels: int
    duration: float


@dataclass(frozen=True, eq=False)
class Audio:
    """A decoded recording: one 16 kHz mono float32 array in [-1, 1] per original channel."""

    channels: tuple[np.ndarray, ...]
    original_sample_rate: int
    original_channels: int
    duration: float
    format: str
    sample_rate: int = SAMPLE_RATE

    @property
    def num_samples(self) -> int:
        """Length of each channel in samples at `sample_rate`."""
        return len(self.channels[0]) if self.channels else 0


def probe_audio(path: str | Path) -> AudioInfo:
    """Read a recording's container facts with ffprobe, refusing anything that is not usable audio.

    Args:
        path: the recording.

    Returns:
        The format, codec, original sample rate and channel count, and duration in seconds.

    Raises:
        UnsupportedFormat: the extension is not one of `SUPPORTED_EXTENSIONS`.
        NoAudioStream: the container holds no audio stream.
        AudioError: the file is missing, empty, or not a recognisable media file.
    """
    path = Path(path)
    if path.suffix.lower() not in SUPPORTED_EXTENSIONS:
        raise UnsupportedFormat(
            path, f"unsupported format {path.suffix or '(no extension)'!r}; "
            f"expected one of {', '.join(SUPPORTED_EXTENSIONS)}")
    if not path.is_file():
        raise AudioError(path, "file not found")
    if path.stat().st_size == 0:
        raise AudioError(path, "empty file (0 bytes)")

    info = _ffprobe(path)
    fmt = (info.get("format") or {}).get("format_name")
    streams = info.get("streams") or []
    if not fmt and not streams:
        raise AudioError(path, f"not a recognisable audio file (ffmpeg cannot read it as {path.suffix.lower()[1:]})")
    audio_streams = [s for s in streams if s.get("codec_type") == "audio"]
    if not audio_streams:
        kinds = sorted({s.get("codec_type", "unknown") for s in streams})
        held = f" (it holds only {', '.join(kinds)})" if kinds else ""
        raise NoAudioStream(path, f"no audio stream{held}")
    stream = audio_streams[0]
    try:
        rate = int(stream["sample_rate"])
        channels = int(stream["channels"])
    except (KeyError, TypeError, ValueError):
        raise AudioError(path, "audio stream has no sample rate or channel count") from None
    if rate <= 0 or channels <= 0:
        raise AudioError(path, f"audio stream reports {rate} Hz, {channels} channel(s)")
    duration = _float_or_none(stream.get("duration")) or _float_or_none(info["format"].get("duration")) or 0.0
    return AudioInfo(path=str(path), format=path.suffix.lower()[1:], container=fmt or "", codec=stream.get("codec_name", ""),
                     original_sample_rate=rate, original_channels=channels, duration=duration)


def load_audio(path: str | Path) -> Audio:
    """Decode a whole recording to 16 kHz float32, one array per channel.

    Args:
        path: a .wav/.mp3/.m4a/.ogg/.flac file, any sample rate and channel count (8 kHz μ-law and
            A-law WAV included).

    Returns:
        The decoded `Audio`; `duration` is what was actually decoded, in seconds.

    Raises:
        AudioError: (or a subclass) the file is empty, unsupported, corrupt, truncated or has no audio.
    """
    info = probe_audio(path)
    path = Path(path)
    _check_wav_complete(path, info)
    raw = _run_ffmpeg(path, info)
    samples = np.frombuffer(raw, dtype=np.float32)
    usable = len(samples) - len(samples) % info.original_channels
    frames = samples[:usable].reshape(-1, info.original_channels)
    if len(frames) == 0:
        raise AudioError(path, "decoded to no samples (corrupt or empty audio stream)")
    duration = len(frames) / SAMPLE_RATE
    _check_not_truncated(path, info, duration)
    channels = tuple(np.clip(np.ascontiguousarray(frames[:, c]), -1.0, 1.0) for c in range(info.original_channels))
    return Audio(channels=channels, original_sample_rate=info.original_sample_rate,
                 original_channels=info.original_channels, duration=duration, format=info.format)


class Window(NamedTuple):
    """One window of a recording decoded by `stream_audio`."""

    offset: float  # seconds from the start of the file
    channels: tuple[np.ndarray, ...]  # one float32 array per channel decoded
    last: bool  # no audio follows


def stream_audio(path: str | Path, window_s: float = 600.0, *, channel: int | None = None,
                 max_duration_s: float | None = None) -> Iterator[Window]:
    """Decode a recording window by window so that a long call never sits in memory whole.

    Each window is read from ffmpeg straight into a new array, one window at a time, so memory is bounded by
    the window, not by the recording. With `channel`, ffmpeg passes only that channel on (a lossless channel
    map), which halves what a stereo window holds. Whether a window is the last is known when it is
    yielded (one frame of the next is read ahead), so a caller need not hold two windows to find out.

    Args:
        path: the recording.
        window_s: window length in seconds.
        channel: decode only this channel (0-based); None decodes all of them.
        max_duration_s: refuse a recording longer than this, from its header before anything is decoded,
            and while decoding when the header says less than the audio holds.

    Yields:
        `Window`s, in order.

    Raises:
        RecordingTooLong: over `max_duration_s`.
        AudioError: as `load_audio`.
    """
    info = probe_audio(path)
    path = Path(path)
    if max_duration_s is not None and info.duration > max_duration_s:
        raise RecordingTooLong(path, info.duration, max_duration_s)
    if channel is not None and not 0 <= channel < info.original_channels:
        raise ValueError(f"{path}: no channel {channel} (the recording has {info.original_channels})")
    _check_wav_complete(path, info)
    nch = info.original_channels if channel is None else 1
    frame_bytes = 4 * nch
    per_window = max(int(window_s * SAMPLE_RATE), 1)  # frames
    # stderr goes to a file: a long, damaged recording can make ffmpeg print more than a pipe holds, and
    # ffmpeg would then block on stderr while this side waits on stdout.
    with tempfile.TemporaryFile() as errors:
        try:
            proc = subprocess.Popen(_ffmpeg_command(path, info, channel), stdout=subprocess.PIPE, stderr=errors)
        except FileNotFoundError:
            raise AudioError(path, "ffmpeg not found; install ffmpeg") from None
        done, finished, ahead = 0, False, b""
        try:
            while True:
                block = np.empty((per_window + 1) * nch, dtype=np.float32)
                view = memoryview(block).cast("B")
                view[:len(ahead)] = ahead
                frames = (len(ahead) + _read_into(proc.stdout, view[len(ahead):])) // frame_bytes
                last = frames <= per_window
                frames = min(frames, per_window)
                if frames == 0:
                    break
                if max_duration_s is not None and \
                        (done + frames) / SAMPLE_RATE > max_duration_s + _TRUNCATION_TOLERANCE_S:
                    raise RecordingTooLong(path, info.duration, max_duration_s, declared=False)
                ahead = b"" if last else bytes(view[per_window * frame_bytes:])
                samples = np.clip(block[:frames * nch], -1.0, 1.0, out=block[:frames * nch])
                channels = (samples,) if nch == 1 else tuple(samples.reshape(-1, nch)[:, c].copy()
                                                             for c in range(nch))
                yield Window(done / SAMPLE_RATE, channels, last)
                del block, view, samples, channels  # before the next window is allocated, or two would be held
                done += frames
                if last:
                    break
            finished = True
        finally:
            proc.stdout.close()
            if not finished:  # refused, or the caller stopped early: ffmpeg has nothing left to do
                proc.kill()
            returncode = proc.wait()
        stderr = _tail(errors)
    if returncode != 0 or done == 0:
        raise AudioError(path, _short_reason(stderr))
    _check_not_truncated(path, info, done / SAMPLE_RATE)


def _read_into(stream, view: memoryview) -> int:
    """Fill `view` from `stream`; fewer bytes only at the end of the stream."""
    got = 0
    while got < len(view):
        n = stream.readinto(view[got:])
        if not n:
            break
        got += n
    return got


def _tail(file, limit: int = 1 << 16) -> str:
    """The last `limit` bytes of a file, as text (ffmpeg's cause is on its last line)."""
    size = file.seek(0, 2)
    file.seek(max(size - limit, 0))
    return file.read().decode(errors="replace")


def _ffprobe(path: Path) -> dict:
    # pydub's probe wraps ffprobe and returns its JSON; an unreadable file gives an empty dict.
    from pydub.utils import mediainfo_json

    try:
        return mediainfo_json(str(path)) or {}
    except (ValueError, OSError) as e:  # ffprobe missing, or produced no JSON
        if isinstance(e, FileNotFoundError):
            raise AudioError(path, "ffprobe not found; install ffmpeg") from None
        return {}


def _ffmpeg_command(path: Path, info: AudioInfo, channel: int | None = None) -> list[str]:
    from pydub import AudioSegment

    # Resampling happens in ffmpeg (swresample, band-limited), not in Python: 8 kHz telephone audio is
    # upsampled and 44.1/48 kHz audio is filtered before decimation, as Whisper expects. swresample filters
    # each channel on its own, so one channel picked out by `pan` (a pure channel map, no mixing) gives the
    # same samples as that channel of a decode of all of them.
    channels = ["-ac", str(info.original_channels)] if channel is None else ["-af", f"pan=mono|c0=c{channel}"]
    return [AudioSegment.converter, "-nostdin", "-v", "error", "-i", str(path), "-vn",
            "-map", "0:a:0", "-f", "f32le", "-acodec", "pcm_f32le", *channels, "-ar", str(SAMPLE_RATE), "-"]


def _run_ffmpeg(path: Path, info: AudioInfo) -> bytes:
    try:
        proc = subprocess.run(_ffmpeg_command(path, info), capture_output=True, check=False)
    except FileNotFoundError:
        raise AudioError(path, "ffmpeg not found; install ffmpeg") from None
    if proc.returncode != 0 or not proc.stdout:
        raise AudioError(path, _short_reason(proc.stderr.decode(errors="replace")))
    if proc.stderr.strip():
        logger.warning("%s: ffmpeg reported decode problems: %s", path, _short_reason(proc.stderr.decode(errors="replace")))
    return proc.stdout


def _short_reason(stderr: str) -> str:
    """Turn ffmpeg's stderr into one short cause, without the noise (addresses, stream numbers)."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    if not lines:
        return "could not decode audio (ffmpeg gave no reason)"
    last = lines[-1]
    # "[mp3 @ 0x55..] Failed to read frame size" -> "Failed to read frame size"
    if last.startswith("[") and "]" in last:
        last = last.split("]", 1)[1].strip()
    # "/path/x.mp3: Invalid argument" -> "Invalid argument"
    if ": " in last:
        last = last.rsplit(": ", 1)[1]
    return f"could not decode audio (corrupt or truncated: {last.rstrip('.').lower()})"


def _check_not_truncated(path: Path, info: AudioInfo, decoded: float) -> None:
    if info.duration <= 0:
        return
    missing = info.duration - decoded
    if missing > _TRUNCATION_TOLERANCE_S + _TRUNCATION_TOLERANCE_RATIO * info.duration:
        raise AudioError(
            path, f"truncated: decoded {decoded:.1f} s of the {info.duration:.1f} s the file header declares")


def _check_wav_complete(path: Path, info: AudioInfo) -> None:
    """A WAV header declares its data size; ffprobe estimates duration from the file size, so compare."""
    if info.format != "wav":  # the RIFF magic is checked below too
        return
    declared = _wav_declared_data_bytes(path)
    if declared is None:
        return
    with path.open("rb") as f:
        f.seek(0, 2)
        size = f.tell()
    data_start = declared[1]
    present = size - data_start
    if present < declared[0]:
        raise AudioError(path, f"truncated: the WAV header declares {declared[0]} bytes of audio, "
                               f"the file holds {max(present, 0)}")


def _wav_declared_data_bytes(path: Path) -> tuple[int, int] | None:
    """(declared size, offset) of the `data` chunk, or None when unknown (streamed WAVs write 0 or 0xFFFFFFFF)."""
    with path.open("rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        while True:
            chunk = f.read(8)
            if len(chunk) < 8:
                return None
            cid, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if cid == b"data":
                if size in (0, 0xFFFFFFFF):
                    return None
                return size, f.tell()
            f.seek(size + (size & 1), 1)


def _float_or_none(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
