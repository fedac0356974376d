"""Issue 8: hostile and broken input, each case through the real inbox flow (`process_inbox`).

One batch holds every case, dropped into an inbox whose three sample calls were processed first: each
case must be refused with a message that starts with the file it is about and says what is wrong, the
few safe ones must be taken in, and nothing stored before the batch may change (rows compared column by
column, archive files by hash). Real files throughout: audio made with ffmpeg, then cut or damaged.
"""
from __future__ import annotations

import json
import os
import random
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import copy_samples
from callreview.service.inbox_files import display_path
from sqlmodel import select

from callreview.storage.archive import sha256_file
from callreview.storage.db import dispose_engines, open_session
from callreview.storage.settings import StorageSettings
from callreview.storage.tables import (AssessmentRecord, AuditEvent, Call, DecisionLogRecord, Disposition, GapRecord,
                            Quarantine, ReviewItem, SegmentRecord, TagRecord, TranscriptRecord)

pytestmark = pytest.mark.usefixtures("prefect_harness")

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
FORMATS = ("wav", "mp3", "m4a", "ogg", "flac")
TABLES = (Call, DecisionLogRecord, TranscriptRecord, SegmentRecord, GapRecord, AssessmentRecord, TagRecord,
          ReviewItem, Disposition, Quarantine, AuditEvent)
TWO_GB = 2 * 1024 ** 3
BAD_UTF8_NAME = os.fsdecode(b"bad-\xff-name.wav")
TRANSCRIPT = {"language": "en", "segments": [
    {"start": 0.0, "end": 0.2, "speaker": "ice", "text": "Can you send a unit to knock on the door?"},
    {"start": 0.2, "end": 0.4, "speaker": "officer", "text": "No, we don't do door knocks for ICE."}]}


# --- making the files -------------------------------------------------------------------------------

def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True)


def _tone(path: Path, freq: int, seconds: float = 2.0) -> Path:
    """A real recording in the format its extension names; `freq` makes its bytes unique."""
    _ffmpeg("-f", "lavfi", "-i", f"sine=frequency={freq}:duration={seconds}:sample_rate=8000", "-ac", "1", str(path))
    return path


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])


