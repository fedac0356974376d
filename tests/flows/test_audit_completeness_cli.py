"""Every CLI command that acts leaves exactly one audit event per action, of the shape the table below documents.

DESIGN.md: "Every view, search, disposition and export is in an append-only audit log with who/what/when,
written in the same transaction as the action." The table is checked against the commands typer has
registered, so a new command fails `test_every_registered_command_has_an_entry` until it is listed: in
ACTS, with the events one run of it must leave, or in QUIET, with why it has nothing to audit.

Each case runs the real command (typer's CliRunner) on a copy of a data folder (real SQLite) that
`callreview run` filled from the sample inbox, and compares every audit row it added, in full shape
(actor, action, object type, object id, outcome), with the table; the chain must still verify.
"""
from __future__ import annotations

import json
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from sqlmodel import select
from typer.testing import CliRunner

from tests.conftest import copy_samples
from callreview.cli.actor import cli_actor
from callreview.cli.app import app
from callreview.storage.audit import verify_audit_chain
from callreview.storage.db import dispose_engines, open_session
from callreview.storage.settings import StorageSettings
from callreview.storage.tables import AuditEvent

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ("CR-SAMPLE-001", "CR-SAMPLE-002", "CR-SAMPLE-003")  # 001 consistent; 002, 003 queued
PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Case:
    """One run of a command and the audit rows it must add: (actor, action, object_type, object_id, outcome).

    In `argv` and in the rows, {data} is the data folder and {tmp} a scratch folder; actor "cli" stands for
    `cli:<user>` (callreview.cli.actor.cli_actor). `setup` prepares the copy first (a changed rules file).
    """

    argv: tuple[str, ...]
    events: tuple[tuple[str, str, str, str, str], ...]
    exit_code: int = 0
    stdin: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    setup: str | None = None


def _each(actor, action, object_type, ids, outcome="ok"):
    return tuple((actor, action, object_type, i, outcome) for i in ids)


# What `callreview run` leaves for the sample inbox plus one empty recording: per call taken in, one
# intake, one transcribe and one assess event (actor batch); per file refused, one quarantine event.
RUN_EVENTS = (_each("batch", "intake", "call", SAMPLES) + _each("batch", "transcribe", "call", SAMPLES)
              + _each("batch", "assess", "call", SAMPLES) + (("batch", "quarantine", "file", "empty.wav", "refused"),))

