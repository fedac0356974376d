"""What a telephone line does to a clean rendered call, for bench/asr.py's listening conditions.

Input and output are stereo 8 kHz 16-bit WAVs as ../shared/tools/make_inbox.py writes them (officer left,
everyone else right, digital silence between lines). Each channel is treated on its own, as each party's
leg of a call is:
- `phone_line`: a 300-3400 Hz telephone band, then line noise (white noise through the same band: what
  crosses the line is band-limited) at a given SNR. The SNR is measured per channel over the speech, i.e.
  the 20 ms frames where the rendered channel is not silent, so a call with long pauses gets no easier;
  the noise runs through the pauses too, as it does on a line.
- `codec_line`: GSM 06.10 full rate (the mobile leg; sox's gsm format) on each channel, then a few short
  packet-loss gaps (whole 20 ms frames of silence) inside the speech.
Every random choice comes from a seed made of the condition and the call id, so a rendering is repeatable.
"""
from __future__ import annotations

import hashlib
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np

RATE = 8000
BAND_HZ = (300.0, 3400.0)
FRAME_S = 0.02  # one telephone packet, and the frame over which speech is told from silence
# A rendered channel's frame is speech when its RMS is above this (about 10 LSB of 16-bit audio): the
# renderer pads with digital zeros, so anything louder is a line being spoken (its short pauses included).
SPEECH_RMS = 10 / 32768
TAPS = 401  # band filter length: ~100 Hz transition at 8 kHz, stop band ~80 dB down (Kaiser beta 8)


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """(channels x samples float64 in [-1, 1], rate) of a 16-bit PCM WAV."""
    with wave.open(str(path)) as w:
        if w.getsampwidth() != 2:
            raise ValueError(f"{path}: {8 * w.getsampwidth()}-bit samples; 16-bit PCM expected")
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768
        return data.reshape(-1, w.getnchannels()).T.copy(), w.getframerate()


def write_wav(path: Path, channels: np.ndarray, rate: int) -> int:
    """Write channels (channels x samples, [-1, 1]) as 16-bit PCM; returns how many samples were clipped."""
    scaled = np.round(channels.T * 32768)
    clipped = int(np.count_nonzero((scaled > 32767) | (scaled < -32768)))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels.shape[0])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.clip(scaled, -32768, 32767).astype("<i2").tobytes())
    return clipped


def seed_for(condition: str, call_id: str) -> int:
    """A stable seed (Python's hash() changes between runs)."""
    return int.from_bytes(hashlib.sha256(f"{condition}:{call_id}".encode()).digest()[:8], "little")


def band_filter(rate: int = RATE, band: tuple[float, float] = BAND_HZ, taps: int = TAPS) -> np.ndarray:
    """A linear-phase FIR band-pass (windowed sinc): the difference of two low-passes."""
    n = np.arange(taps) - (taps - 1) / 2
    low, high = band[0] / rate, band[1] / rate
    h = 2 * high * np.sinc(2 * high * n) - 2 * low * np.sinc(2 * low * n)
    return h * np.kaiser(taps, 8.0)


def band_limit(x: np.ndarray, rate: int = RATE) -> np.ndarray:
    """One channel through the telephone band, without delay (the filter is symmetric, so 'same' centres it)."""
    return np.convolve(x, band_filter(rate), mode="same")


def speech_frames(x: np.ndarray, rate: int = RATE) -> np.ndarray:
    """A per-sample mask: True inside the 20 ms frames where the rendered channel is not silent."""
    frame = int(FRAME_S * rate)
    n = len(x) // frame * frame
    rms = np.sqrt(np.mean(x[:n].reshape(-1, frame) ** 2, axis=1)) if n else np.zeros(0)
    mask = np.repeat(rms > SPEECH_RMS, frame)
    return np.concatenate([mask, np.zeros(len(x) - n, dtype=bool)])


def phone_line(x: np.ndarray, snr_db: float, rng: np.random.Generator, rate: int = RATE) -> np.ndarray:
    """One clean channel as heard over a telephone line with noise `snr_db` below the speech.

    Speech power is the band-limited channel's mean power over its speech frames; the noise is scaled so
    that its mean power over the same frames is exactly `snr_db` lower. A channel with no speech gets
    noise at the level it would have beside speech at -20 dBFS.
    """
    speech = band_limit(x, rate)
    noise = band_limit(rng.standard_normal(len(x)), rate)
    mask = speech_frames(x, rate)
    p_speech = np.mean(speech[mask] ** 2) if mask.any() else 10 ** (-20 / 10)
    p_noise = np.mean(noise[mask] ** 2) if mask.any() else np.mean(noise ** 2)
    return speech + noise * np.sqrt(p_speech / p_noise / 10 ** (snr_db / 10))


