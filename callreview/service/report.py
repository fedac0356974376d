"""The transparency report: what happened with ICE's requests for help in a period, for the public.

Order: `build_report` gathers the figures from storage (`callreview.storage.reporting`) into a plain `Report`;
`weekly_chart_png` draws calls per week with matplotlib; `render_html` and `render_pdf` lay out the same
content. Everything quoted (the commanding officers' notes on mismatched calls) goes through
`callreview.core.redaction.redact` first; tables hold counts only, never names. `export_report` is the
audited use case: it builds the report, hands it to the caller to deliver, and records one audit event.
"""
from __future__ import annotations

import base64
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from typing import Callable

from jinja2 import Environment
from sqlmodel import Session

from callreview.core.mentions import BASIS_KINDS
from callreview.core.policy import REASON_TEXT
from callreview.core.redaction import redact
from callreview.core.sampling import cohens_kappa, miss_rate_upper_bound
from callreview.core.vocabulary import Disposition, Reason
from callreview.service.audited import commit_event
from callreview.storage.audit import audit_head
from callreview.storage.dates import DateOutOfRange, check_period, utcnow
from callreview.storage.reporting import calls_in_period, dispositions_of_calls, finding_pairs

DISPOSITIONS = (*Disposition, "pending")  # pending: an item no reviewer has closed yet


@dataclass(frozen=True)
class Report:
    """The figures of one period; every count is of calls unless its name says otherwise."""

    date_from: date
    date_to: date
    generated_at: datetime
    calls: int
    decisions: dict[str, int]                 # dispatched / declined / not logged
    dispatched_by_basis: dict[str, int]       # a call dispatched on two bases counts under both
    dispatched_without_basis: int
    weeks: list[tuple[date, int]]             # Monday of each week in the period, calls that week
    verdicts: dict[str, int]
    reasons: dict[str, int]                   # mismatch and needs_review reasons, calls per reason
    dispositions: dict[str, dict[str, int]]   # reason -> disposition -> review items
    quotes: list[tuple[str, str, str]] = field(default_factory=list)  # (call id, reasons, redacted note)
    # Consistent calls drawn for audit (`callreview sample`): disposition -> items, and the one-sided 95%
    # Clopper-Pearson upper bound on the machine's miss rate from the decided ones (confirmed = a miss).
    audit_sample: dict[str, int] = field(default_factory=dict)
    miss_rate_upper: float | None = None
    # Double review: items with both blind findings, how many differed (and went to a lead), Cohen's kappa.
    double_reviewed: int = 0
    disagreed: int = 0
    kappa: float | None = None
    # The audit log's head as the figures were read: anyone holding the database, the key and the
    # checkpoints can confirm with `callreview verify` that the log still runs through it.
    audit_rows: int = 0
    audit_head: str | None = None

    @property
    def audit_line(self) -> str:
        return (f"Made from the database when its audit log had {self.audit_rows} rows, the last with hash "
                f"{self.audit_head}." if self.audit_head else "Made from a database with an empty audit log.")


def build_report(session: Session, date_from: date, date_to: date) -> Report:
    """Gather the report's figures for `date_from`..`date_to` (whole UTC days, both included).

    Args:
        session: an open session.
        date_from: first day of the period.
        date_to: last day of the period.

    Returns:
        The Report; calls with no logged decision are counted by the day they were taken in.
    """
    if date_to < date_from:
        raise ValueError(f"report period: --to {date_to} is before --from {date_from}")
    calls = calls_in_period(session, date_from, date_to)
    decisions = Counter(c.decision or "not logged" for c in calls)
    by_basis = Counter(b for c in calls if c.decision == "dispatched" for b in c.basis)
    per_week = Counter(_monday(c.at.date()) for c in calls)
    weeks, monday = [], _monday(date_from)
    while monday <= date_to:
        weeks.append((monday, per_week.get(monday, 0)))
        monday += timedelta(days=7)
    flagged = [c for c in calls if c.verdict in ("mismatch", "needs_review")]
    reasons = Counter(r for c in flagged for r in c.reasons)
    dispositions: dict[str, dict[str, int]] = {}
    for (reason, disposition), n in dispositions_of_calls(session, [c.call_id for c in flagged]).items():
        dispositions.setdefault(reason, dict.fromkeys(DISPOSITIONS, 0))[disposition] = n
    quotes = [(c.call_id, ", ".join(c.reasons), redact(c.notes, c.people)) for c in flagged if c.notes]
    audited = {d: n for (reason, d), n in dispositions_of_calls(
        session, [c.call_id for c in calls if c.verdict == "consistent"]).items() if reason == Reason.random_audit}
    audit_sample = {d: audited.get(d, 0) for d in DISPOSITIONS}
    decided = audit_sample["confirmed"] + audit_sample["dismissed"]
    pairs = finding_pairs(session, [c.call_id for c in calls])
    head = audit_head(session)
    return Report(date_from=date_from, date_to=date_to, generated_at=utcnow(), calls=len(calls),
                  decisions={k: decisions.get(k, 0) for k in ("dispatched", "declined", "not logged")},
                  dispatched_by_basis={b: by_basis.get(b, 0) for b in BASIS_KINDS},
                  dispatched_without_basis=sum(1 for c in calls if c.decision == "dispatched" and not c.basis),
                  weeks=weeks, verdicts=dict(Counter(c.verdict or "not assessed" for c in calls)),
                  reasons=dict(sorted(reasons.items())), dispositions=dict(sorted(dispositions.items())),
                  quotes=quotes, audit_sample=audit_sample,
                  miss_rate_upper=miss_rate_upper_bound(audit_sample["confirmed"], decided),
                  double_reviewed=len(pairs), disagreed=sum(a != b for a, b in pairs), kappa=cohens_kappa(pairs),
                  audit_rows=head.rows, audit_head=head.hash)


