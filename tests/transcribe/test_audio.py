"""callreview.transcribe.audio: real files of every supported kind decode; every bad file gives its clear error."""
from __future__ import annotations

import subprocess

import numpy as np
import pytest

from callaudio import needs_tools, silence, tone, write_wav
from callreview.transcribe.audio import SUPPORTED_EXTENSIONS, load_audio, probe_audio, stream_audio
from callreview.transcribe.errors import AudioError, NoAudioStream, RecordingTooLong, UnsupportedFormat


def test_stereo_8khz_wav_keeps_channels_apart(stereo_tone_wav):
    audio = load_audio(stereo_tone_wav)
    assert audio.original_channels == 2 and audio.original_sample_rate == 8000
    assert audio.sample_rate == 16000 and audio.format == "wav"
    assert audio.duration == pytest.approx(1.0, abs=0.01)
    left, right = audio.channels
    assert left.dtype == np.float32 and len(left) == len(right) == pytest.approx(16000, abs=20)
    assert np.abs(left).max() == pytest.approx(0.5, abs=0.02)
    assert np.abs(right).max() < 1e-3


@pytest.mark.parametrize("codec", ["pcm_mulaw", "pcm_alaw"])
def test_8khz_companded_wav_decodes(tmp_path, codec):
    src = write_wav(tmp_path / "src.wav", [tone(2.0, 8000, level=0.3)], 8000)
    target = tmp_path / f"{codec}.wav"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(src), "-acodec", codec, str(target)], check=True)
    audio = load_audio(target)
    assert audio.original_sample_rate == 8000 and audio.original_channels == 1
    assert audio.duration == pytest.approx(2.0, abs=0.01)
    assert np.abs(audio.channels[0]).max() == pytest.approx(0.3, abs=0.03)


@pytest.mark.parametrize("ext", [e for e in SUPPORTED_EXTENSIONS if e != ".wav"])
def test_every_supported_format_decodes(tmp_path, ext):
    src = write_wav(tmp_path / "src.wav", [tone(2.0, 44100), silence(2.0, 44100)], 44100)
    target = tmp_path / f"call{ext}"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(src), str(target)], check=True)
    audio = load_audio(target)
    assert audio.original_channels == 2 and audio.format == ext[1:]
    assert audio.duration == pytest.approx(2.0, abs=0.1)
    assert all(np.abs(c).max() <= 1.0 for c in audio.channels)


def test_stream_audio_gives_windows_with_true_offsets(tmp_path):
    path = write_wav(tmp_path / "long.wav", [tone(25.0, 8000)], 8000)
    windows = list(stream_audio(path, window_s=10))
    assert [round(w.offset, 3) for w in windows] == [0.0, 10.0, 20.0]
    assert [w.last for w in windows] == [False, False, True]
    assert sum(len(w.channels[0]) for w in windows) == pytest.approx(25 * 16000, abs=20)


@needs_tools
@pytest.mark.parametrize("ext", [".wav", ".mp3"])
def test_stream_audio_of_one_channel_gives_the_samples_a_full_decode_gives(tmp_path, ext):
    # The engine decodes a stereo call one channel at a time; the transcript must not change because of it.
    left, right = tone(3.0, 8000, freq=300), tone(3.0, 8000, freq=1200, level=0.3)
    path = write_wav(tmp_path / "call.wav", [left, right], 8000)
    if ext != ".wav":
        subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), str(path.with_suffix(ext))], check=True)
        path = path.with_suffix(ext)
    whole = load_audio(path)
    for channel in (0, 1):
        windows = list(stream_audio(path, window_s=1.0, channel=channel))
        assert all(len(w.channels) == 1 for w in windows) and windows[-1].last
        assert np.array_equal(np.concatenate([w.channels[0] for w in windows]), whole.channels[channel])


def test_stream_audio_knows_the_last_window_when_the_audio_fills_whole_windows(tmp_path):
    path = write_wav(tmp_path / "even.wav", [tone(2.0, 8000)], 8000)
    windows = list(stream_audio(path, window_s=1.0))
    assert [(w.offset, len(w.channels[0]), w.last) for w in windows] == [(0.0, 16000, False), (1.0, 16000, True)]


