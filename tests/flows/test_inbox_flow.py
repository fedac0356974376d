"""The inbox flow end to end, through Prefect's test harness, on real files and SQLite on disk."""
import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import select

from callreview.storage.db import open_session
from callreview.storage.tables import (AssessmentRecord, AuditEvent, Call, DecisionLogRecord, Quarantine, ReviewItem,
                            SegmentRecord, TagRecord, TranscriptRecord)

pytestmark = pytest.mark.usefixtures("prefect_harness")

TABLES = (Call, DecisionLogRecord, TranscriptRecord, SegmentRecord, AssessmentRecord, TagRecord, ReviewItem,
          Quarantine)


def _counts(storage):
    with open_session(storage) as s:
        return {t.__name__: s.exec(select(func.count()).select_from(t)).one() for t in TABLES}


def _queued_call_ids(storage):
    with open_session(storage) as s:
        rows = s.exec(select(Call.call_id).join(ReviewItem, ReviewItem.call_pk == Call.id)
                      .where(ReviewItem.status == "open")).all()
    return sorted(rows)


def run_flow(inbox, storage, **kw):
    from callreview.flows.inbox import process_inbox

    return process_inbox(str(inbox), storage=storage, **kw)


def test_samples_queue_exactly_the_mismatch_and_the_needs_review_call(sample_inbox, storage_settings):
    summary = run_flow(sample_inbox, storage_settings)
    assert (summary.processed, summary.skipped, summary.quarantined, summary.failed) == (3, 0, 0, 0)
    assert summary.verdicts == {"consistent": 1, "mismatch": 1, "needs_review": 1}
    assert _queued_call_ids(storage_settings) == ["CR-SAMPLE-002", "CR-SAMPLE-003"]
    with open_session(storage_settings) as s:
        call = s.exec(select(Call).where(Call.call_id == "CR-SAMPLE-002")).one()
        assert (call.channels, call.sample_rate, call.status) == (2, 8000, "assessed")
        assert 10 < call.duration < 30
        assert (storage_settings.archive_dir / call.archive_path).is_file()


def test_the_readme_first_run_transcribes_two_samples_with_the_defaults_and_imports_the_third(
        tmp_path, storage_settings):
    """The README's first command as a new user runs it: samples/ holds one transcript sidecar (003), so
    001 and 002 go through Whisper with the product's defaults and must still give the documented verdicts."""
    from tests.conftest import copy_samples

    inbox = copy_samples(tmp_path / "first-run", transcripts=False)
    assert sorted(p.name for p in inbox.glob("*.transcript.json")) == ["CR-SAMPLE-003.transcript.json"]
    summary = run_flow(inbox, storage_settings)
    assert (summary.processed, summary.failed) == (3, 0), summary.calls
    assert summary.verdicts == {"consistent": 1, "mismatch": 1, "needs_review": 1}
    assert _queued_call_ids(storage_settings) == ["CR-SAMPLE-002", "CR-SAMPLE-003"]
    with open_session(storage_settings) as s:
        imported = {c.call_id: t.imported for c, t in s.exec(
            select(Call, TranscriptRecord).join(TranscriptRecord, TranscriptRecord.call_pk == Call.id)).all()}
        mismatch = s.exec(select(AssessmentRecord).join(Call, Call.id == AssessmentRecord.call_pk)
                          .where(Call.call_id == "CR-SAMPLE-002")).one()
    assert imported == {"CR-SAMPLE-001": False, "CR-SAMPLE-002": False, "CR-SAMPLE-003": True}
    assert "door_knock_request_dispatched" in json.loads(mismatch.reasons_json)


def test_running_the_same_inbox_again_changes_nothing(sample_inbox, storage_settings):
    run_flow(sample_inbox, storage_settings)
    before = _counts(storage_settings)
    summary = run_flow(sample_inbox, storage_settings)
    assert (summary.processed, summary.skipped) == (0, 3)
    assert _counts(storage_settings) == before


def test_same_recording_dropped_twice_is_one_call(sample_inbox, storage_settings):
    shutil.copy(sample_inbox / "CR-SAMPLE-001.wav", sample_inbox / "CR-SAMPLE-001-copy.wav")
    summary = run_flow(sample_inbox, storage_settings)
    assert summary.processed == 3 and summary.skipped == 1
    assert _counts(storage_settings)["Call"] == 3


