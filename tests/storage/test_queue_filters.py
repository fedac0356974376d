"""Queue filters run in the database (issue 21): the reason, officer and day filters narrow the query
itself, and the page shows exactly what the filters' Python definition (`queue_entries` over every item)
shows, on SQLite and PostgreSQL, for names with LIKE's wildcards and letters SQLite does not fold."""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from calldata import add_call
from callreview.core.vocabulary import REASON_INFO
from callreview.service.queue import view_queue
from callreview.service.queue_view import QueueFilters, queue_entries, sql_filters
from callreview.storage.dates import utcnow
from callreview.storage.db import open_session
from callreview.storage.queue import list_items, queue_officers

OFFICERS = ["Lt. A. Reyes", "Sgt. P. Lowry", "Sgt. O'Brien", "Lt. Núñez", "Sgt. 100%_Sure", "Lt. ÉLISE Marr", None]
REASONS = sorted(r for r in REASON_INFO if r != "random_audit")
ZONE = ZoneInfo("America/Kentucky/Louisville")


@pytest.fixture
def filled(storage_settings):
    rng = random.Random(21)
    with open_session(storage_settings) as s:
        for n in range(60):
            officer = rng.choice(OFFICERS)
            received = (datetime(2017, 6, 1, tzinfo=timezone.utc) + timedelta(hours=rng.randrange(0, 24 * 10))
                        if rng.random() > 0.1 else None)
            add_call(s, f"CR-{n:03d}", [("ice", "We need a unit.")], officer=officer or "",
                     decision="dispatched" if officer else None, received_at=received, verdict="mismatch",
                     reasons=tuple(rng.sample(REASONS, rng.randint(1, 2))))
        s.commit()
    return storage_settings


CASES = [QueueFilters(reason="dispatch_without_basis", sort="age"),
         QueueFilters(officer="sgt", sort="age"), QueueFilters(officer="100%_", sort="age"),
         QueueFilters(officer="_", sort="age"), QueueFilters(officer="núñez", sort="age"),
         QueueFilters(officer="élise", sort="age"), QueueFilters(officer="o'b", sort="age"),
         QueueFilters(date_from=date(2017, 6, 3), date_to=date(2017, 6, 5), sort="age"),
         QueueFilters(date_to=date(2017, 6, 1), sort="age"),
         QueueFilters(reason="missing_log", officer="lt", date_from=date(2017, 6, 2), severity="high", sort="age")]


@pytest.mark.parametrize("filters", CASES, ids=lambda f: ",".join(f"{k}={v}" for k, v in vars(f).items() if v and k != "sort"))
def test_the_page_shows_what_the_filters_mean_and_the_database_did_the_narrowing(filled, filters):
    now = utcnow()
    with open_session(filled) as s:
        everything = list_items(s, status="open")
        expected = [e.row.call_id for e in queue_entries(everything, filters, now=now, zone=ZONE)]
        narrowed = list_items(s, status="open", **sql_filters(filters, ZONE))
        page = view_queue(s, "test", "open", filters=filters, zone=ZONE)
    assert [e.row.call_id for e in page.entries] == expected
    # the query itself returned no item the filters exclude, except where SQL cannot fold the letters
    assert set(expected) <= {r.call_id for r in narrowed}
    if filters.officer is None or filters.officer.isascii():
        if filters.severity is None:
            assert sorted(r.call_id for r in narrowed) == sorted(expected)
        assert len(narrowed) < len(everything)


def test_the_officer_list_names_everyone_with_an_item_of_the_status(filled):
    with open_session(filled) as s:
        rows = list_items(s, status="open")
        assert queue_officers(s, status="open") == sorted({r.commanding_officer for r in rows if r.commanding_officer})
        assert queue_officers(s, status="closed") == []