@needs_tools
def test_a_recording_over_the_duration_limit_is_refused_from_its_header(tmp_path):
    # One second of FLAC whose header (STREAMINFO) declares two hours. Decoding it would call it truncated:
    # being refused for its length shows that the limit was applied before anything was decoded.
    path = tmp_path / "left-running.flac"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=8000:duration=1",
                    "-c:a", "flac", str(path)], check=True)
    data = bytearray(path.read_bytes())
    assert data[:4] == b"fLaC" and data[4] & 0x7F == 0  # STREAMINFO comes first, as the format requires
    fields = int.from_bytes(data[18:26], "big")  # rate (20 bits), channels, bits per sample, samples (36 bits)
    data[18:26] = ((fields >> 36 << 36) | 2 * 3600 * 8000).to_bytes(8, "big")
    path.write_bytes(bytes(data))
    assert probe_audio(path).duration == pytest.approx(7200)
    with pytest.raises(RecordingTooLong) as refused:
        next(stream_audio(path, max_duration_s=3600))
    assert str(refused.value) == f"{path}: recording lasts 2:00:00 (7,200 s), over the limit of 1:00:00 (3,600 s)"
    assert (refused.value.duration, refused.value.limit) == (pytest.approx(7200), 3600)
    with pytest.raises(AudioError, match="truncated: decoded 1.0 s of the 7200.0 s"):
        list(stream_audio(path, max_duration_s=7200))


@needs_tools
def test_a_recording_whose_header_gives_no_duration_is_refused_once_it_decodes_past_the_limit(tmp_path):
    # FLAC written to a pipe cannot go back to fill in its sample count: its header declares no duration.
    path = tmp_path / "streamed.flac"
    with path.open("wb") as out:
        subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=8000:duration=20",
                        "-c:a", "flac", "-f", "flac", "-"], stdout=out, check=True)
    assert probe_audio(path).duration == 0.0
    decoded = []
    with pytest.raises(RecordingTooLong, match=r"streamed\.flac: recording decodes to more than the limit of "
                                               r"0:00:05 \(5 s\); its header declares no duration"):
        for window in stream_audio(path, window_s=2.0, max_duration_s=5):
            decoded.append(window.offset)
    assert decoded == [0.0, 2.0]  # stopped at the window that crossed the limit, not at the end of the file
    assert len(list(stream_audio(path, window_s=2.0, max_duration_s=30))) == 10


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(AudioError, match=r"empty\.wav: empty file \(0 bytes\)"):
        load_audio(path)


def test_text_renamed_mp3(tmp_path):
    path = tmp_path / "notes.mp3"
    path.write_text("this is a text file, not a recording\n" * 20)
    with pytest.raises(AudioError, match=r"notes\.mp3: not a recognisable audio file"):
        load_audio(path)


def test_truncated_wav(tmp_path):
    full = write_wav(tmp_path / "full.wav", [tone(3.0, 8000)], 8000)
    cut = tmp_path / "cut.wav"
    cut.write_bytes(full.read_bytes()[:20000])
    with pytest.raises(AudioError, match=r"cut\.wav: truncated"):
        load_audio(cut)


@needs_tools
@pytest.mark.parametrize("ext", [".mp3", ".flac"])
def test_truncated_compressed(tmp_path, ext):
    src = write_wav(tmp_path / "src.wav", [tone(20.0, 16000)], 16000)
    full = tmp_path / f"full{ext}"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(src), str(full)], check=True)
    cut = tmp_path / f"cut{ext}"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with pytest.raises(AudioError, match=rf"cut\{ext}: truncated"):
        load_audio(cut)


def test_no_audio_stream(tmp_path):
    path = tmp_path / "video.m4a"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=duration=1:size=32x32",
                    "-c:v", "mpeg4", "-f", "mp4", str(path)], check=True)
    with pytest.raises(NoAudioStream, match=r"video\.m4a: no audio stream \(it holds only video\)"):
        load_audio(path)


def test_unsupported_extension(tmp_path):
    path = tmp_path / "call.aiff"
    path.write_bytes(b"FORM")
    with pytest.raises(UnsupportedFormat, match=r"call\.aiff: unsupported format '\.aiff'"):
        probe_audio(path)


def test_missing_file(tmp_path):
    with pytest.raises(AudioError, match="file not found"):
        load_audio(tmp_path / "gone.wav")


def test_error_message_is_short_not_ffmpeg_dump(tmp_path):
    path = tmp_path / "garbage.flac"
    path.write_bytes(b"fLaC" + bytes(range(256)) * 8)
    with pytest.raises(AudioError) as info:
        load_audio(path)
    assert str(info.value).startswith(str(path) + ": ")
    assert "\n" not in str(info.value) and "0x" not in str(info.value)
