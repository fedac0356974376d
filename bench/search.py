"""Search benchmark: a synthetic corpus of ICE assistance calls, the index build, and query latency.

Writes N segments (default 1,000,000) of generated call talk straight into a fresh SQLite file with
the project's schema as it was before the search index (bulk inserts, no triggers), builds the index by
migrating to the newest revision (as an upgraded installation does), then runs a fixed query mix through `callreview.storage.search.search`
and prints build time, p50/p95/p99 per query kind with and without filters, and the database size.

Usage: python bench/search.py [--segments N] [--db PATH] [--repeat R] [--seed S]
Target (issue 7): p95 under 50 ms for word and phrase queries with filters, on a 2-core machine.
"""
from __future__ import annotations

import argparse
import os
import random
import sqlite3
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlmodel import Session, create_engine  # noqa: E402

from callreview.storage.migrate import upgrade  # noqa: E402
from callreview.storage.search import search  # noqa: E402

# The revision before the one that makes the search index (aa885ebc9d1f): the corpus is loaded into
# this schema, then the index is built by upgrading to the newest revision, and timed.
BEFORE_SEARCH_INDEX = "6ac6962b8d45"

# --- vocabulary: slots and templates written for the bench (not taken from the dev cases) -------------

FIRST = ("Luis Maria Jose Ana Carlos Rosa Miguel Elena Juan Sofia Pedro Lucia Diego Carmen Jorge Isabel Andres "
         "Gabriela Manuel Teresa Oscar Patricia Hector Veronica Raul Adriana Victor Daniela Ricardo Paola "
         "Ahmed Fatima Omar Amina Ivan Olga Nguyen Linh Samuel Grace").split()
LAST = ("Garcia Martinez Hernandez Lopez Gonzalez Perez Sanchez Ramirez Torres Flores Rivera Gomez Diaz Cruz "
        "Morales Reyes Ortiz Gutierrez Chavez Ramos Ruiz Alvarez Mendoza Castillo Jimenez Vasquez Romero "
        "Herrera Medina Aguilar Vargas Castro Guzman Fernandez Salazar Soto Delgado Pena Rios Mejia").split()
STREETS = ("Bardstown Road, Preston Highway, Dixie Highway, Broadway, Market Street, Main Street, Poplar Level "
           "Road, Taylorsville Road, Shelbyville Road, Frankfort Avenue, Eastern Parkway, Algonquin Parkway, "
           "Southside Drive, Outer Loop, Fern Valley Road, Hikes Lane, Newburg Road, Cane Run Road, "
           "Greenwood Road, Manslick Road, Oak Street, Hill Street, Winkler Avenue, Lexington Road").split(", ")
PLACES = ("apartment {n}", "unit {n}", "the blue house", "the trailer in the back", "the duplex", "building {n}",
          "the motel on {street}", "the laundromat", "the car wash", "the restaurant kitchen", "the job site")
CRIMES = ("assault", "burglary", "robbery", "theft", "domestic violence", "drug trafficking", "DUI",
          "fleeing and evading", "wanton endangerment", "possession of a handgun by a felon", "strangulation",
          "receiving stolen property", "criminal mischief", "terroristic threatening", "fraud")
COURTS = ("Jefferson Circuit Court", "Jefferson District Court", "Oldham County", "Bullitt County",
          "Hardin Circuit", "Clark County Indiana", "federal court")