ACTS: dict[str, tuple[Case, ...]] = {
    "run": (Case(("run", "{inbox}", "--json"), RUN_EVENTS),),
    # One assess event per call given a new assessment (here: every call, the rules' version changed);
    # re-checking under the rules already applied decides nothing and adds no row.
    "recheck": (Case(("recheck", "--json"), _each("batch", "assess", "call", SAMPLES), setup="new_rules"),
                Case(("recheck", "--json"), ())),
    "verify": (Case(("verify", "--json"), (("cli", "verify", "archive", "{data}/archive", "ok"),)),),
    # One purge event per call purged (001: the two others have open review items) and per quarantined copy
    # removed (empty.wav's, quarantine row 1), then one for the run; a dry run leaves the run's alone.
    "purge": (Case(("purge", "--before", "2999-01-01", "--json"),
                   (("cli", "purge", "call", "CR-SAMPLE-001", "ok"), ("cli", "purge", "quarantine", "1", "ok"),
                    ("cli", "purge_run", "archive", "2999-01-01T00:00:00+00:00", "ok"))),
              Case(("purge", "--before", "2999-01-01", "--dry-run", "--json"),
                   (("cli", "purge_run", "archive", "2999-01-01T00:00:00+00:00", "dry_run"),))),
    "queue": (Case(("queue", "--json"), (("cli", "view_queue", "queue", "open", "ok"),)),),
    "show": (Case(("show", "CR-SAMPLE-002", "--json"), (("cli", "view_call", "call", "CR-SAMPLE-002", "ok"),)),
             Case(("show", "CR-NOPE"), (("cli", "view_call", "call", "CR-NOPE", "not_found"),), exit_code=1)),
    "search": (Case(("search", "knock", "--json"), (("cli", "search", "transcripts", "knock", "ok"),)),
               Case(("search", "knock", "--from", "0001-01-01"),
                    (("cli", "search", "transcripts", "knock", "invalid_date_from"),), exit_code=2)),
    "export": (Case(("export", "CR-SAMPLE-002", "--out", "{tmp}/002.vtt"),
                    (("cli", "export_transcript", "call", "CR-SAMPLE-002", "ok"),)),
               Case(("export", "CR-NOPE"), (("cli", "export_transcript", "call", "CR-NOPE", "not_found"),),
                    exit_code=1)),
    "export-queue": (Case(("export-queue", "--out", "{tmp}/queue.csv"),
                          (("cli", "export_queue", "queue", "all", "ok"),)),),
    "export-dispositions": (Case(("export-dispositions", "--out", "{tmp}/dispositions.csv"),
                                 (("cli", "export_dispositions", "dispositions", "all", "ok"),)),),
    "report": (Case(("report", "--from", "2017-01-01", "--to", "2017-12-31", "--out", "{tmp}/report.html"),
                    (("cli", "export_report", "report", "2017-01-01..2017-12-31", "ok"),)),
               Case(("report", "--from", "0001-01-01", "--to", "2017-12-31"),
                    (("cli", "export_report", "report", "0001-01-01..2017-12-31", "invalid_date_from"),),
                    exit_code=2)),
    # One sample event per draw: ok (items made, or none new), dry_run, or a refusal with its outcome.
    "sample": (Case(("sample", "--from", "2017-01-01", "--to", "2017-12-31", "--rate", "0.5", "--json"),
                    (("cli", "sample", "period", "2017-01-01..2017-12-31", "ok"),)),
               Case(("sample", "--from", "2017-01-01", "--to", "2017-12-31", "--rate", "2"),
                    (("cli", "sample", "period", "2017-01-01..2017-12-31", "invalid"),), exit_code=2)),
    "packet": (Case(("packet", "CR-SAMPLE-002", "--out", "{tmp}/002.zip"),
                    (("cli", "export_packet", "call", "CR-SAMPLE-002", "ok"),)),
               Case(("packet", "CR-NOPE", "--out", "{tmp}/nope.zip"),
                    (("cli", "export_packet", "call", "CR-NOPE", "not_found"),), exit_code=1),
               # checking a packet is offline: no database, nothing to audit
               Case(("packet", "verify", "{tmp}/missing.zip"), (), exit_code=1)),
    # Recusals: one event per change or listing, refusals included (the data copy has no users).
    "user conflict add": (Case(("user", "conflict", "add", "nobody", "Sgt. P. Lowry", "--reason", "cousin"),
                               (("cli", "conflict_add", "user", "nobody", "refused"),), exit_code=1),),
    "user conflict list": (Case(("user", "conflict", "list", "--json"),
                                (("cli", "view_conflicts", "user", "all", "ok"),)),),
    "user conflict remove": (Case(("user", "conflict", "remove", "nobody", "Sgt. P. Lowry"),
                                  (("cli", "conflict_remove", "user", "nobody", "not_found"),), exit_code=1),),
    "user add": (Case(("user", "add", "alice", "--role", "reviewer", "--password-stdin", "--json"),
                      (("cli", "user_add", "user", "alice", "ok"),), stdin=PASSWORD + "\n"),),
}

QUIET = {
    "assess": "tags one call from files; opens no database",
    "eval": "scores case files; opens no database",
    "transcribe": "prints the transcript of one file; stores nothing",
    "model import": "copies a model pack into the model folder; opens no database",
    "model list": "lists model folders; opens no database",
    "web": "serves the web app, which audits each request itself (tests/web)",
    "serve": "registers the nightly deployment; each run it starts leaves what `run` leaves",
}


def registered_commands() -> list[str]:
    """Every leaf command typer has registered, sub-commands as "group command"."""
    import typer

    def walk(group, prefix: tuple[str, ...]):
        for name, command in group.commands.items():
            if hasattr(command, "commands"):
                yield from walk(command, prefix + (name,))
            else:
                yield " ".join(prefix + (name,))

    return sorted(walk(typer.main.get_command(app), ()))


