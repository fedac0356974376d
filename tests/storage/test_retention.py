"""callreview.service.custody.purge over callreview.storage.retention: what goes, what stays forever, and what is
never purged."""
import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, text
from sqlmodel import select
from stored_calls import store_call, write_wav

from callreview.service.custody import purge
from callreview.storage.archive import quarantine_file
from callreview.storage.calls import add_quarantine
from callreview.storage.custody import verify_archive
from callreview.storage.db import open_session
from callreview.storage.errors import SettingError
from callreview.storage.tables import (AssessmentRecord, AuditEvent, Call, DecisionLogRecord, Disposition, GapRecord,
                            Quarantine, ReviewItem, SegmentRecord, TagRecord, TranscriptRecord)

LONG_AGO = datetime(2020, 1, 1, tzinfo=timezone.utc)
CUTOFF = datetime(2021, 1, 1, tzinfo=timezone.utc)


def _count(s, table, **where):
    stmt = select(func.count()).select_from(table)
    for column, value in where.items():
        stmt = stmt.where(getattr(table, column) == value)
    return s.exec(stmt).one()


@pytest.fixture
def calls(storage_settings, tmp_path):
    """Four old calls (closed item, open item, no item, still in the pipeline) and one recent call."""
    plan = [("CR-CLOSED", "closed", "assessed", LONG_AGO), ("CR-OPEN", "open", "assessed", LONG_AGO),
            ("CR-CLEAN", None, "assessed", LONG_AGO), ("CR-PENDING", None, "transcribed", LONG_AGO),
            ("CR-RECENT", None, "assessed", None)]
    with open_session(storage_settings) as s:
        for i, (call_id, review, status, created) in enumerate(plan):
            store_call(s, storage_settings, write_wav(tmp_path / f"{call_id}.wav", 200 + 50 * i), call_id,
                       review=review, status=status, created_at=created)
    return storage_settings


def _purge(settings, before=CUTOFF, **kw):
    with open_session(settings) as s:
        return purge(s, "cli:tester", settings, before, **kw)


def test_purge_removes_audio_and_transcript_and_keeps_a_tombstone(calls):
    report = _purge(calls)
    assert sorted(p.call_id for p in report.purged) == ["CR-CLEAN", "CR-CLOSED"]
    assert all(p.file_removed and (p.segments, p.gaps, p.tags) == (2, 1, 1) for p in report.purged)
    with open_session(calls) as s:
        for call in s.exec(select(Call).where(Call.call_id.in_(["CR-CLEAN", "CR-CLOSED"]))):
            assert call.status == "purged" and len(call.sha256) == 64
            assert not (calls.archive_dir / call.archive_path).exists()
            transcript = s.exec(select(TranscriptRecord).where(TranscriptRecord.call_pk == call.id)).one()
            assert _count(s, SegmentRecord, transcript_pk=transcript.id) == 0
            assert _count(s, GapRecord, transcript_pk=transcript.id) == 0
            assessment = s.exec(select(AssessmentRecord).where(AssessmentRecord.call_pk == call.id)).one()
            assert _count(s, TagRecord, assessment_pk=assessment.id) == 0
            assert assessment.verdict == "mismatch"  # the verdict is no words of the call: it stays
        closed = s.exec(select(Call).where(Call.call_id == "CR-CLOSED")).one()
        item = s.exec(select(ReviewItem).where(ReviewItem.call_pk == closed.id)).one()
        assert item.status == "closed" and _count(s, Disposition, review_item_pk=item.id) == 1


def test_a_call_with_an_open_review_item_is_never_purged(calls):
    report = _purge(calls, before=datetime.now(timezone.utc) + timedelta(days=1))
    kept = {k.call_id: k.reason for k in report.kept}
    assert kept["CR-OPEN"].startswith("open review item #")
    with open_session(calls) as s:
        call = s.exec(select(Call).where(Call.call_id == "CR-OPEN")).one()
        assert call.status == "assessed" and (calls.archive_dir / call.archive_path).is_file()
        assert _count(s, SegmentRecord) == 2 * 2  # CR-OPEN and CR-PENDING keep their transcripts


def test_a_call_still_in_the_pipeline_is_kept(calls):
    kept = {k.call_id: k.reason for k in _purge(calls).kept}
    assert kept["CR-PENDING"] == "not assessed yet (status transcribed)"


def test_calls_taken_in_after_the_cutoff_are_not_touched(calls):
    report = _purge(calls)
    assert "CR-RECENT" not in {p.call_id for p in report.purged} | {k.call_id for k in report.kept}