def test_bad_files_are_quarantined_with_a_reason_and_the_batch_goes_on(sample_inbox, storage_settings):
    (sample_inbox / "empty.wav").write_bytes(b"")
    (sample_inbox / "notes.mp3").write_text("this is a text file, not an mp3\n" * 20)
    summary = run_flow(sample_inbox, storage_settings)
    assert summary.processed == 3 and summary.quarantined == 2
    reasons = {c["file"]: c["reason"] for c in summary.calls if c["status"] == "quarantined"}
    assert reasons["empty.wav"].startswith(str(sample_inbox / "empty.wav"))
    assert "empty" in reasons["empty.wav"].lower()
    assert reasons["notes.mp3"].startswith(str(sample_inbox / "notes.mp3"))
    with open_session(storage_settings) as s:
        stored = {q.original_name: q for q in s.exec(select(Quarantine))}
    assert set(stored) == {"empty.wav", "notes.mp3"}
    assert (storage_settings.quarantine_dir / "notes.mp3").read_text().startswith("this is a text file")
    # A second run neither re-quarantines nor re-processes anything.
    again = run_flow(sample_inbox, storage_settings)
    assert (again.processed, again.quarantined, again.skipped) == (0, 0, 5)


def test_a_bad_sidecar_quarantines_its_call_without_storing_it(sample_inbox, storage_settings):
    (sample_inbox / "CR-SAMPLE-001.json").write_text('{"decision": "sent"}')
    summary = run_flow(sample_inbox, storage_settings)
    bad = next(c for c in summary.calls if c["file"] == "CR-SAMPLE-001.wav")
    assert bad["status"] == "quarantined"
    assert '"decision" must be dispatched or declined, got "sent"' in bad["reason"]
    assert _counts(storage_settings)["Call"] == 2


def test_a_run_that_stopped_after_intake_is_finished_by_the_next(sample_inbox, storage_settings):
    from callreview.service.intake import take_in

    with open_session(storage_settings) as s:
        result = take_in(s, "batch", storage_settings, sample_inbox / "CR-SAMPLE-002.wav",
                         sample_inbox / "CR-SAMPLE-002.json")
    assert result.status == "new"
    summary = run_flow(sample_inbox, storage_settings)
    assert summary.processed == 3
    assert _counts(storage_settings)["TranscriptRecord"] == 3
    assert _queued_call_ids(storage_settings) == ["CR-SAMPLE-002", "CR-SAMPLE-003"]


def test_every_stage_is_in_the_audit_log(sample_inbox, storage_settings):
    from callreview.storage.audit import verify_audit_chain

    run_flow(sample_inbox, storage_settings)
    with open_session(storage_settings) as s:
        actions = sorted(set(s.exec(select(AuditEvent.action)).all()))
        assert verify_audit_chain(s) == []
    assert actions == ["assess", "intake", "transcribe"]


def test_recording_without_transcript_goes_through_whisper(tmp_path, storage_settings, samples_dir,
                                                          random_whisper_checkpoint):
    from callreview.transcribe.settings import WhisperSettings

    inbox = tmp_path / "whisper-inbox"
    inbox.mkdir()
    for name in ("CR-SAMPLE-001.wav", "CR-SAMPLE-001.json"):
        shutil.copy(samples_dir / name, inbox / name)
    # Random weights fail Whisper's quality checks, which makes it retry by sampling at higher temperatures,
    # where a random model's logits can turn NaN; with the checks out of reach it decodes greedily only.
    whisper = WhisperSettings(engine="openai-whisper", model=str(random_whisper_checkpoint), beam_size=1,
                              compression_ratio_threshold=1000, logprob_threshold=-1000)
    summary = run_flow(inbox, storage_settings, whisper=whisper)
    assert summary.processed == 1, summary.calls
    with open_session(storage_settings) as s:
        t = s.exec(select(TranscriptRecord)).one()
        assert (t.engine, t.imported) == ("openai-whisper", False)
        assert s.exec(select(AssessmentRecord)).one().verdict in ("consistent", "mismatch", "needs_review")