def _corrupt(path: Path) -> None:
    """Overwrite part of the file with seeded noise: WAV's header (its PCM samples carry no checksum, so
    noise there is just noise), and for the compressed formats a quarter of the audio frames (the late
    part of the file: ffmpeg's FLAC starts with an 8 KB padding block, where noise harms nothing)."""
    data = bytearray(path.read_bytes())
    rng = random.Random(path.name)
    span = range(12, 40) if path.suffix == ".wav" else range(len(data) * 5 // 8, len(data) * 7 // 8)
    for i in span:
        data[i] = rng.randrange(256)
    path.write_bytes(bytes(data))


def _json(path: Path, data) -> Path:
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def _log(**fields) -> dict:
    return {"decision": "declined", "basis": [], **fields}


@dataclass(frozen=True)
class Case:
    """One hostile input: the recording's file name, what must happen, and the file the reason names."""

    file: str
    status: str  # quarantined | processed
    names: str | None = None  # the file the reason starts with, as printed (default: the recording itself)
    says: tuple[str, ...] = ()  # fragments the reason must contain


CASES = [
    *(Case(f"truncated-{ext}.{ext}", "quarantined", says=("corrupt|truncated|not a recognisable",)) for ext in FORMATS),
    *(Case(f"corrupt-{ext}.{ext}", "quarantined", says=("corrupt|truncated|not a recognisable",)) for ext in FORMATS),
    Case("empty.wav", "quarantined", says=("empty file (0 bytes)",)),
    Case("sparse-2gb.wav", "quarantined", says=("over the limit", "CALLREVIEW_MAX_FILE_BYTES")),
    Case("video-only.m4a", "quarantined", says=("no audio stream", "video")),
    Case("video-only.ogg", "quarantined", says=("no audio stream", "video")),
    Case("invalid-json.wav", "quarantined", "invalid-json.json", ("invalid JSON",)),
    Case("wrong-types.wav", "quarantined", "wrong-types.json", ('"basis" must be a list of strings',)),
    Case("unknown-decision.wav", "quarantined", "unknown-decision.json",
         ('"decision" must be dispatched or declined, got "maybe"',)),
    Case("extra-field.wav", "quarantined", "extra-field.json", ("unknown field(s) 'badge'",)),
    Case("deeply-nested.wav", "quarantined", "deeply-nested.json", ("nested too deeply",)),
    Case("huge-number.wav", "quarantined", "huge-number.json", ("invalid JSON", "digits")),
    Case("date-out-of-range.wav", "quarantined", "date-out-of-range.json", ('"received_at"', "out of range")),
    Case("call-id-collision.wav", "quarantined", "call-id-collision.json",
         ("call_id 'CR-SAMPLE-001' is already used by another recording", "CR-SAMPLE-001.wav")),
    Case("call-id-traversal.wav", "quarantined", "call-id-traversal.json",
         ("call id '../../etc/passwd' is not allowed", "ASCII letters, digits")),
    Case("call-id-control.wav", "quarantined", "call-id-control.json", ("call id 'CR-1\\x00\\n' is not allowed",)),
    Case("call-id-lookalike.wav", "quarantined", "call-id-lookalike.json", ("is not allowed", "ASCII")),
    Case("name with spaces.wav", "quarantined", says=("call id 'name with spaces' is not allowed",
                                                      "set \"call_id\" in its sidecar")),
    Case("name with spaces and call id.wav", "processed"),
    Case("grabación-ñ.wav", "quarantined", says=("is not allowed", "rename the file")),
    Case("grabación con call_id ✓.wav", "processed"),
    Case("line\nbreak.wav", "quarantined", "line\\nbreak.wav", ("file name contains control characters",)),
    Case(BAD_UTF8_NAME, "quarantined", "bad-\\xff-name.wav", ("file name is not valid UTF-8",)),
    Case("link-outside.wav", "quarantined", says=("symlink points outside the inbox",)),
    Case("log-link-outside.wav", "quarantined", "log-link-outside.json",
         ("sidecar of log-link-outside.wav", "symlink points outside the inbox")),
    Case("transcript-link-outside.wav", "quarantined", "transcript-link-outside.transcript.json",
         ("symlink points outside the inbox",)),
    Case("fifo.wav", "quarantined", says=("not a regular file",)),
    Case("folder.wav", "quarantined", says=("not a regular file",)),
    Case("segments-out-of-order.wav", "quarantined", "segments-out-of-order.transcript.json",
         ("segments must be in time order",)),
    Case("segments-overlapping.wav", "quarantined", "segments-overlapping.transcript.json",
         ("overlapping segment 0 of the same speaker",)),
    Case("transcript-invalid-json.wav", "quarantined", "transcript-invalid-json.transcript.json",
         ("not valid JSON",)),
    Case("byte-order-marks.wav", "processed"),  # sidecars saved by Windows tools: read, not refused
]


def _make_cases(inbox: Path, outside: Path) -> None:
    """Write every case of CASES into `inbox` (and link targets into `outside`)."""
    freq = iter(range(300, 3000, 37))  # each recording gets its own tone, so its own SHA-256
    for ext in FORMATS:
        _truncate(_tone(inbox / f"truncated-{ext}.{ext}", next(freq)))
        _corrupt(_tone(inbox / f"corrupt-{ext}.{ext}", next(freq)))
    (inbox / "empty.wav").write_bytes(b"")
    with open(inbox / "sparse-2gb.wav", "wb") as f:
        f.truncate(TWO_GB)  # sparse: 2 GB long, almost nothing on disk
    for ext in ("m4a", "ogg"):
        codec = "mpeg4" if ext == "m4a" else "libtheora"
        _ffmpeg("-f", "lavfi", "-i", "testsrc=duration=1:size=32x32:rate=5", "-c:v", codec,
                "-f", "mp4" if ext == "m4a" else "ogg", str(inbox / f"video-only.{ext}"))

    def call(stem: str, log=None, transcript=None) -> Path:
        wav = _tone(inbox / f"{stem}.wav", next(freq), seconds=0.5)
        if log is not None:
            _json(inbox / f"{stem}.json", log)
        _json(inbox / f"{stem}.transcript.json", transcript if transcript is not None else TRANSCRIPT)
        return wav

    call("invalid-json", '{"decision": "declined", "basis": [')
    call("wrong-types", _log(basis="crime"))
    call("unknown-decision", _log(decision="maybe"))
    call("extra-field", _log(badge="4411"))
    call("deeply-nested", "[" * 100_000 + "]" * 100_000)
    call("huge-number", '{"decision": "declined", "basis": [], "notes": ' + "9" * 5000 + "}")
    call("date-out-of-range", _log(received_at="0001-01-01T00:00:00+14:00"))
    call("call-id-collision", _log(call_id="CR-SAMPLE-001"))
    call("call-id-traversal", _log(call_id="../../etc/passwd"))
    call("call-id-control", _log(call_id="CR-1\x00\n"))
    call("call-id-lookalike", _log(call_id="CR-SAMPLE-\u041e01"))  # a Cyrillic O
    call("name with spaces")
    call("name with spaces and call id", _log(call_id="CR-SPACES-1"))
    call("grabación-ñ")
    call("grabación con call_id ✓", _log(call_id="CR-UNICODE-1"))
    call("line\nbreak")
    _tone(inbox / BAD_UTF8_NAME, next(freq), seconds=0.5)
    os.symlink(_tone(outside / "real.wav", next(freq), seconds=0.5), inbox / "link-outside.wav")
    call("log-link-outside")
    os.symlink(_json(outside / "log.json", _log()), inbox / "log-link-outside.json")
    _tone(inbox / "transcript-link-outside.wav", next(freq), seconds=0.5)
    os.symlink(_json(outside / "t.transcript.json", TRANSCRIPT), inbox / "transcript-link-outside.transcript.json")
    os.mkfifo(inbox / "fifo.wav")  # reading it would block the batch forever
    (inbox / "folder.wav").mkdir()
    seg = TRANSCRIPT["segments"]
    call("segments-out-of-order", transcript={"language": "en", "segments": [seg[1], seg[0]]})
    call("segments-overlapping", transcript={"language": "en", "segments": [
        {**seg[0], "end": 0.4}, {**seg[0], "start": 0.2, "end": 0.45, "text": "Hello?"}]})
    call("transcript-invalid-json", transcript='{"segments": [}')
    call("byte-order-marks")
    for sidecar in ("byte-order-marks.json", "byte-order-marks.transcript.json"):
        text = json.dumps(_log(call_id="CR-BOM-1") if sidecar.count(".") == 1 else TRANSCRIPT)
        (inbox / sidecar).write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))