def export_report(session: Session, actor: str, date_from: date, date_to: date, destination: str,
                  deliver: Callable[[Report], None] | None = None, *,
                  day_names: tuple[str, str] = ("date_from", "date_to")) -> Report:
    """Build the report for a period, deliver it, and record one `export_report` audit event.

    Args:
        session: an open session; it is committed here.
        actor: who the audit log names.
        date_from: first day of the period.
        date_to: last day of the period (not before `date_from`).
        destination: where the report goes, as the audit log names it (a file, or "stdout").
        deliver: writes the report (HTML or PDF) before the export is recorded, so a failed write records
            nothing; None when the caller prints the figures after.
        day_names: how the caller names the two days in messages (the CLI's `--from` and `--to`).

    Raises:
        DateOutOfRange: a day outside callreview.storage.dates' range; recorded with outcome
            `invalid_date_from` or `invalid_date_to` and the message, so the refused input is on file.
    """
    period = f"{date_from}..{date_to}"
    try:
        check_period(date_from, date_to, day_names)
    except DateOutOfRange as exc:
        commit_event(session, actor=actor, action="export_report", object_type="report", object_id=period,
                     outcome=f"invalid_{exc.field}", detail={"error": str(exc)})
        raise
    report = build_report(session, date_from, date_to)
    if deliver is not None:
        deliver(report)
    commit_event(session, actor=actor, action="export_report", object_type="report",
                 object_id=f"{report.date_from}..{report.date_to}", detail={"out": destination, "calls": report.calls})
    return report


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _weekly_figure(report: Report):
    # Figure, not pyplot: no global state, so reports can be drawn from any thread (the web app).
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(8, 3.2), dpi=100)
    ax = fig.add_subplot()
    ax.bar([w for w, _ in report.weeks], [n for _, n in report.weeks], width=5, color="#35608f")
    ax.set_title("ICE calls per week")
    ax.set_ylabel("calls")
    ax.set_xlabel("week starting (Monday)")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def weekly_chart_png(report: Report) -> bytes:
    """The calls-per-week bar chart as PNG bytes."""
    buf = io.BytesIO()
    _weekly_figure(report).savefig(buf, format="png")
    return buf.getvalue()