def test_every_registered_command_has_an_entry():
    commands = set(registered_commands())
    assert not set(ACTS) & set(QUIET)
    assert commands - set(ACTS) - set(QUIET) == set(), "a command with no entry in ACTS or QUIET"
    assert set(ACTS) | set(QUIET) <= commands, "an entry for a command that is not registered"


def _rows(data: Path) -> list[AuditEvent]:
    settings = StorageSettings(data_dir=data, database_url=None)
    try:
        with open_session(settings) as session:
            assert verify_audit_chain(session) == []
            return list(session.exec(select(AuditEvent).order_by(AuditEvent.id)))
    finally:
        dispose_engines()


def _invoke(case: Case, data: Path, tmp: Path, inbox: Path):
    argv = [a.format(data=data, tmp=tmp, inbox=inbox) for a in case.argv]
    env = {"CALLREVIEW_DATA_DIR": str(data), "CALLREVIEW_DATABASE_URL": None, "CALLREVIEW_RETENTION_DAYS": None,
           "CALLREVIEW_RULES": None, **case.env}
    result = CliRunner().invoke(app, argv, input=case.stdin, env=env)
    dispose_engines()  # each command opens its own engine, as separate processes would
    return result


def _shape(event: AuditEvent) -> tuple[str, str, str, str, str]:
    return event.actor, event.action, event.object_type, event.object_id, event.outcome


def _expected(case: Case, data: Path) -> Counter:
    actor = cli_actor()
    return Counter((actor if who == "cli" else who, action, kind, object_id.format(data=data), outcome)
                   for who, action, kind, object_id, outcome in case.events)


@pytest.fixture(scope="module")
def inbox(tmp_path_factory, samples_dir) -> Path:
    """The sample calls with their sidecars, and an empty recording that intake refuses."""
    folder = tmp_path_factory.mktemp("audit-inbox")
    copy_samples(folder)
    (folder / "empty.wav").write_bytes(b"")
    return folder


@pytest.fixture(scope="module")
def ran(prefect_harness, inbox, tmp_path_factory) -> tuple[Path, list]:
    """A data folder that `callreview run` filled from the inbox (that run is the `run` case), and the run's rows."""
    data = tmp_path_factory.mktemp("audit-ran") / "data"
    result = _invoke(ACTS["run"][0], data, tmp_path_factory.mktemp("audit-run-out"), inbox)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["processed"] == 3
    return data, _rows(data)


def _new_rules(env: dict, tmp: Path) -> None:
    rules = yaml.safe_load((ROOT / "callreview" / "core" / "rules" / "default.yaml").read_text(encoding="utf-8"))
    rules["version"] = "audit-completeness-2"
    path = tmp / "rules.yaml"
    path.write_text(yaml.safe_dump(rules, sort_keys=False), encoding="utf-8")
    env["CALLREVIEW_RULES"] = str(path)


CASES = [pytest.param(command, n, id=f"{command}-{n}") for command, cases in ACTS.items()
         for n in range(len(cases))]


@pytest.mark.parametrize("command, n", CASES)
def test_each_action_leaves_exactly_its_documented_audit_events(command, n, ran, inbox, tmp_path):
    case = ACTS[command][n]
    pristine, run_rows = ran
    if command == "run":
        # The module fixture ran it on an empty data folder: its rows are the whole log.
        assert Counter(map(_shape, run_rows)) == _expected(case, pristine)
        return
    data, out = tmp_path / "data", tmp_path / "out"
    shutil.copytree(pristine, data)
    out.mkdir()
    env = dict(case.env)
    if case.setup == "new_rules":
        _new_rules(env, tmp_path)
    before = len(_rows(data))
    result = _invoke(Case(case.argv, case.events, case.exit_code, case.stdin, env), data, out, inbox)
    assert result.exit_code == case.exit_code, result.output
    added = _rows(data)[before:]
    assert Counter(map(_shape, added)) == _expected(case, data)