def test_a_call_whose_transcription_fails_is_kept_with_its_error_and_the_batch_goes_on(
        tmp_path, storage_settings, samples_dir):
    from callreview.transcribe.settings import WhisperSettings

    inbox = tmp_path / "failing-inbox"
    inbox.mkdir()
    for name in ("CR-SAMPLE-001.wav", "CR-SAMPLE-001.json", "CR-SAMPLE-002.wav", "CR-SAMPLE-002.json",
                 "transcripts/CR-SAMPLE-002.transcript.json"):
        shutil.copy(samples_dir / name, inbox / Path(name).name)
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a checkpoint")
    summary = run_flow(inbox, storage_settings, whisper=WhisperSettings(engine="openai-whisper", model=str(broken)))
    by_file = {c["file"]: c for c in summary.calls}
    assert by_file["CR-SAMPLE-001.wav"]["status"] == "failed" and "broken.pt" in by_file["CR-SAMPLE-001.wav"]["reason"]
    assert by_file["CR-SAMPLE-002.wav"]["status"] == "processed"
    with open_session(storage_settings) as s:
        failed = s.exec(select(Call).where(Call.call_id == "CR-SAMPLE-001")).one()
        assert failed.status == "archived" and "broken.pt" in failed.error


def test_a_consistent_call_that_hinges_on_a_weak_reading_is_queued_with_the_words(sample_inbox, storage_settings,
                                                                                   tmp_path):
    import json

    inbox = tmp_path / "weak-inbox"
    shutil.copytree(sample_inbox, inbox)
    sidecar = inbox / "CR-SAMPLE-001.transcript.json"
    transcript = json.loads(sidecar.read_text(encoding="utf-8"))
    transcript["segments"].append({"start": 17.0, "end": 19.5, "speaker": "ice",
                                   "text": "And could your unit talk to him for us first?"})
    sidecar.write_text(json.dumps(transcript), encoding="utf-8")
    run_flow(inbox, storage_settings)
    assert "CR-SAMPLE-001" in _queued_call_ids(storage_settings)
    with open_session(storage_settings) as s:
        call = s.exec(select(Call).where(Call.call_id == "CR-SAMPLE-001")).one()
        record = s.exec(select(AssessmentRecord).where(AssessmentRecord.call_pk == call.id,
                                                       AssessmentRecord.is_current == True)).one()  # noqa: E712
        item = s.exec(select(ReviewItem).where(ReviewItem.call_pk == call.id)).one()
    assert (record.verdict, json.loads(record.reasons_json)) == ("needs_review", ["uncertain_evidence"])
    assert json.loads(item.reasons_json) == ["uncertain_evidence"]
    [doubt] = json.loads(record.doubts_json)
    assert (doubt["kind"], doubt["text"], doubt["segment"], doubt["start"]) == ("door_knock", "talk to him for us", 4, 17.0)


def test_the_progress_listener_hears_of_every_file_once_in_inbox_order(sample_inbox, storage_settings):
    from callreview.flows.progress import ProgressListener

    (sample_inbox / "empty.wav").write_bytes(b"")
    heard = []
    summary = run_flow(sample_inbox, storage_settings, progress=ProgressListener(lambda *call: heard.append(call)))
    assert heard == [("CR-SAMPLE-001.wav", "processed"), ("CR-SAMPLE-002.wav", "processed"),
                     ("CR-SAMPLE-003.wav", "processed"), ("empty.wav", "quarantined")]
    assert heard == [(c["file"], c["status"]) for c in summary.calls]


def test_a_batch_draws_last_weeks_consistent_calls_for_audit_once(sample_inbox, storage_settings, monkeypatch):
    """CALLREVIEW_AUDIT_SAMPLE_RATE: the nightly run queues last week's audit sample, and a second run adds nothing."""
    from datetime import datetime, timedelta, timezone

    last_week = datetime.now(timezone.utc) - timedelta(days=datetime.now(timezone.utc).weekday() + 4)
    for sidecar in sample_inbox.glob("CR-SAMPLE-00?.json"):
        log = json.loads(sidecar.read_text())
        log["received_at"] = last_week.isoformat()
        sidecar.write_text(json.dumps(log))
    monkeypatch.setenv("CALLREVIEW_AUDIT_SAMPLE_RATE", "1")
    first = run_flow(sample_inbox, storage_settings)
    assert first.verdicts["consistent"] == 1
    assert (first.audit_sample["drawn"], first.audit_sample["queued"]) == (1, 1)
    again = run_flow(sample_inbox, storage_settings)
    assert (again.audit_sample["drawn"], again.audit_sample["queued"], again.audit_sample["seed"]) == (
        1, 0, first.audit_sample["seed"])
    with open_session(storage_settings) as s:
        audit = s.exec(select(ReviewItem).where(ReviewItem.reasons_json == '["random_audit"]')).all()
    assert len(audit) == 1
