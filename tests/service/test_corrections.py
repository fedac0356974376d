"""callreview.service.corrections: a misheard word corrected in a new version flips the verdict, and nothing
of the first version is lost."""
from __future__ import annotations

import json

import pytest
from sqlmodel import select

from calldata import add_call
from callreview.core.rules import load_rules
from callreview.service.assessment import assess_stored_call
from callreview.service.corrections import CorrectionRefused, correct_segment, versions_of, word_diff
from callreview.storage import calls as store
from callreview.storage.audit import verify_audit_chain
from callreview.storage.db import open_session
from callreview.storage.evidence import verify_evidence
from callreview.storage.tables import AuditEvent, ReviewItem

RULES = load_rules()
# Whisper heard "knock on the door" as "lock on the floor": the door knock ICE asked for went unseen.
TURNS = [("officer", "Fourth division, Sergeant Lowry."),
         ("ice", "We have an I-200 for him. Can your officers lock on the floor for us?"),
         ("officer", "Okay, I'll send a car.")]


@pytest.fixture
def storage(storage_settings):
    with open_session(storage_settings) as s:
        call = add_call(s, "CR-FIX", TURNS, decision="dispatched", basis=())
        s.commit()
        assess_stored_call(s, "batch", call.id, RULES)  # the rules' own first reading
    return storage_settings


def test_a_correction_is_a_new_version_that_flips_the_verdict(storage):
    with open_session(storage) as s:
        before = store.current_assessment(s, store.find_call(s, "CR-FIX").id).verdict
        done = correct_segment(s, "web:alice", "alice", "CR-FIX", 1,
                               "We have an I-200 for him. Can your officers knock on the door for us?",
                               "listened at 0:04: 'knock on the door'", RULES)
    assert (before, done.verdict_before) == ("mismatch", "mismatch")  # dispatched with no basis either way
    assert done.verdict_after == "mismatch" and "door_knock_request_dispatched" in done.reasons_after
    with open_session(storage) as s:
        call = store.find_call(s, "CR-FIX")
        versions = store.transcript_versions(s, call.id)
        assert [(v.version, v.is_current, v.corrected_by) for v in versions] == [(1, False, None), (2, True, "alice")]
        old, new = (store.segments_of(s, v.id) for v in versions)
        assert "lock on the floor" in old[1].text and "knock on the door" in new[1].text
        assert [(r.start, r.end, r.words_json) for r in old] == [(r.start, r.end, r.words_json) for r in new]
        [event] = s.exec(select(AuditEvent).where(AuditEvent.action == "correct_transcript")).all()
        detail = json.loads(event.detail_json)
        assert (detail["from_version"], detail["version"], detail["verdict_before"]) == (1, 2, "mismatch")
        assert verify_audit_chain(s) == []
        # the corrected version is vouched for by its event (version 1 was stored by the test, with no event)
        assert [p for p in verify_evidence(s).problems if p.table == "transcript" and p.row_id == versions[1].id] == []
        item = s.exec(select(ReviewItem).where(ReviewItem.call_pk == call.id, ReviewItem.status == "open")).one()
        assert "door_knock_request_dispatched" in json.loads(item.reasons_json)


def test_a_correction_that_clears_a_basis_turns_consistent_into_a_mismatch(storage_settings):
    with open_session(storage_settings) as s:
        call = add_call(s, "CR-FIX2", [("ice", "He has a felony warrant for burglary, circuit court."),
                                       ("officer", "I'll send a car.")], decision="dispatched",
                        basis=("criminal_warrant",))
        s.commit()
        assert assess_stored_call(s, "batch", call.id, RULES).verdict == "consistent"
        done = correct_segment(s, "web:alice", "alice", "CR-FIX2", 0, "He has an ICE warrant, an I-200, that's all.",
                               "the recording says I-200, not felony", RULES)
    assert (done.verdict_before, done.verdict_after) == ("consistent", "mismatch")


def test_the_versions_page_data_shows_what_changed_and_who_changed_it(storage):
    with open_session(storage) as s:
        correct_segment(s, "web:alice", "alice", "CR-FIX", 1,
                        "We have an I-200 for him. Can your officers knock on the door for us?", "listened", RULES)
        versions = versions_of(s, "web:sam", "CR-FIX")
    assert [v.made_by.startswith("corrected by alice") for v in versions] == [False, True]
    assert versions[1].reason == "listened" and [c[0] for c in versions[1].changes] == [1]
    runs = word_diff(versions[1].changes[0][1], versions[1].changes[0][2])
    assert [r for r in runs if r[0] != "same"] == [("removed", "lock"), ("added", "knock"), ("removed", "floor"),
                                                   ("added", "door")]


@pytest.mark.parametrize("call_id,segment,text,reason,problem", [
    ("CR-NONE", 0, "x", "y", "no such call"), ("CR-FIX", 9, "x", "y", "has no segment 9"),
    ("CR-FIX", 1, "  ", "y", "empty"), ("CR-FIX", 1, "new words", " ", "a reason is required"),
    ("CR-FIX", 0, "Fourth division, Sergeant Lowry.", "y", "already says that")])
def test_a_correction_that_cannot_stand_is_refused_and_audited(storage, call_id, segment, text, reason, problem):
    with open_session(storage) as s:
        with pytest.raises(CorrectionRefused, match=problem):
            correct_segment(s, "web:alice", "alice", call_id, segment, text, reason, RULES)
        [event] = s.exec(select(AuditEvent).where(AuditEvent.action == "correct_transcript")).all()
        assert event.outcome == "refused"
        assert len(store.transcript_versions(s, store.find_call(s, "CR-FIX").id)) == 1


def test_a_reviewer_recused_from_the_officer_cannot_correct_the_call(storage):
    from callreview.service.conflicts import add_conflict
    from callreview.storage.users import add_user

    with open_session(storage) as s:
        add_user(s, username="alice", password_hash="x", role="reviewer", created_by="test")
        s.commit()
        add_conflict(s, "cli:admin", "alice", "Lt. A. Reyes", "partner for years")
        with pytest.raises(CorrectionRefused, match="alice is recused from calls of Lt. A. Reyes"):
            correct_segment(s, "web:alice", "alice", "CR-FIX", 1, "new words", "listened", RULES)