OFFICER_RANKS = ("Lt.", "Sgt.", "Capt.", "Lt.", "Sgt.")
VEHICLES = ("a silver Honda", "a black pickup", "a white van", "a red Nissan", "a grey SUV", "a blue Ford")
TEMPLATES = {
    "greeting": ("{rank_word} {last}, go ahead.", "Dispatch, this is {rank_word} {last}.",
                 "Good morning, {rank_word} {last} speaking.", "This is the watch commander, {rank_word} {last}.",
                 "{rank_word} {last}, what can I do for you?"),
    "ident": ("This is Officer {alast} with ICE enforcement and removal operations.",
              "Hi, this is Agent {alast}, ICE ERO, fugitive operations team.",
              "Deportation Officer {alast} with ICE, calling about a target here in Louisville.",
              "Good morning, {alast} with Homeland Security, ICE."),
    "subject": ("Our subject is {first} {last}, date of birth {month} {day}, {year}.",
                "The target is a {age} year old male, {first} {last}.",
                "We're looking for {first} {last}, he's staying at {place} on {street}.",
                "She goes by {first}, last name {last}, lives at {num} {street}.",
                "Subject drives {vehicle}, plate ending in {num}."),
    "immigration_warrant": ("We have an administrative warrant, an I-200, for him.",
                            "He has a final order of removal from the immigration judge.",
                            "There's a detainer on him, an I-247, he's being released today.",
                            "We have an ICE warrant for removal, signed by our supervisor.",
                            "It's an I-205 warrant of removal, deportation order from {year}.",
                            "He's in the country illegally, he re-entered after deportation."),
    "criminal_warrant": ("He has an active felony warrant for {crime} out of {court}.",
                         "NCIC shows an active bench warrant for {crime}.",
                         "There's a misdemeanor warrant for {crime} from {court}.",
                         "Let me run him in NCIC. Okay, the felony warrant is active, {court}.",
                         "Is there a criminal warrant? Yes, a capias for {crime}."),
    "crime": ("He just assaulted his roommate and left in {vehicle}.",
              "They're selling drugs out of {place} right now.",
              "He's driving drunk, weaving all over {street}.",
              "The suspect stole {vehicle} about ten minutes ago.",
              "He threatened a coworker at {place} with a knife."),
    "emergency": ("Shots fired, shots fired at {num} {street}!",
                  "He has a gun and he's pointing it at people in the parking lot.",
                  "He's barricaded inside {place} with a hostage.",
                  "He's fleeing at high speed through traffic on {street}.",
                  "Someone is badly hurt, we need EMS at {num} {street}."),
    "door_knock": ("We need two of your officers to knock on the door at {place}.",
                   "Can your guys do a knock and talk at {num} {street}?",
                   "We just need a uniform to stand at the door while we make contact.",
                   "Can you get him to open up and come out? He won't open for us.",
                   "We'd like your officers to clear the house before we go in."),
    "refusal": ("We don't do door knocks for ICE, that's department policy.",
                "I can't send anyone on an administrative warrant.",
                "We do not hold anyone on a detainer.",
                "Civil immigration enforcement is not something we assist with.",
                "If there's a criminal warrant I can send a unit, otherwise no."),
    "negated": ("There's no criminal warrant, just the immigration paperwork.",
                "No, he's not armed as far as we know.",
                "No, nothing like that, no weapons involved.",
                "He's not wanted on anything local."),
    "hypothetical": ("If he runs we might need a perimeter.", "He might have a gun, we're not sure.",
                     "We're checking whether there's a warrant out of Indiana.",
                     "If he comes out swinging we'll call you back."),
    "historical": ("He had a gun charge back in {year}.", "He served time for {crime} in {year}.",
                   "That warrant was already served last year.", "He was convicted of {crime} a while ago."),
    "decision_yes": ("Okay, I'll send a unit to serve that warrant.", "I'll have two cars meet you at {street}.",
                     "Units are on the way, stage at the gas station on {street}.",
                     "Copy, dispatching now."),
    "decision_no": ("I'm going to decline this one.", "Sorry, we can't help with that.",
                    "I'll log it as declined, call back if something changes.", "Not on that paperwork, no."),
    "filler": ("Okay.", "Copy that.", "Hold on one second.", "Can you repeat that?", "Say again?",
               "Ten four.", "Yeah.", "Alright, thanks.", "Let me check with my supervisor.",
               "What's the address again?", "It's {num} {street}.", "We're about ten minutes out.",
               "Give me a callback number.", "The number is five zero two, {num}.",
               "Is he alone in there?", "There may be kids in the house.", "We have four agents on scene.",
               "How many people live there?", "He works nights at {place}.", "Thanks for your help."),
}
KIND_OF = {"criminal_warrant": "criminal_warrant", "crime": "crime", "emergency": "emergency",
           "door_knock": "door_knock", "immigration_warrant": "immigration_warrant"}


