"""Stored calls for search, export and report tests, written through the storage functions the flows use.

`add_call` writes one call with its decision log, a transcript version, an assessment with tags and,
for mismatches, a review item. `load_samples` stores the three sample calls from their case files, with
the expected tags and verdicts the cases give (so these tests do not depend on the tagger's version).
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from sqlmodel import Session

from callreview.storage import calls as store
from callreview.storage.tables import Call, Disposition, ReviewItem, SegmentRecord, TagRecord

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def add_call(session: Session, call_id: str, texts: list[tuple[str, str]], *, decision: str | None = "dispatched",
             basis: tuple[str, ...] = (), officer: str = "Lt. A. Reyes", received_at: datetime | None = None,
             verdict: str = "consistent", reasons: tuple[str, ...] = (),
             tags: tuple[tuple[str, int, str | None], ...] = (), requester: str = "Officer Marsh",
             notes: str | None = None) -> Call:
    """Store a call; `texts` are (speaker, text) segments 4 s apart; `tags` are (kind, segment, qualifier)."""
    call = Call(call_id=call_id, sha256=call_id.encode().hex().ljust(64, "0")[:64], original_name=f"{call_id}.wav",
                format="wav", size_bytes=1000, archive_path=f"{call_id}.wav", duration=4.0 * len(texts),
                channels=2, sample_rate=8000, status="assessed")
    session.add(call)
    session.flush()
    if decision is not None:
        store.save_decision_log(session, call.id, store.LogFields(
            decision=decision, basis=list(basis), received_at=received_at or datetime(2017, 6, 2, 13, tzinfo=timezone.utc),
            requesting_agency="ICE ERO", requester=requester, commanding_officer=officer, notes=notes,
            source="test"))
    transcript = add_version(session, call, texts)
    tag_rows = [TagRecord(kind=kind, qualifier=qualifier, segment_idx=seg, speaker=texts[seg][0], start=seg * 4.0,
                          end=seg * 4.0 + 3.0, char_start=0, char_end=len(texts[seg][1]), text=texts[seg][1],
                          rule="test") for kind, seg, qualifier in tags]
    counted = sorted({kind for kind, _, qualifier in tags if qualifier is None})
    assessment = store.add_assessment(session, call_pk=call.id, transcript_pk=transcript.id, rules_version="test",
                                      verdict=verdict, reasons=list(reasons), counted=counted, unusable=False,
                                      tags=tag_rows)
    if verdict in ("mismatch", "needs_review"):
        session.add(ReviewItem(call_pk=call.id, assessment_pk=assessment.id, verdict=verdict,
                               reasons_json=json.dumps(list(reasons))))
    session.flush()
    return call


def add_version(session: Session, call: Call, texts: list[tuple[str, str]]):
    """A new current transcript version of `call` (the earlier one stops being current)."""
    segments = [SegmentRecord(idx=i, start=i * 4.0, end=i * 4.0 + 3.5, speaker=speaker, text=text)
                for i, (speaker, text) in enumerate(texts)]
    return store.add_transcript_version(session, call.id, engine="imported", model="", language="en",
                                        imported=True, segments=segments, gaps=[])


def dispose(session: Session, call_id: str, disposition: str, note: str, reviewer: str = "ia:jones") -> None:
    """Record a disposition on the call's review item."""
    call = store.find_call(session, call_id)
    item = session.query(ReviewItem).filter(ReviewItem.call_pk == call.id).one()
    session.add(Disposition(review_item_pk=item.id, reviewer=reviewer, disposition=disposition, note=note))
    session.flush()


def load_samples(session: Session) -> list[str]:
    """Store the three sample calls as the inbox flow would (case files give log, transcript, expectations)."""
    ids = []
    for path in sorted((SAMPLES / "cases").glob("*.json")):
        case = json.loads(path.read_text(encoding="utf-8"))
        log = case.get("log")
        expected = case["expected"]
        received = datetime.fromisoformat(log["received_at"]).astimezone(timezone.utc) if log else None
        add_call(session, case["call_id"], [(s["speaker"], s["text"]) for s in case["transcript"]["segments"]],
                 decision=log["decision"] if log else None, basis=tuple(log["basis"]) if log else (),
                 officer=log["commanding_officer"] if log else "", received_at=received,
                 requester=log["requester"] if log else "", notes=log.get("notes") if log else None,
                 verdict=expected["verdict"], reasons=tuple(expected["reasons"]),
                 tags=tuple((m["kind"], m["segment"], m["qualifier"]) for m in expected["mentions"]))
        ids.append(case["call_id"])
    session.commit()
    return ids
