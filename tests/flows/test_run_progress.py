"""`callreview run`'s progress bar (issue 21): calls, audio minutes and an estimated finish, paced by audio."""
from __future__ import annotations

import io

from rich.console import Console

from callreview.cli.progress import BatchBar, recording_seconds
from callreview.service.inbox_files import scan_inbox
from tests.conftest import copy_samples


def test_the_bar_counts_calls_and_audio_minutes_in_inbox_order(tmp_path):
    inbox = copy_samples(tmp_path / "inbox")
    (inbox / "broken.wav").write_bytes(b"RIFF not audio")
    entries = scan_inbox(inbox)
    seconds = recording_seconds(entries)
    assert [e.recording.name for e in entries] == ["CR-SAMPLE-001.wav", "CR-SAMPLE-002.wav", "CR-SAMPLE-003.wav",
                                                    "broken.wav"]
    assert all(10 < s < 30 for s in seconds[:3]) and seconds[3] == 0.0  # from the headers; unreadable counts 0
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=200)
    with BatchBar(seconds, console) as bar:
        bar("CR-SAMPLE-001.wav", "processed")
        task = bar.progress.tasks[0]
        assert task.fields["calls"] == "1/4"
        assert task.completed == seconds[0] and task.total == sum(seconds)
        assert task.fields["audio"] == f"{seconds[0] / 60:.1f}/{sum(seconds) / 60:.1f}"
        for name in ("CR-SAMPLE-002.wav", "CR-SAMPLE-003.wav", "broken.wav"):
            bar(name, "processed")
        assert task.fields["calls"] == "4/4" and task.finished
        bar.progress.refresh()
    shown = out.getvalue()
    assert "4/4 calls" in shown and "audio min" in shown and "ETA" in shown


def test_a_disabled_bar_draws_nothing_and_still_counts(tmp_path):
    out = io.StringIO()
    with BatchBar([0.0, 0.0], Console(file=out, force_terminal=True), enabled=False) as bar:
        bar("a.wav", "skipped")
        bar("b.wav", "skipped")
        assert bar.progress.tasks[0].fields["calls"] == "2/2"
    assert out.getvalue() == ""