def _fill(rng: random.Random, template: str, officer_last: str) -> str:
    return template.format(
        rank_word=rng.choice(("Lieutenant", "Sergeant", "Captain")), last=rng.choice(LAST) if "{first}" in template
        else officer_last, alast=rng.choice(LAST), first=rng.choice(FIRST), month=rng.choice(
            ("January", "March", "May", "July", "September", "November")), day=rng.randint(1, 28),
        year=rng.randint(1975, 2019), age=rng.randint(19, 60), place=rng.choice(PLACES).format(
            n=rng.randint(1, 40), street=rng.choice(STREETS)), street=rng.choice(STREETS),
        num=rng.randint(100, 9999), crime=rng.choice(CRIMES), court=rng.choice(COURTS), vehicle=rng.choice(VEHICLES))


def generate_call(rng: random.Random, officer_last: str, n_segments: int) -> tuple[list[tuple[str, str]], str,
                                                                                   list[str], list[tuple[str, int]]]:
    """One call: (speaker, text) segments, decision, logged basis, counted tag mentions (kind, segment idx)."""
    story = rng.choices(("immigration_warrant", "criminal_warrant", "crime", "emergency", "door_knock"),
                        weights=(40, 25, 12, 6, 17))[0]
    segs = [("officer", _fill(rng, rng.choice(TEMPLATES["greeting"]), officer_last)),
            ("ice", _fill(rng, rng.choice(TEMPLATES["ident"]), officer_last)),
            ("ice", _fill(rng, rng.choice(TEMPLATES["subject"]), officer_last))]
    tags: list[tuple[str, int]] = []
    for kind in {story, rng.choice(("immigration_warrant", "door_knock", story))}:
        tags.append((KIND_OF[kind], len(segs)))
        segs.append(("ice", _fill(rng, rng.choice(TEMPLATES[kind]), officer_last)))
    for _ in range(max(0, n_segments - len(segs) - 1)):
        extra = rng.choices(("filler", "subject", "negated", "hypothetical", "historical", "refusal"),
                            weights=(70, 10, 5, 5, 5, 5))[0]
        speaker = "officer" if extra == "refusal" else rng.choice(("officer", "ice"))
        segs.append((speaker, _fill(rng, rng.choice(TEMPLATES[extra]), officer_last)))
    counted = {k for k, _ in tags}
    dispatched = bool(counted & {"criminal_warrant", "crime", "emergency"}) or rng.random() < 0.08
    segs.append(("officer", _fill(rng, rng.choice(TEMPLATES["decision_yes" if dispatched else "decision_no"]),
                                  officer_last)))
    basis = sorted(counted & {"criminal_warrant", "crime", "emergency"}) if dispatched else []
    if dispatched and not basis:
        basis = ["criminal_warrant"]
    return segs, "dispatched" if dispatched else "declined", basis, tags


def _verdict(decision: str, basis: list[str], counted: set[str]) -> str:
    b = counted & {"criminal_warrant", "crime", "emergency"}
    if decision == "dispatched" and (not b or set(basis) - b or "door_knock" in counted):
        return "mismatch"
    if decision == "declined" and "emergency" in counted:
        return "mismatch"
    return "consistent"