def test_every_removal_is_audited_and_no_audit_row_is_touched(calls):
    with open_session(calls) as s:
        before = {row.id: row.model_dump() for row in s.exec(select(AuditEvent))}
    _purge(calls)
    with open_session(calls) as s:
        after = {row.id: row.model_dump() for row in s.exec(select(AuditEvent))}
        new = [after[i] for i in sorted(set(after) - set(before))]
        assert {i: after[i] for i in before} == before
        purges = {e["object_id"]: json.loads(e["detail_json"]) for e in new if e["action"] == "purge"}
        assert set(purges) == {"CR-CLEAN", "CR-CLOSED"}
        assert purges["CR-CLEAN"]["segments"] == 2 and purges["CR-CLEAN"]["archive_path"].endswith(".wav")
        run = [e for e in new if e["action"] == "purge_run"]
        assert len(run) == 1 and run[0]["actor"] == "cli:tester"
        assert verify_archive(s, calls).ok


def test_a_dry_run_removes_nothing_and_is_audited(calls):
    with open_session(calls) as s:
        counts = {t.__name__: _count(s, t) for t in (SegmentRecord, GapRecord, TagRecord, DecisionLogRecord)}
    report = _purge(calls, dry_run=True)
    assert sorted(p.call_id for p in report.purged) == ["CR-CLEAN", "CR-CLOSED"]
    assert not any(p.file_removed for p in report.purged)
    with open_session(calls) as s:
        assert {t: _count(s, globals()[t]) for t in counts} == counts
        assert _count(s, Call, status="purged") == 0
        run = s.exec(select(AuditEvent).where(AuditEvent.action == "purge_run")).one()
        assert run.outcome == "dry_run"
        assert verify_archive(s, calls).ok


def test_the_retention_setting_forbids_purging_younger_calls(calls):
    settings = calls.model_copy(update={"retention_days": 30})
    with pytest.raises(SettingError, match="CALLREVIEW_RETENTION_DAYS=30"):
        _purge(settings, before=datetime.now(timezone.utc) - timedelta(days=29))
    assert _purge(settings).purged  # older than 30 days: allowed


def test_a_purged_call_whose_file_came_back_is_cleaned_by_the_next_purge(calls, tmp_path):
    _purge(calls)
    with open_session(calls) as s:
        call = s.exec(select(Call).where(Call.call_id == "CR-CLEAN")).one()
    (calls.archive_dir / call.archive_path).write_bytes((tmp_path / "CR-CLEAN.wav").read_bytes())
    with open_session(calls) as s:
        assert not verify_archive(s, calls).ok
    again = _purge(calls)
    assert [(p.call_id, p.file_removed) for p in again.purged] == [("CR-CLEAN", True)]
    with open_session(calls) as s:
        assert verify_archive(s, calls).ok


def test_an_edited_archive_path_never_makes_purge_delete_another_file(calls, tmp_path):
    victim = calls.data_dir / "victim.txt"
    victim.write_text("not audio")
    with open_session(calls) as s:
        s.exec(text("UPDATE call SET archive_path = '../victim.txt' WHERE call_id = 'CR-CLEAN'"))
        s.commit()
    report = _purge(calls)
    assert victim.read_text() == "not audio"
    bad = next(p for p in report.purged if p.call_id == "CR-CLEAN")
    assert not bad.file_removed and "does not match" in bad.file_error
    assert report.errors


def test_old_quarantined_copies_are_removed_and_their_reason_kept(storage_settings, tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all")
    copy = quarantine_file(bad, storage_settings.quarantine_dir, "bad.wav: not audio", max_bytes=1 << 20)
    with open_session(storage_settings) as s:
        row = add_quarantine(s, sha256=None, original_name="bad.wav", source_path=str(bad),
                             quarantine_path=str(copy), reason="bad.wav: not audio")
        row.created_at = LONG_AGO
        s.add(row)
        s.commit()
    report = _purge(storage_settings)
    assert [(q.original_name, q.file_removed) for q in report.quarantine] == [("bad.wav", True)]
    assert not copy.exists() and copy.with_name(copy.name + ".reason.txt").is_file()
    with open_session(storage_settings) as s:
        row = s.get(Quarantine, row.id)
        assert row.quarantine_path is None and row.reason == "bad.wav: not audio"
    assert bad.is_file()  # the inbox original is never ours to delete


def test_a_cutoff_without_a_timezone_is_refused(calls):
    with pytest.raises(ValueError, match="timezone-aware"):
        _purge(calls, before=datetime(2021, 1, 1))


def test_purged_transcripts_can_no_longer_be_found_by_search(calls):
    from callreview.storage.search import search

    with open_session(calls) as s:
        assert {h.call_id for h in search(s, "knock door")} >= {"CR-CLEAN", "CR-OPEN"}
    _purge(calls)
    with open_session(calls) as s:
        found = {h.call_id for h in search(s, "knock door")}
    assert "CR-CLEAN" not in found and "CR-CLOSED" not in found and "CR-OPEN" in found