# --- snapshots --------------------------------------------------------------------------------------

def _rows(storage) -> dict[str, dict[int, dict]]:
    with open_session(storage) as s:
        return {t.__name__: {row.id: row.model_dump() for row in s.exec(select(t))} for t in TABLES}


def _archive(storage) -> dict[str, tuple[str, int]]:
    root = storage.archive_dir
    return {p.relative_to(root).as_posix(): (sha256_file(p), p.stat().st_mode)
            for p in sorted(root.rglob("*")) if p.is_file()}


@dataclass
class Batch:
    storage: StorageSettings
    inbox: Path
    rows_before: dict
    rows_after: dict
    archive_before: dict
    archive_after: dict
    by_file: dict[str, dict]


@pytest.fixture(scope="module")
def batch(tmp_path_factory, prefect_harness) -> Batch:
    """The samples processed, then every hostile case dropped into the same inbox and run once."""
    from callreview.flows.inbox import process_inbox

    root = tmp_path_factory.mktemp("hostile")
    inbox, outside = root / "inbox", root / "outside"
    inbox.mkdir()
    outside.mkdir()
    copy_samples(inbox)
    storage = StorageSettings(data_dir=root / "data", database_url=f"sqlite:///{root / 'data' / 't.db'}")
    first = process_inbox(str(inbox), storage=storage)
    assert first.processed == 3, first.calls
    rows_before, archive_before = _rows(storage), _archive(storage)
    _make_cases(inbox, outside)
    summary = process_inbox(str(inbox), storage=storage)
    result = Batch(storage, inbox, rows_before, _rows(storage), archive_before, _archive(storage),
                   {c["file"]: c for c in summary.calls})
    yield result
    dispose_engines()


# --- the tests --------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=[ascii(c.file)[1:-1] for c in CASES])
def test_hostile_input_is_refused_with_the_file_and_the_problem(batch, case):
    row = batch.by_file[display_path(case.file)]  # the summary shows odd names escaped
    assert row["status"] == case.status, row
    if case.status == "processed":
        assert row["reason"] is None
        return
    reason = row["reason"]
    named = f"{batch.inbox}/{case.names or case.file}"  # `names` is how the message prints an odd name
    assert reason.startswith(f"{named}: "), reason
    for fragment in case.says:
        assert any(alt in reason for alt in fragment.split("|")), (fragment, reason)


def test_every_case_was_in_the_batch(batch):
    assert {display_path(c.file) for c in CASES} <= set(batch.by_file)
    assert [c for c in batch.by_file.values() if c["status"] == "failed"] == []