def build_corpus(path: Path, n_segments: int, seed: int) -> dict:
    """Bulk-load calls, logs, transcripts (5% with a superseded version), segments, assessments and tags."""
    engine = create_engine(f"sqlite:///{path}")
    upgrade(engine, BEFORE_SEARCH_INDEX)
    engine.dispose()
    rng = random.Random(seed)
    officers = [(rng.choice(OFFICER_RANKS), f"{rng.choice('ABCDEHJKLMPRST')}.", rng.choice(LAST)) for _ in range(60)]
    start_day = datetime(2017, 1, 1, tzinfo=timezone.utc)
    now = "2020-01-01 00:00:00.000000"
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    calls, logs, transcripts, segments, assessments, tag_rows = [], [], [], [], [], []
    seg_id = transcript_id = call_pk = 0
    while seg_id < n_segments:
        call_pk += 1
        rank, initial, last = rng.choice(officers)
        segs, decision, basis, tags = generate_call(rng, last, rng.randint(12, 32))
        # Calls arrive over three years and are processed nightly, so call order follows received_at,
        # give or take a few days for logs and recordings that arrive late.
        received = start_day + timedelta(minutes=seg_id * 3 * 365 * 24 * 60 // n_segments
                                         - rng.randint(0, 3 * 24 * 60))
        calls.append((call_pk, f"CR-{call_pk:07d}", f"{call_pk:064x}", f"{call_pk}.wav", "wav", 100_000,
                      f"{call_pk}.wav", 60.0, 2, 8000, "assessed", now, now))
        logs.append((call_pk, call_pk, decision, str(basis).replace("'", '"'),
                     received.strftime("%Y-%m-%d %H:%M:%S.%f"), "ICE ERO", "Officer X", f"{rank} {initial} {last}",
                     "sidecar", now))
        versions = 2 if rng.random() < 0.05 else 1
        for version in range(1, versions + 1):
            transcript_id += 1
            current = version == versions
            transcripts.append((transcript_id, call_pk, version, "imported", "", "en", 1, int(current), now))
            for idx, (speaker, text) in enumerate(segs):
                seg_id += 1
                words = text if current else text.replace("warrant", "paper")
                segments.append((seg_id, transcript_id, idx, idx * 4.0, idx * 4.0 + 3.5, speaker, words, "[]", "[]"))
        counted = {k for k, _ in tags}
        assessments.append((call_pk, call_pk, transcript_id, "bench", _verdict(decision, basis, counted),
                            "[]", str(sorted(counted)).replace("'", '"'), 0, 1, now))
        for kind, idx in tags:
            tag_rows.append((call_pk, kind, None, idx, "ice", idx * 4.0, idx * 4.0 + 3.5, 0, 10, "x", "bench"))
    con.executemany("INSERT INTO call (id, call_id, sha256, original_name, format, size_bytes, archive_path, "
                    "duration, channels, sample_rate, status, created_at, updated_at) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", calls)
    con.executemany("INSERT INTO decision_log (id, call_pk, decision, basis_json, received_at, requesting_agency, "
                    "requester, commanding_officer, source, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)", logs)
    con.executemany("INSERT INTO transcript (id, call_pk, version, engine, model, language, imported, is_current, "
                    "created_at) VALUES (?,?,?,?,?,?,?,?,?)", transcripts)
    con.executemany("INSERT INTO segment (id, transcript_pk, idx, start, \"end\", speaker, text, flags_json, "
                    "words_json) VALUES (?,?,?,?,?,?,?,?,?)", segments)
    con.executemany("INSERT INTO assessment (id, call_pk, transcript_pk, rules_version, verdict, reasons_json, "
                    "counted_json, unusable, is_current, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)", assessments)
    con.executemany("INSERT INTO tag (assessment_pk, kind, qualifier, segment_idx, speaker, start, \"end\", "
                    "char_start, char_end, text, rule) VALUES (?,?,?,?,?,?,?,?,?,?,?)", tag_rows)
    con.commit()
    con.close()
    return {"calls": call_pk, "segments": seg_id, "transcripts": transcript_id, "officers": officers}


QUERIES = {
    "word": ("warrant", "detainer", "apartment", "Garcia"),
    "phrase": ('"knock on the door"', '"felony warrant"', '"shots fired"', '"final order of removal"'),
    "prefix": ("deport*", "barric*", "warr*"),
    "boolean": ("warrant NOT detainer", "(gun OR knife) AND parking", "detainer OR I-247", "knock AND NOT policy"),
}


def _filter_sets(officers) -> list[dict]:
    rank, initial, last = officers[0]
    return [
        {"decision": "declined"},
        {"officer": last.lower()},
        {"verdict": "mismatch", "date_from": datetime(2018, 1, 1).date(), "date_to": datetime(2018, 3, 31).date()},
        {"tag": "door_knock", "decision": "dispatched"},
        {"date_from": datetime(2019, 6, 1).date(), "date_to": datetime(2019, 6, 30).date()},
    ]