def report_tables(report: Report) -> list[tuple[str, list[str], list[list]]]:
    """The report's tables as (title, columns, rows), shared by the HTML and PDF layouts."""
    reason_text = {r: REASON_TEXT.get(r, r) for r in report.reasons}
    return [
        ("Decisions", ["decision", "calls"], [[k, v] for k, v in report.decisions.items()]),
        ("Dispatches by logged basis", ["basis", "calls"],
         [[k, v] for k, v in report.dispatched_by_basis.items()] + [["no basis logged", report.dispatched_without_basis]]),
        ("Verdicts", ["verdict", "calls"], [[k, v] for k, v in sorted(report.verdicts.items())]),
        ("Mismatches and calls needing review, by reason", ["reason", "meaning", "calls"],
         [[r, reason_text[r], n] for r, n in report.reasons.items()]),
        ("How reviewers disposed of them", ["reason", *DISPOSITIONS],
         [[r, *(d.get(k, 0) for k in DISPOSITIONS)] for r, d in report.dispositions.items()]),
        ("Audit of calls the machine found consistent (drawn at random)", ["drawn", *DISPOSITIONS,
                                                                           "miss rate, 95% upper bound"],
         [[sum(report.audit_sample.values()), *(report.audit_sample.get(k, 0) for k in DISPOSITIONS),
           "-" if report.miss_rate_upper is None else f"{report.miss_rate_upper:.1%}"]]
         if report.audit_sample and sum(report.audit_sample.values()) else []),
        ("Double review: two reviewers' blind findings", ["items", "the two differed (to a lead)",
                                                          "adjudication rate", "Cohen's kappa"],
         [[report.double_reviewed, report.disagreed, f"{report.disagreed / report.double_reviewed:.0%}",
           "-" if report.kappa is None else f"{report.kappa:.2f}"]] if report.double_reviewed else []),
    ]


_HTML = Environment(autoescape=True).from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ICE assistance calls, {{ r.date_from }} to {{ r.date_to }}</title>
<style>body{font-family:sans-serif;max-width:50em;margin:2em auto;color:#222}table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #bbb;padding:.25em .6em;text-align:left}td.n{text-align:right}img{max-width:100%}</style></head>
<body>
<h1>ICE assistance calls</h1>
<p>Period: {{ r.date_from }} to {{ r.date_to }} (UTC). Generated {{ r.generated_at.strftime("%Y-%m-%d %H:%M") }} UTC.</p>
<p><strong>{{ r.calls }}</strong> calls in which an ICE agent asked the department for help.</p>
<img alt="ICE calls per week" src="data:image/png;base64,{{ chart }}">
{% for title, columns, rows in tables %}<h2>{{ title }}</h2>
<table><tr>{% for c in columns %}<th>{{ c }}</th>{% endfor %}</tr>
{% for row in rows %}<tr>{% for v in row %}<td{% if v is number %} class="n"{% endif %}>{{ v }}</td>{% endfor %}</tr>
{% else %}<tr><td colspan="{{ columns|length }}">none</td></tr>{% endfor %}</table>
{% endfor %}{% if r.quotes %}<h2>What the logs say about these calls</h2>
<p>Names of people and street addresses are redacted.</p><table><tr><th>call</th><th>reasons</th><th>logged note</th></tr>
{% for call_id, reasons, note in r.quotes %}<tr><td>{{ call_id }}</td><td>{{ reasons }}</td><td>{{ note }}</td></tr>{% endfor %}</table>{% endif %}
<footer><p><small>{{ r.audit_line }}</small></p></footer>
</body></html>
""")


def render_html(report: Report) -> str:
    """A self-contained HTML page (the chart embedded as a base64 PNG)."""
    chart = base64.b64encode(weekly_chart_png(report)).decode("ascii")
    return _HTML.render(r=report, chart=chart, tables=report_tables(report))


def render_pdf(report: Report) -> bytes:
    """A PDF drawn with matplotlib alone: a page of figures and tables, then the chart."""
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    buf = io.BytesIO()
    with PdfPages(buf, metadata={"Title": f"ICE assistance calls, {report.date_from} to {report.date_to}"}) as pdf:
        page = Figure(figsize=(8.27, 11.69))  # A4 portrait, in inches
        lines = [("ICE assistance calls", 16), (f"Period: {report.date_from} to {report.date_to} (UTC)", 10),
                 (f"{report.calls} calls in which an ICE agent asked the department for help.", 11)]
        for title, columns, rows in report_tables(report):
            lines.append(("", 6))
            lines.append((title, 12))
            lines.append(("   ".join(columns), 9))
            lines.extend(("   ".join(str(v) for v in row), 9) for row in rows or [["none"]])
        if report.quotes:
            lines += [("", 6), ("What the logs say (names and addresses redacted)", 12)]
            lines.extend((f"{call_id} ({reasons}): {note}", 8) for call_id, reasons, note in report.quotes)
        lines += [("", 6), (report.audit_line, 7)]
        y = 0.96
        for text, size in lines:
            page.text(0.07, y, text, fontsize=size, va="top", wrap=True)
            y -= size / 11.69 / 72 * 1.6
        pdf.savefig(page)
        pdf.savefig(_weekly_figure(report))
    return buf.getvalue()
