"""Issue 17: memory stays bounded whatever a recording's length.

`callreview run` takes a ten-hour stereo 8 kHz call (silence, two spoken sentences, a hold tone): 9.2 GB of
samples once decoded, 8 MB of FLAC on disk. It runs in a subprocess, and its peak resident memory, as the
kernel counts it for the finished child, must stay under 1 GB. Before the fix, transcription decoded the
whole recording into memory (a three-hour call peaked at 5.5 GB).

The run uses the product's defaults (faster-whisper, the best offline model installed: base, beam 5), so the
figure is the one a site gets. The sentences are placed where the engine's windows meet, so the transcript
also shows that times are carried across window edges.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from live_prefect import cli_env

pytestmark = pytest.mark.slow

RATE = 8000
HOURS = 10
WINDOW_S = 600  # the engine's default window (WhisperSettings.window_s)
PEAK_LIMIT_KB = 1_000_000  # 1 GB

# The kernel's peak for the child, read by a parent that does nothing else (this test process has had
# other children, whose peaks RUSAGE_CHILDREN would also count).
_MEASURE = """
import json, resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(json.dumps({"rc": done.returncode, "stdout": done.stdout, "stderr": done.stderr[-3000:],
                  "peak_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def _speak(text: str, folder: Path, voice: str) -> np.ndarray:
    """espeak-ng speech at 8 kHz as 16-bit samples, resampled without dither so every run decodes the same samples."""
    raw, out = folder / f"{voice}.raw.wav", folder / f"{voice}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", "160", "-w", str(raw), text], check=True, capture_output=True)
    subprocess.run(["sox", "-D", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(out)], check=True,
                   capture_output=True)
    with wave.open(str(out)) as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")


def _write_long_flac(path: Path, events: list[tuple[float, int, np.ndarray]]) -> None:
    """HOURS of stereo silence with each (start s, channel, samples) laid in, encoded by ffmpeg as it streams."""
    total = HOURS * 3600 * RATE
    ffmpeg = subprocess.Popen(["ffmpeg", "-nostdin", "-v", "error", "-f", "s16le", "-ar", str(RATE), "-ac", "2",
                               "-i", "-", "-c:a", "flac", str(path)], stdin=subprocess.PIPE)
    step = 60 * RATE
    for at in range(0, total, step):
        block = np.zeros((min(step, total - at), 2), dtype="<i2")
        for start_s, channel, samples in events:
            first = int(start_s * RATE)
            lo, hi = max(first, at), min(first + len(samples), at + len(block))
            if lo < hi:
                block[lo - at:hi - at, channel] = samples[lo - first:hi - first]
        ffmpeg.stdin.write(block.tobytes())
    ffmpeg.stdin.close()
    assert ffmpeg.wait() == 0


@pytest.fixture(scope="module")
def ten_hour_inbox(tmp_path_factory) -> tuple[Path, dict]:
    for tool in ("espeak-ng", "sox", "ffmpeg"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (.ci/install installs it)")
    folder = tmp_path_factory.mktemp("ten-hours")
    officer = _speak("Officer Haskell, the warrant is for receiving stolen property.", folder, "en-us")
    agent = _speak("We need your officers to knock on the door for us.", folder, "en-us+m3")
    tone = (0.3 * 32767 * np.sin(2 * np.pi * 440 * np.arange(2 * RATE) / RATE)).astype("<i2")
    # The officer's sentence straddles the edge of the sixth window; the agent's starts 5 s into the 13th.
    officer_at = 6 * WINDOW_S - len(officer) / RATE / 2
    agent_at = 12 * WINDOW_S + 5.0
    inbox = folder / "inbox"
    inbox.mkdir()
    _write_long_flac(inbox / "CR-LONG-1.flac", [(officer_at, 0, officer), (agent_at, 1, agent),
                                                (5 * 3600.0, 0, tone)])
    (inbox / "CR-LONG-1.json").write_text(json.dumps({"call_id": "CR-LONG-1", "decision": "declined", "basis": []}))
    return inbox, {"officer": (officer_at, officer_at + len(officer) / RATE),
                   "ice": (agent_at, agent_at + len(agent) / RATE)}


def test_a_ten_hour_stereo_call_is_processed_in_under_1_gb(ten_hour_inbox, tmp_path):
    from callreview.transcribe.models import PACKS, auto_model, find_pack

    inbox, spoken = ten_hour_inbox
    if find_pack(next(p for p in PACKS if p.name == auto_model())) is None:
        pytest.skip("no offline Whisper pack installed (the dev extra installs base and tiny.en)")
    data = tmp_path / "data"
    env = cli_env(data)
    measured = subprocess.run([sys.executable, "-c", _MEASURE, "callreview", "run", str(inbox), "--json"], env=env,
                              capture_output=True, text=True, timeout=900, check=True)
    result = json.loads(measured.stdout)
    assert result["rc"] == 0, result["stderr"]
    summary = json.loads(result["stdout"])
    assert (summary["processed"], summary["quarantined"], summary["failed"]) == (1, 0, 0), summary["calls"]

    print(f"callreview run peaked at {result['peak_kb'] / 1024:,.0f} MiB")  # shown with pytest -s
    assert result["peak_kb"] < PEAK_LIMIT_KB, f"callreview run peaked at {result['peak_kb'] / 1024:,.0f} MiB"

    shown = subprocess.run(["callreview", "show", "CR-LONG-1", "--json"], env=env, capture_output=True, text=True,
                           check=True)
    call = json.loads(shown.stdout)
    assert call["duration"] == pytest.approx(HOURS * 3600, abs=0.1)
    segments = [s for s in call["transcript"]["segments"] if not s["flags"]]
    assert {s["speaker"] for s in segments} == {"officer", "ice"}
    for speaker, words in (("officer", "stolen property"), ("ice", "door")):
        said = [s for s in segments if s["speaker"] == speaker]
        start, end = spoken[speaker]
        # Times are in the file's time: the officer's sentence began in one window and ended in the next.
        assert said[0]["start"] == pytest.approx(start, abs=0.6), said
        assert said[-1]["end"] == pytest.approx(end, abs=0.6), said
        assert words in " ".join(s["text"].lower() for s in said)