def _describe(path: Path) -> dict:
    """Counts and officers of an existing bench database (for --reuse)."""
    con = sqlite3.connect(path)
    calls, segments, transcripts = (con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                                    for t in ("call", "segment", "transcript"))
    names = [r[0].split(" ") for r in con.execute("SELECT DISTINCT commanding_officer FROM decision_log "
                                                  "ORDER BY commanding_officer LIMIT 5")]
    con.close()
    return {"calls": calls, "segments": segments, "transcripts": transcripts, "officers": names}


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def run_queries(path: Path, officers, repeat: int) -> tuple[dict, dict]:
    """Time every query of the mix with every filter set: (wall ms, CPU ms) per (kind, filtered)."""
    engine = create_engine(f"sqlite:///{path}")
    timings: dict[tuple[str, bool], list[float]] = {}
    cpu: dict[tuple[str, bool], list[float]] = {}
    with Session(engine) as session:
        for kind, queries in QUERIES.items():
            for q in queries:
                for filters in [{}] + _filter_sets(officers):
                    key = (kind, bool(filters))
                    search(session, q, **filters)  # warm the page cache for this query once
                    for _ in range(repeat):
                        t0, c0 = time.perf_counter(), time.process_time()
                        search(session, q, limit=50, **filters)
                        timings.setdefault(key, []).append((time.perf_counter() - t0) * 1000)
                        cpu.setdefault(key, []).append((time.process_time() - c0) * 1000)
    engine.dispose()
    return timings, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=1_000_000, help="segments to generate (default 1,000,000)")
    parser.add_argument("--db", type=Path, default=None, help="SQLite file to write (default: a temporary file)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per query and filter set")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reuse", action="store_true", help="query an existing --db instead of generating one")
    args = parser.parse_args(argv)
    tmp = None
    if args.db is None:
        tmp = tempfile.TemporaryDirectory(prefix="callreview-bench-")
        args.db = Path(tmp.name) / "bench.db"
    if args.reuse:
        info, load_s, build_s = _describe(args.db), 0.0, 0.0
    else:
        if args.db.exists():
            args.db.unlink()
        t0 = time.perf_counter()
        info = build_corpus(args.db, args.segments, args.seed)
        load_s = time.perf_counter() - t0
        engine = create_engine(f"sqlite:///{args.db}")
        t0 = time.perf_counter()
        upgrade(engine)
        build_s = time.perf_counter() - t0
        engine.dispose()
    load_before = os.getloadavg()[0]
    timings, cpu = run_queries(args.db, info["officers"], args.repeat)
    size = args.db.stat().st_size
    print(f"corpus: {info['segments']:,} segments in {info['calls']:,} calls ({info['transcripts']:,} transcript "
          f"versions); generated and loaded in {load_s:.1f} s")
    print(f"index build: {build_s:.1f} s")
    print(f"database size: {size / 2**20:.0f} MiB")
    # Wall time is what a user waits; CPU time is the query's own cost, which other processes on a
    # shared machine do not inflate. The load average says how shared the machine was.
    print(f"load average (1 min) before/after the queries: {load_before:.1f}/{os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores")
    print(f"{'query kind':<10} {'filters':<8} {'runs':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}"
          f" {'cpu p50':>8} {'cpu p95':>8} {'cpu p99':>8}")
    worst = worst_cpu = 0.0
    for key, values in timings.items():
        kind, filtered = key
        p95, cpu95 = _percentile(values, 95), _percentile(cpu[key], 95)
        if kind in ("word", "phrase") and filtered:
            worst, worst_cpu = max(worst, p95), max(worst_cpu, cpu95)
        print(f"{kind:<10} {'yes' if filtered else 'no':<8} {len(values):>5} {_percentile(values, 50):>8.1f} "
              f"{p95:>8.1f} {_percentile(values, 99):>8.1f} {_percentile(cpu[key], 50):>8.1f} {cpu95:>8.1f} "
              f"{_percentile(cpu[key], 99):>8.1f}")
    print(f"target p95 < 50 ms for word and phrase queries with filters: wall {worst:.1f} ms "
          f"({'met' if worst < 50 else 'NOT met'}), CPU {worst_cpu:.1f} ms ({'met' if worst_cpu < 50 else 'NOT met'})")
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