def measured_snr(clean: np.ndarray, line: np.ndarray, rate: int = RATE) -> float | None:
    """SNR in dB of `line` against the clean channel it was made from, over the clean channel's speech;
    None for a channel with no speech (one party silent the whole call), where there is nothing to measure."""
    mask = speech_frames(clean, rate)
    if not mask.any():
        return None
    speech = band_limit(clean, rate)
    return float(10 * np.log10(np.mean(speech[mask] ** 2) / np.mean((line - speech)[mask] ** 2)))


def gsm(x: np.ndarray, rate: int = RATE) -> np.ndarray:
    """One channel encoded and decoded with GSM 06.10 full rate by sox (mono, 8 kHz, as the codec is)."""
    with tempfile.TemporaryDirectory() as td:
        src, coded, back = Path(td) / "in.wav", Path(td) / "in.gsm", Path(td) / "out.wav"
        write_wav(src, x[None, :], rate)
        subprocess.run(["sox", "-V1", str(src), "-t", "gsm", str(coded)], check=True, capture_output=True)
        subprocess.run(["sox", "-V1", "-t", "gsm", "-r", str(rate), "-c", "1", str(coded), "-b", "16", str(back)],
                       check=True, capture_output=True)
        y, _ = read_wav(back)
    y = y[0]
    return np.pad(y, (0, max(0, len(x) - len(y))))[: len(x)]


def packet_loss(x: np.ndarray, speech: np.ndarray, rng: np.random.Generator, rate: int = RATE,
                every_s: float = 15.0, packets: tuple[int, int] = (1, 3)) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Silence a few runs of whole 20 ms packets, starting inside the speech: about one run per `every_s` of
    the channel, each `packets` packets long. Returns the channel and the gaps (start, end) in seconds."""
    frame = int(FRAME_S * rate)
    starts = np.flatnonzero(speech[::frame]) * frame
    count = int(round(len(x) / rate / every_s)) if len(starts) else 0
    y, gaps = x.copy(), []
    for at in sorted(rng.choice(starts, size=min(count, len(starts)), replace=False)) if count else []:
        length = int(rng.integers(packets[0], packets[1] + 1)) * frame
        y[at:at + length] = 0.0
        gaps.append((at / rate, min(at + length, len(x)) / rate))
    return y, gaps


def codec_line(x: np.ndarray, phone: np.ndarray, rng: np.random.Generator,
               rate: int = RATE) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """A phone-line channel (`phone`, made from clean `x`) through GSM with packet loss inside x's speech."""
    return packet_loss(gsm(phone, rate), speech_frames(x, rate), rng, rate)


def degrade_call(clean_wav: Path, out_wav: Path, call_id: str, snr_db: float, codec: bool = False) -> dict:
    """Write `out_wav`: `clean_wav` over a telephone line at `snr_db` (and through GSM with packet loss when
    `codec`), each channel with its own noise. Returns what was done, per channel: the measured SNR of
    the line (before the codec), the packet-loss gaps and the clipped samples.

    The line's noise is seeded by the SNR and the call, the loss by the call alone, so the codec condition
    carries exactly the noise of the phone condition at the same SNR and differs from it only by the codec.
    """
    clean, rate = read_wav(clean_wav)
    if rate != RATE:
        raise ValueError(f"{clean_wav}: {rate} Hz; the telephone line is made at {RATE} Hz")
    line_rng = np.random.default_rng(seed_for(f"phone{snr_db:g}", call_id))
    loss_rng = np.random.default_rng(seed_for("codec", call_id))
    out, report = np.zeros_like(clean), []
    for ch, x in enumerate(clean):
        line = phone_line(x, snr_db, line_rng, rate)
        snr = measured_snr(x, line, rate)
        entry = {"channel": ch, "snr_db": None if snr is None else round(snr, 2)}
        if codec:
            line, gaps = codec_line(x, line, loss_rng, rate)
            entry["loss_gaps_s"] = [(round(float(a), 2), round(float(b), 2)) for a, b in gaps]
        out[ch] = line
        report.append(entry)
    clipped = write_wav(out_wav, out, rate)
    return {"call_id": call_id, "snr_db": snr_db, "codec": "gsm" if codec else None, "channels": report,
            "clipped_samples": clipped}
