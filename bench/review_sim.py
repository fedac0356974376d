#!/usr/bin/env python3
"""A simulated month of review, to show what the report says of it: double review and the audit sample.

Builds a throwaway SQLite database with CALLS calls of June 2017 (a third of them mismatches whose items
are high severity), then, through the product's own services:
- two reviewers give blind findings on every mismatch item; the second agrees with the first with
  probability AGREE (seeded); a lead adjudicates each disagreement;
- `callreview sample` draws RATE of the consistent calls; a reviewer disposes of the drawn items, finding
  MISSED of them to be real mismatches the machine called consistent;
- the transparency report is built; its tables are printed and its HTML page written to --out.

usage: python bench/review_sim.py [--calls 300] [--agree 0.85] [--rate 0.05] [--missed 1] [--seed 7]
                                  [--out /tmp/review-sim.html]
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # calldata: how the tests store a call without audio

FINDINGS = ("confirmed", "dismissed", "escalated")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=300)
    ap.add_argument("--agree", type=float, default=0.85)
    ap.add_argument("--rate", type=float, default=0.05)
    ap.add_argument("--missed", type=int, default=1)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", type=Path, default=Path("/tmp/review-sim.html"))
    a = ap.parse_args()

    from calldata import add_call
    from callreview.service.queue import adjudicate_item, dispose_item
    from callreview.service.report import build_report, render_html, report_tables
    from callreview.service.sampling import sample_consistent_calls
    from callreview.storage.db import open_session
    from callreview.storage.queue import list_items
    from callreview.storage.settings import StorageSettings

    rng = random.Random(a.seed)
    with tempfile.TemporaryDirectory() as tmp:
        storage = StorageSettings(data_dir=Path(tmp), database_url=f"sqlite:///{tmp}/sim.db")
        with open_session(storage) as s:
            for i in range(a.calls):
                mismatch = i % 3 == 0
                add_call(s, f"CR-SIM-{i:04d}", [("ice", "Can your officers knock on the door for us?")],
                         officer=("Lt. A. Reyes", "Sgt. P. Lowry", "Capt. D. Dunn")[i % 3 if not mismatch else 1],
                         received_at=datetime(2017, 6, 1, tzinfo=timezone.utc) + timedelta(hours=i * 2),
                         verdict="mismatch" if mismatch else "consistent",
                         reasons=("door_knock_request_dispatched",) if mismatch else ())
            s.commit()
            for row in list_items(s, status="open"):
                first = rng.choices(FINDINGS, (0.7, 0.2, 0.1))[0]
                second = first if rng.random() < a.agree else rng.choice([f for f in FINDINGS if f != first])
                for reviewer, finding in (("alice", first), ("bob", second)):
                    dispose_item(s, f"web:{reviewer}", row.item_id, reviewer=reviewer, disposition=finding,
                                 note="simulated", double_review=frozenset({"high"}))
            for row in list_items(s, status="adjudication"):
                adjudicate_item(s, "web:lee", row.item_id, lead="lee", disposition=rng.choice(FINDINGS[:2]),
                                note="simulated")
            drawn = sample_consistent_calls(s, "cli:sim", date(2017, 6, 1), date(2017, 6, 30), a.rate, minimum=10)
            for n, item_id in enumerate(drawn.created.values()):
                dispose_item(s, "web:cara", item_id, reviewer="cara", note="simulated audit",
                             disposition="confirmed" if n < a.missed else "dismissed")
            report = build_report(s, date(2017, 6, 1), date(2017, 6, 30))
        a.out.write_text(render_html(report), encoding="utf-8")
    print(f"{report.calls} calls, June 2017 (seed {a.seed}; second reviewer agrees with probability {a.agree})")
    for title, columns, rows in report_tables(report)[-3:]:
        print(f"\n{title}\n  " + " | ".join(columns))
        for row in rows:
            print("  " + " | ".join(str(v) for v in row))
    print(f"\nHTML report: {a.out}")


if __name__ == "__main__":
    main()
