"""bench/telephone.py and bench/voices.py: a short case spoken by Piper and sent over a 20 dB telephone line
sounds like one (properties measured on the real rendering, not exact samples), and the voice is pinned."""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from bench.telephone import degrade_call, read_wav
from bench.voices import VOICE_SHA256, VoiceError, piper_missing, verified_voice

SHARED = Path(__file__).resolve().parents[3] / "shared"
MAKE_INBOX = SHARED / "tools" / "make_inbox.py"

needs_piper = pytest.mark.skipif(piper_missing() is not None, reason=f"Piper cannot speak here: {piper_missing()}")

CASE = {"call_id": "TL-001", "transcript": {"language": "en", "segments": [
    {"start": 0.0, "end": 3.0, "speaker": "officer", "text": "Lieutenant Reyes, what kind of warrant do you have?"},
    {"start": 3.5, "end": 7.0, "speaker": "ice", "text": "It is an administrative warrant, an I two hundred."},
    {"start": 7.5, "end": 9.0, "speaker": "officer", "text": "Then we will not send anyone."},
]}}


@pytest.fixture(scope="module")
def piper_call(tmp_path_factory) -> Path:
    """CASE rendered clean by make_inbox.py with the pinned Piper voice (stereo 8 kHz)."""
    if not MAKE_INBOX.is_file():
        pytest.skip(f"{MAKE_INBOX} not found (../shared beside the checkout)")
    if not shutil.which("sox"):
        pytest.skip("needs sox")
    verified_voice()
    folder = tmp_path_factory.mktemp("piper")
    (folder / "cases").mkdir()
    (folder / "cases" / "TL-001.json").write_text(json.dumps(CASE))
    subprocess.run([sys.executable, str(MAKE_INBOX), str(folder / "cases"), str(folder), "--voice", "piper"],
                   check=True, capture_output=True)
    return folder / "TL-001.wav"


@needs_piper
@pytest.mark.slow
def test_phone20_is_a_band_limited_8khz_stereo_call_at_20db(piper_call, tmp_path):
    out = tmp_path / "phone20.wav"
    report = degrade_call(piper_call, out, "TL-001", 20.0)
    with wave.open(str(out)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 2, 2)
    clean, _ = read_wav(piper_call)
    line, rate = read_wav(out)
    assert line.shape == clean.shape and report["clipped_samples"] == 0
    frame = int(0.02 * rate)
    for ch in (0, 1):
        # the band: the clean rendering has some energy above 3.6 kHz (about 1e-3 of it; Piper's 22 kHz voice
        # resampled to 8 kHz) and below 200 Hz (the voice's fundamental); the line keeps almost none of either
        assert _share_above(line[ch], rate, 3600) < min(1e-5, _share_above(clean[ch], rate, 3600) / 50)
        assert 1 - _share_above(line[ch], rate, 200) < 1e-4
        # SNR, measured from the line alone: noise power where the clean channel is silent (well away from
        # speech, past the filter's ringing), speech power where it speaks, less that noise
        speaking = np.abs(_frames(clean[ch], frame)).max(axis=1) > 10 / 32768
        near = np.convolve(speaking, np.ones(11), mode="same") > 0  # within 0.1 s of speech
        power = (_frames(line[ch], frame) ** 2).mean(axis=1)
        noise = power[~near].mean()
        snr = 10 * np.log10((power[speaking].mean() - noise) / noise)
        assert snr == pytest.approx(20.0, abs=1.0), f"channel {ch}: {snr:.2f} dB"
        assert report["channels"][ch]["snr_db"] == pytest.approx(20.0, abs=0.01)
    # each channel has its own noise, and the same call over the same line sounds the same every time
    silent = ~_frames(clean[0], frame).any(axis=1) & ~_frames(clean[1], frame).any(axis=1)
    assert not np.allclose(_frames(line[0], frame)[silent], _frames(line[1], frame)[silent])
    again = tmp_path / "again.wav"
    degrade_call(piper_call, again, "TL-001", 20.0)
    assert again.read_bytes() == out.read_bytes()


@needs_piper
@pytest.mark.slow
def test_codec_keeps_the_phone20_noise_and_adds_gsm_and_loss(piper_call, tmp_path):
    phone, codec = tmp_path / "phone20.wav", tmp_path / "codec.wav"
    degrade_call(piper_call, phone, "TL-001", 20.0)
    report = degrade_call(piper_call, codec, "TL-001", 20.0, codec=True)
    a, rate = read_wav(phone)
    b, _ = read_wav(codec)
    assert b.shape == a.shape and not np.array_equal(a, b)
    for ch in (0, 1):
        # GSM keeps the speech (correlated with the line it coded) but is not transparent
        assert 0.5 < np.corrcoef(a[ch], b[ch])[0, 1] < 0.999
        for start, end in report["channels"][ch]["loss_gaps_s"]:
            assert 0.02 <= end - start <= 0.06 + 1e-9
            assert not b[ch, int(start * rate):int(end * rate)].any()


def test_a_voice_that_is_not_the_pinned_one_is_refused_with_both_hashes(tmp_path):
    fake = tmp_path / "en_US-joe-medium.onnx"
    fake.write_bytes(b"not the voice")
    with pytest.raises(VoiceError) as err:
        verified_voice(fake)
    message = str(err.value)
    assert str(fake) in message and VOICE_SHA256 in message
    assert hashlib.sha256(b"not the voice").hexdigest() in message
    with pytest.raises(VoiceError, match="no such file"):
        verified_voice(tmp_path / "missing.onnx")


@needs_piper
def test_the_installed_voice_is_the_pinned_one():
    assert verified_voice().name == "en_US-joe-medium.onnx"


def _frames(x: np.ndarray, frame: int) -> np.ndarray:
    n = len(x) // frame * frame
    return x[:n].reshape(-1, frame)


def _share_above(x: np.ndarray, rate: int, hz: float) -> float:
    power = np.abs(np.fft.rfft(x)) ** 2
    return float(power[np.fft.rfftfreq(len(x), 1 / rate) > hz].sum() / power.sum())


def test_a_silent_channel_gets_line_noise_and_no_snr_figure(tmp_path):
    # One party silent for the whole call: the line still hisses on that side, and there is no speech to
    # measure an SNR against (not a NaN with a warning).
    from bench.telephone import RATE, write_wav

    t = np.arange(RATE * 3) / RATE
    talk = (0.3 * np.sin(2 * np.pi * 440 * t) * (np.sin(2 * np.pi * 3 * t) > 0)).astype(np.float32)
    clean = tmp_path / "clean.wav"
    write_wav(clean, np.stack([talk, np.zeros_like(talk)]), RATE)
    report = degrade_call(clean, tmp_path / "line.wav", "SILENT-1", 20.0)
    assert report["channels"][1]["snr_db"] is None and report["channels"][0]["snr_db"] == pytest.approx(20, abs=1)
    line, _ = read_wav(tmp_path / "line.wav")
    assert np.all(np.isfinite(line)) and float(np.abs(line[1]).max()) > 0
