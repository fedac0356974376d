"""Pure layout helpers: severity and sorting (queue_view.py), tag pieces and the timeline (transcript_view.py)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from callreview.core.policy import REASONS
from callreview.service.queue_view import SEVERITY_OF_REASON, format_age, item_severity
from callreview.web.transcript_view import segment_pieces, transcript_timeline


def test_every_reason_has_a_severity():
    assert set(SEVERITY_OF_REASON) == set(REASONS)


@pytest.mark.parametrize("reasons,severity", [
    (["door_knock_request_dispatched"], "high"),
    (["declined_despite_emergency"], "high"),
    (["dispatch_without_basis", "basis_not_logged"], "high"),
    (["missing_log"], "medium"),
    (["transcript_unusable"], "medium"),
    (["basis_not_in_transcript"], "medium"),
    (["basis_not_logged"], "low"),
    (["some_future_reason"], "medium"),
    ([], "medium"),
])
def test_item_severity_is_its_worst_reason(reasons, severity):
    assert item_severity(reasons) == severity


@pytest.mark.parametrize("waited,text", [(timedelta(minutes=5), "5 min"), (timedelta(hours=3), "3 h"),
                                         (timedelta(days=2, hours=5), "2 d")])
def test_age_reads_in_minutes_hours_or_days(waited, text):
    now = datetime(2026, 1, 10, tzinfo=timezone.utc)
    assert format_age(now - waited, now) == text


def _tag(kind, start, end, qualifier=None):
    return {"kind": kind, "char_start": start, "char_end": end, "qualifier": qualifier, "text": ""}


def test_pieces_split_at_tag_boundaries_and_carry_overlaps():
    text = "knock on the door now"
    door, knock = _tag("door_knock", 0, 17), _tag("emergency", 9, 21, "negated")
    pieces, unplaced = segment_pieces(text, [door, knock])
    assert [p.text for p in pieces] == ["knock on ", "the door", " now"]
    assert [len(p.tags) for p in pieces] == [1, 2, 1]
    assert pieces[1].ends == (door,) and pieces[2].ends == (knock,) and unplaced == []
    assert "".join(p.text for p in pieces) == text


def test_a_tag_whose_span_no_longer_fits_is_listed_not_placed():
    pieces, unplaced = segment_pieces("short", [_tag("crime", 3, 40)])
    assert [p.text for p in pieces] == ["short"] and len(unplaced) == 1


def test_timeline_puts_gaps_between_segments_by_time():
    detail = {"transcript": {"segments": [{"index": 0, "start": 0.0, "end": 1.0, "text": "a", "flags": []},
                                          {"index": 1, "start": 5.0, "end": 6.0, "text": "b", "flags": ["x"]}],
                             "gaps": [{"start": 1.0, "end": 5.0, "reason": "no_voice_detected"}]},
              "tags": []}
    kinds = [kind for kind, _ in transcript_timeline(detail)]
    assert kinds == ["segment", "gap", "segment"]
    assert transcript_timeline(detail)[2][1].flags_text == ["x"]
