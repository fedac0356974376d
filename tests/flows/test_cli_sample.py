"""`callreview sample`: consistent calls drawn into the queue for audit, reproducibly, audited once per draw."""
import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from calldata import add_call
from callreview.cli.app import app
from callreview.storage.audit import verify_audit_chain
from callreview.storage.db import open_session
from callreview.storage.tables import AuditEvent, Disposition, ReviewItem

runner = CliRunner()
JUNE = datetime(2017, 6, 5, 10, tzinfo=timezone.utc)
OFFICERS = ("Lt. A. Reyes", "Sgt. P. Lowry")


@pytest.fixture
def db(storage_settings, monkeypatch):
    """40 consistent calls over two officers and two weeks of June 2017, a mismatch, and a call in July."""
    monkeypatch.setenv("CALLREVIEW_DATABASE_URL", storage_settings.url)
    monkeypatch.setenv("CALLREVIEW_DATA_DIR", str(storage_settings.data_dir))
    with open_session(storage_settings) as session:
        for i in range(40):
            add_call(session, f"CR-S{i:03d}", [("ice", "Can a car meet us at the address?")],
                     officer=OFFICERS[i % 2], received_at=JUNE + timedelta(days=7 * (i % 4 // 2), hours=i % 5))
        add_call(session, "CR-MISMATCH", [("ice", "Knock on the door for us.")], verdict="mismatch",
                 reasons=("door_knock_request_dispatched",), received_at=JUNE)
        add_call(session, "CR-JULY", [("ice", "Can a car meet us?")], received_at=datetime(2017, 7, 3, tzinfo=timezone.utc))
        session.commit()
    return storage_settings


def sample(*extra):
    result = runner.invoke(app, ["sample", "--from", "2017-06-01", "--to", "2017-06-30", *extra])
    assert "Traceback" not in result.output
    return result


def events(settings):
    with open_session(settings) as s:
        assert verify_audit_chain(s) == []
        return list(s.exec(select(AuditEvent).where(AuditEvent.action == "sample").order_by(AuditEvent.id)))


def audit_items(settings):
    with open_session(settings) as s:
        return {item.id: item for item in s.exec(select(ReviewItem).where(ReviewItem.reasons_json == '["random_audit"]'))}


def test_a_dry_run_twice_gives_the_same_calls_and_queues_nothing(db):
    first, second = (json.loads(sample("--rate", "0.1", "--min", "3", "--dry-run", "--json").stdout) for _ in "ab")
    assert first == second
    assert (first["calls_in_period"], first["consistent"], len(first["chosen"])) == (41, 40, 4)
    assert "CR-MISMATCH" not in first["chosen"] and "CR-JULY" not in first["chosen"]
    assert set(first["strata"]) == {f"{o} / 2017-W{w}" for o in OFFICERS for w in (23, 24)}
    assert audit_items(db) == {}
    assert [(e.outcome, e.object_id) for e in events(db)] == [("dry_run", "2017-06-01..2017-06-30")] * 2


def test_a_draw_queues_its_calls_once_and_the_log_records_them(db):
    drawn = json.loads(sample("--rate", "0.1", "--json").stdout)
    assert len(drawn["created"]) == 4 and drawn["already_queued"] == {}
    items = audit_items(db)
    assert sorted(items) == sorted(drawn["created"].values())
    assert all(i.verdict == "consistent" and i.status == "open" for i in items.values())
    [event] = events(db)
    detail = json.loads(event.detail_json)
    assert (event.outcome, detail["seed"], detail["chosen"]) == ("ok", drawn["seed"], drawn["chosen"])
    assert set(detail["review_items"]) == {str(i) for i in items}

    again = json.loads(sample("--rate", "0.1", "--json").stdout)
    assert (again["chosen"], again["created"], again["already_queued"]) == (drawn["chosen"], {}, drawn["created"])
    assert audit_items(db).keys() == items.keys()


def test_the_report_bounds_the_machines_miss_rate_from_the_disposed_draws(db):
    drawn = json.loads(sample("--rate", "0.1", "--json").stdout)
    with open_session(db) as s:
        for n, item_id in enumerate(drawn["created"].values()):
            s.add(Disposition(review_item_pk=item_id, reviewer="ia:jones", note="listened",
                              disposition="confirmed" if n == 0 else "dismissed"))
        s.commit()
    result = runner.invoke(app, ["report", "--from", "2017-06-01", "--to", "2017-06-30", "--json"])
    report = json.loads(result.stdout)
    assert report["audit_sample"] == {"confirmed": 1, "dismissed": 3, "escalated": 0, "pending": 0}
    assert report["miss_rate_upper"] == pytest.approx(0.7514, abs=1e-4)  # 1 miss in 4: scipy beta.ppf(0.95, 2, 3)


@pytest.mark.parametrize("args,message,outcome", [
    (["--rate", "0"], "--rate must be more than 0 and at most 1", "invalid"),
    (["--rate", "0.1", "--min", "-2"], "--min must be 0 or more", "invalid")])
def test_bad_settings_are_refused_with_exit_2_and_audited(db, args, message, outcome):
    result = sample(*args)
    assert result.exit_code == 2 and message in " ".join(result.stderr.split())
    [event] = events(db)
    assert event.outcome == outcome and audit_items(db) == {}


def test_a_period_that_ends_before_it_starts_is_refused(db):
    result = runner.invoke(app, ["sample", "--from", "2017-06-30", "--to", "2017-06-01", "--rate", "0.1"])
    assert result.exit_code == 2 and "--to 2017-06-01 is before --from 2017-06-30" in " ".join(result.stderr.split())


def test_verify_vouches_for_the_drawn_items_and_names_one_edited_with_sql(db):
    from sqlalchemy import text

    from callreview.storage.evidence import verify_evidence

    drawn = json.loads(sample("--rate", "0.1", "--json").stdout)
    ids = set(drawn["created"].values())

    def problems():
        with open_session(db) as s:
            return [p for p in verify_evidence(s).problems if p.table == "review_item" and p.row_id in ids]

    assert problems() == []
    edited = min(ids)
    with open_session(db) as s:
        s.execute(text("UPDATE review_item SET status = 'closed' WHERE id = :id"), {"id": edited})
        s.commit()
    assert [p.row_id for p in problems()] == [edited]
