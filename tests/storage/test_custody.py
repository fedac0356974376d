"""callreview.storage.custody.verify_archive on a real archive and database: what tampering each check catches."""
import os
import stat
import tracemalloc

import pytest
from sqlalchemy import text
from stored_calls import store_call, write_wav

from callreview.storage.archive import archive_relative_path, sha256_file
from callreview.storage.audit import record_event
from callreview.storage.custody import verify_archive
from callreview.storage.db import open_session
from callreview.storage.tables import Call


@pytest.fixture
def archive(storage_settings, tmp_path):
    """Two stored calls; returns (settings, {call_id: absolute archive path})."""
    paths = {}
    with open_session(storage_settings) as s:
        for i, call_id in enumerate(("CR-1", "CR-2")):
            call = store_call(s, storage_settings, write_wav(tmp_path / f"{call_id}.wav", 300 + 100 * i), call_id)
            paths[call_id] = storage_settings.archive_dir / call.archive_path
    return storage_settings, paths


def _verify(settings):
    with open_session(settings) as s:
        return verify_archive(s, settings)


def _writable(path):
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    return path


def test_untouched_archive_verifies(archive):
    settings, _ = archive
    report = _verify(settings)
    assert report.ok and (report.checked, report.verified) == (2, 2)
    assert report.audit_rows == 6 and len(report.audit_head) == 64  # intake, transcribe, assess per call


def test_a_changed_byte_in_a_recording_is_reported_as_altered(archive):
    settings, paths = archive
    path = _writable(paths["CR-1"])
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    report = _verify(settings)
    assert not report.ok
    assert [(p.call_id, p.path) for p in report.altered] == [("CR-1", str(path.relative_to(settings.archive_dir)))]
    assert "content changed" in report.altered[0].problem
    assert report.verified == 1


def test_a_deleted_recording_is_reported_as_missing(archive):
    settings, paths = archive
    paths["CR-2"].unlink()
    report = _verify(settings)
    assert [p.call_id for p in report.missing] == ["CR-2"] and not report.ok


def test_a_recording_replaced_by_a_symlink_is_altered_even_with_the_same_bytes(archive, tmp_path):
    settings, paths = archive
    copy = tmp_path / "elsewhere.wav"
    copy.write_bytes(paths["CR-1"].read_bytes())
    paths["CR-1"].unlink()
    os.symlink(copy, paths["CR-1"])
    report = _verify(settings)
    assert [p.call_id for p in report.altered] == ["CR-1"]
    assert "not a regular file" in report.altered[0].problem


def test_files_no_call_references_are_orphaned_and_temp_files_are_leftovers(archive):
    settings, _ = archive
    stray = settings.archive_dir / "ab" / ("ab" + "0" * 62 + ".wav")
    stray.parent.mkdir(exist_ok=True)
    stray.write_bytes(b"RIFF")
    (settings.archive_dir / ".incoming-x1y2").write_bytes(b"half a copy")
    report = _verify(settings)
    assert [p.path for p in report.orphaned] == [stray.relative_to(settings.archive_dir).as_posix()]
    assert [p.path for p in report.leftovers] == [".incoming-x1y2"]
    assert report.verified == 2 and not report.ok


def test_a_call_row_pointed_at_other_bytes_contradicts_the_audit_log(archive, tmp_path):
    """Swap a call's recording in the database (new file, new hash, new path): the audit log still says
    what was taken in."""
    settings, _ = archive
    fake = write_wav(tmp_path / "fake.wav", 999)
    sha = sha256_file(fake)
    rel = archive_relative_path(sha, ".wav")
    (settings.archive_dir / rel).parent.mkdir(parents=True, exist_ok=True)
    (settings.archive_dir / rel).write_bytes(fake.read_bytes())
    with open_session(settings) as s:
        s.exec(text("UPDATE call SET sha256 = :sha, archive_path = :rel WHERE call_id = 'CR-1'"),
               params={"sha": sha, "rel": rel})
        s.commit()
    report = _verify(settings)
    assert [p.call_id for p in report.altered] == ["CR-1"]
    assert "recorded in the audit log at intake" in report.altered[0].problem


def test_an_archive_path_that_does_not_match_the_hash_is_reported(archive):
    settings, _ = archive
    with open_session(settings) as s:
        s.exec(text("UPDATE call SET archive_path = '../../etc/passwd' WHERE call_id = 'CR-2'"))
        s.commit()
    report = _verify(settings)
    assert [p.call_id for p in report.altered] == ["CR-2"]
    assert "does not match the call's SHA-256" in report.altered[0].problem
    assert len(report.orphaned) == 1  # its real file is now referenced by nothing


def test_edited_and_deleted_audit_rows_are_reported(archive):
    settings, _ = archive
    with open_session(settings) as s:
        for call_id in ("CR-1", "CR-2"):
            record_event(s, actor="ia:tester", action="view_call", object_type="call", object_id=call_id)
        s.commit()
        s.exec(text("UPDATE audit_event SET actor = 'someone else' WHERE id = 1"))
        s.exec(text("DELETE FROM audit_event WHERE id = 3"))
        s.commit()
    report = _verify(settings)
    problems = {(p.event_id, p.problem.split(" (")[0]) for p in report.audit_problems}
    assert problems == {(1, "content does not match its hash"), (4, "rows 3..3 are missing"),
                        (4, "does not link to the previous row")}
    assert not report.ok


def test_hashing_keeps_memory_flat(storage_settings, tmp_path):
    big = tmp_path / "long-call.wav"
    with open(big, "wb") as f:
        f.truncate(64 << 20)  # 64 MiB (sparse), far more than the 1 MiB read size
    with open_session(storage_settings) as s:
        store_call(s, storage_settings, big, "CR-LONG")
    tracemalloc.start()
    try:
        report = _verify(storage_settings)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report.ok
    assert peak < 8 << 20, f"peak {peak:,} bytes while hashing a 64 MiB file"


def test_purged_calls_are_not_missing_but_their_leftover_audio_is_reported(archive):
    settings, paths = archive
    with open_session(settings) as s:
        s.exec(text("UPDATE call SET status = 'purged' WHERE call_id = 'CR-1'"))
        s.commit()
    report = _verify(settings)
    assert report.checked == 1 and not report.missing
    assert [(p.call_id, p.problem.split(";")[0]) for p in report.orphaned] == [
        ("CR-1", "audio of a purged call is still present")]
    paths["CR-1"].unlink()
    assert _verify(settings).ok


def test_verify_writes_nothing(archive):
    settings, _ = archive
    with open_session(settings) as s:
        before = s.exec(text("SELECT count(*) FROM audit_event")).one()[0], s.get(Call, 1).model_dump()
    _verify(settings)
    with open_session(settings) as s:
        assert (s.exec(text("SELECT count(*) FROM audit_event")).one()[0], s.get(Call, 1).model_dump()) == before