def test_nothing_already_stored_changes(batch):
    for table, before in batch.rows_before.items():
        after = batch.rows_after[table]
        assert {pk: after.get(pk) for pk in before} == before, f"{table}: a stored row changed or vanished"
    accepted = {"CR-SPACES-1", "CR-UNICODE-1", "CR-BOM-1"}
    new_calls = {row["call_id"] for pk, row in batch.rows_after["Call"].items() if pk not in batch.rows_before["Call"]}
    assert new_calls == accepted
    assert {k: v for k, v in batch.archive_after.items() if k in batch.archive_before} == batch.archive_before
    new_files = set(batch.archive_after) - set(batch.archive_before)
    assert len(new_files) == len(accepted) and not any(".incoming-" in f for f in new_files)


def test_accepted_names_keep_their_original_spelling(batch):
    names = {row["call_id"]: row["original_name"] for row in batch.rows_after["Call"].values()}
    assert names["CR-SPACES-1"] == "name with spaces and call id.wav"
    assert names["CR-UNICODE-1"] == "grabación con call_id ✓.wav"


def test_sidecars_saved_with_a_byte_order_mark_are_read(batch):
    (call,) = [c for c in batch.rows_after["Call"].values() if c["call_id"] == "CR-BOM-1"]
    (log,) = [r for r in batch.rows_after["DecisionLogRecord"].values() if r["call_pk"] == call["id"]]
    (transcript,) = [t for t in batch.rows_after["TranscriptRecord"].values() if t["call_pk"] == call["id"]]
    assert log["decision"] == "declined" and transcript["imported"]
    segments = [s for s in batch.rows_after["SegmentRecord"].values() if s["transcript_pk"] == transcript["id"]]
    assert sorted(s["text"] for s in segments) == sorted(s["text"] for s in TRANSCRIPT["segments"])


def test_archive_still_verifies_after_the_hostile_batch(batch):
    from callreview.storage.custody import verify_archive

    with open_session(batch.storage) as s:
        report = verify_archive(s, batch.storage)
    assert report.ok, report.to_dict()
    assert report.verified == 6


def test_refused_files_are_recorded_and_audited_without_oversized_copies(batch):
    quarantined = {row["original_name"]: row for pk, row in batch.rows_after["Quarantine"].items()}
    assert quarantined["sparse-2gb.wav"]["quarantine_path"] is None  # never copied
    assert quarantined["bad-\\xff-name.wav"]["reason"].endswith("file name is not valid UTF-8")
    refused = [e for e in batch.rows_after["AuditEvent"].values() if e["action"] == "quarantine"]
    assert len(refused) == len([c for c in CASES if c.status == "quarantined"])


def test_a_2gb_sparse_file_is_refused_without_being_read(storage_settings, tmp_path):
    huge = tmp_path / "huge.flac"
    with open(huge, "wb") as f:
        f.truncate(TWO_GB)
    read_before = _bytes_read()
    result = take_in_file(storage_settings, huge)
    read = _bytes_read() - read_before
    assert result.status == "quarantined" and "over the limit" in result.reason
    # Bytes this process read, from the kernel's count: not a timing, so a loaded machine cannot fail it.
    assert read < 64 << 20, f"{read:,} bytes were read: the file was read"


def take_in_file(storage, recording):
    """One recording through intake alone (no Prefect), as the inbox flow's intake task runs it."""
    from callreview.service.intake import take_in

    with open_session(storage) as session:
        return take_in(session, "batch", storage, recording)


def _bytes_read() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("/proc/self/io has no rchar line")


def test_a_recording_over_the_duration_limit_is_refused_from_its_header_without_being_decoded(storage_settings,
                                                                                              tmp_path):
    # Two hours of stereo 8 kHz silence: 1.6 MB of FLAC, which decodes to 920 MB of samples.
    long = tmp_path / "left-running.flac"
    _ffmpeg("-f", "lavfi", "-i", "anullsrc=r=8000:cl=stereo", "-t", "7200", "-c:a", "flac", str(long))
    storage = storage_settings.model_copy(update={"max_duration_seconds": 3600})
    read_before = _bytes_read()
    result = take_in_file(storage, long)
    read = _bytes_read() - read_before
    assert result.status == "quarantined"
    assert result.reason == (f"{long}: recording lasts 2:00:00 (7,200 s), over the limit of 1:00:00 (3,600 s); "
                             "CALLREVIEW_MAX_DURATION_SECONDS sets the limit")
    # Decoding would have piped 460 MB of samples into this process (the kernel's count, not a timing).
    assert read < 64 << 20, f"{read:,} bytes were read: the recording was decoded"
    with open_session(storage) as s:
        assert s.exec(select(Call)).all() == []
        (row,) = s.exec(select(Quarantine)).all()
    assert row.reason == result.reason and row.sha256 is not None
    assert take_in_file(storage, long).status == "skipped"  # the next nightly run does not refuse it again
