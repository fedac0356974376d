"""callreview.service.report on the sample calls: the counts match the database; HTML and PDF are produced."""
import base64
import re
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func
from sqlmodel import select

from calldata import add_call, dispose, load_samples
from callreview.service.report import build_report, render_html, render_pdf, weekly_chart_png
from callreview.storage.tables import Call, DecisionLogRecord, ReviewItem

# Tomorrow: a call taken in after midnight (the run crossed it) still falls inside "up to today".
UNTIL = datetime.now(timezone.utc).date() + timedelta(days=1)


@pytest.fixture
def samples(session):
    load_samples(session)
    dispose(session, "CR-SAMPLE-002", "confirmed", "Sgt. Lowry sent two cars to 1234 Bardstown Road.")
    session.commit()
    return session


def test_report_counts_match_the_database(samples):
    # The sample with no log counts by its intake day (today), so the period runs to today.
    report = build_report(samples, date(2017, 1, 1), UNTIL)
    s = samples
    assert report.calls == s.exec(select(func.count()).select_from(Call)).one() == 3
    for decision in ("dispatched", "declined"):
        in_db = s.exec(select(func.count()).select_from(DecisionLogRecord)
                       .where(DecisionLogRecord.decision == decision)).one()
        assert report.decisions[decision] == in_db
    assert report.decisions["not logged"] == 1
    assert report.dispatched_by_basis == {"criminal_warrant": 2, "crime": 0, "emergency": 0}
    assert report.verdicts == {"consistent": 1, "mismatch": 1, "needs_review": 1}
    assert report.reasons == {"dispatch_without_basis": 1, "door_knock_request_dispatched": 1, "missing_log": 1}
    assert s.exec(select(func.count()).select_from(ReviewItem)).one() == 2
    assert report.dispositions["door_knock_request_dispatched"]["confirmed"] == 1
    assert report.dispositions["missing_log"]["pending"] == 1
    assert sum(n for _, n in report.weeks) == 3


def test_period_is_by_received_day(samples):
    june_2017 = build_report(samples, date(2017, 6, 1), date(2017, 6, 4))
    assert june_2017.calls == 1 and june_2017.decisions["dispatched"] == 1
    assert [(w.isoformat(), n) for w, n in june_2017.weeks] == [("2017-05-29", 1)]


def test_quotes_are_redacted(samples):
    report = build_report(samples, date(2017, 1, 1), UNTIL)
    html = render_html(report)
    assert "Two units sent to assist ICE at the apartment." in html
    for name in ("Lowry", "Reyes", "Dunn", "Marsh", "Hale", "Voss"):
        assert name not in html


def test_a_quoted_note_with_names_and_address_is_redacted(session):
    add_call(session, "CR-9", [("ice", "Knock on the door.")], officer="Sgt. P. Lowry", requester="Agent K. Dunn",
             received_at=datetime(2018, 3, 1, tzinfo=timezone.utc), verdict="mismatch",
             reasons=("dispatch_without_basis",), notes="Lowry sent Dunn two cars to 1234 Bardstown Road, unit 4.")
    session.commit()
    report = build_report(session, date(2018, 3, 1), date(2018, 3, 31))
    assert report.quotes == [("CR-9", "dispatch_without_basis", "[name] sent [name] two cars to [address], unit [number].")]


def test_html_embeds_the_chart_as_png(samples):
    html = render_html(build_report(samples, date(2017, 6, 1), date(2017, 6, 30)))
    encoded = re.search(r'src="data:image/png;base64,([^"]+)"', html).group(1)
    assert base64.b64decode(encoded).startswith(b"\x89PNG")
    assert "<td>dispatched</td><td class=\"n\">2</td>" in html


def test_pdf_is_a_pdf_with_two_pages(samples):
    pdf = render_pdf(build_report(samples, date(2017, 6, 1), date(2017, 6, 30)))
    assert pdf.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 2


def test_chart_is_drawn_for_a_period_without_calls(session):
    png = weekly_chart_png(build_report(session, date(2020, 1, 1), date(2020, 1, 31)))
    assert png.startswith(b"\x89PNG")


def test_period_ending_before_it_starts_is_refused(session):
    with pytest.raises(ValueError, match="before"):
        build_report(session, date(2020, 2, 1), date(2020, 1, 1))
