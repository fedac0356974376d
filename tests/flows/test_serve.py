"""`callreview serve` against a real Prefect server, and `callreview recheck` after the rules file changes (issue 6)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func
from sqlmodel import select
from typer.testing import CliRunner

from live_prefect import cli_env, prefect_api_url
from callreview.storage.db import open_session
from callreview.storage.tables import AssessmentRecord, Call, ReviewItem, TagRecord

ROOT = Path(__file__).resolve().parents[2]
DEPLOYMENT = "process-inbox/callreview-nightly"


def _api():
    from prefect.settings import PREFECT_API_URL, temporary_settings

    return temporary_settings({PREFECT_API_URL: prefect_api_url()})


def _read_deployment(name: str):
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with _api(), get_client(sync_client=True) as client:
        try:
            return client.read_deployment_by_name(name)
        except ObjectNotFound:
            return None


@pytest.mark.slow
def test_serve_registers_the_nightly_deployment_on_a_prefect_server(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    serving = subprocess.Popen(["callreview", "serve", "--inbox", str(inbox), "--cron", "0 2 * * *"],
                               env=cli_env(tmp_path / "data"), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while (deployment := _read_deployment(DEPLOYMENT)) is None:
            assert serving.poll() is None, serving.stdout.read()[-3000:]
            assert time.monotonic() < deadline, "the deployment never appeared"
            time.sleep(1)
        # What an operator types. (`prefect deployment ls` is what the issue names, but Prefect 3.8.8's client
        # sends "limit": null, which its server rejects with 422 under the installed FastAPI/pydantic.)
        shown = subprocess.run(["prefect", "deployment", "inspect", DEPLOYMENT, "--output", "json"],
                               env=cli_env(tmp_path / "data"), capture_output=True, text=True, timeout=120)
    finally:
        os.killpg(serving.pid, signal.SIGTERM)
        try:
            serving.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(serving.pid, signal.SIGKILL)
            serving.wait()
        serving.stdout.close()
    assert [s.schedule.cron for s in deployment.schedules] == ["0 2 * * *"]
    assert all(s.active for s in deployment.schedules)
    assert deployment.parameters == {"inbox": str(inbox.resolve())}
    assert shown.returncode == 0, shown.stderr[-3000:]
    assert json.loads(shown.stdout)["name"] == "callreview-nightly"


def test_serve_refuses_a_bad_cron_expression_and_a_missing_inbox(tmp_path):
    from callreview.cli.app import app

    runner = CliRunner()
    bad_cron = runner.invoke(app, ["serve", "--inbox", str(tmp_path), "--cron", "at two"])
    assert bad_cron.exit_code != 0
    assert "'at two' is not a valid cron expression" in bad_cron.output
    no_inbox = runner.invoke(app, ["serve", "--inbox", str(tmp_path / "missing"), "--cron", "0 2 * * *"])
    assert no_inbox.exit_code != 0
    assert "inbox folder does not exist" in no_inbox.output


# --- recheck -------------------------------------------------------------------------------------------

def _changed_rules(tmp_path: Path) -> Path:
    """The packaged rules with a new version and without the door-knock and criminal-warrant rules."""
    rules = yaml.safe_load((ROOT / "callreview" / "core" / "rules" / "default.yaml").read_text())
    rules["version"] = "test-recheck-2"
    rules["mentions"] = [r for r in rules["mentions"]
                         if not r["id"].startswith(("door_knock.", "criminal_warrant."))]
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(rules, sort_keys=False))
    return path


def _recheck(storage, rules: Path | None, *args: str) -> dict:
    from callreview.cli.app import app

    env = {"CALLREVIEW_DATA_DIR": str(storage.data_dir), "CALLREVIEW_DATABASE_URL": storage.url,
           "CALLREVIEW_RULES": str(rules) if rules else None}
    with _api():
        result = CliRunner().invoke(app, ["recheck", "--json", *args], env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _items(storage) -> list[tuple]:
    with open_session(storage) as s:
        rows = s.exec(select(Call.call_id, ReviewItem.id, ReviewItem.status, ReviewItem.verdict,
                             ReviewItem.reasons_json, ReviewItem.close_reason)
                      .join(ReviewItem, ReviewItem.call_pk == Call.id).order_by(ReviewItem.id)).all()
    return [tuple(r) for r in rows]


def _counts(storage) -> dict:
    with open_session(storage) as s:
        return {t.__name__: s.exec(select(func.count()).select_from(t)).one()
                for t in (AssessmentRecord, TagRecord, ReviewItem)}


def _current(storage) -> dict:
    with open_session(storage) as s:
        rows = s.exec(select(Call.call_id, AssessmentRecord.rules_version, AssessmentRecord.verdict,
                             AssessmentRecord.reasons_json).join(AssessmentRecord, AssessmentRecord.call_pk == Call.id)
                      .where(AssessmentRecord.is_current == True)).all()  # noqa: E712
    return {c: (v, verdict, json.loads(reasons)) for c, v, verdict, reasons in rows}


def test_recheck_after_a_rules_change_closes_and_opens_items_once(sample_inbox, storage_settings, tmp_path):
    from callreview.flows.inbox import process_inbox

    with _api():
        process_inbox(str(sample_inbox), storage=storage_settings)
    before = _items(storage_settings)
    default_version = _current(storage_settings)["CR-SAMPLE-001"][0]
    assert [(c, st, v) for c, _, st, v, _, _ in before] == [
        ("CR-SAMPLE-002", "open", "mismatch"), ("CR-SAMPLE-003", "open", "needs_review")]
    rules = _changed_rules(tmp_path)

    summary = _recheck(storage_settings, rules)

    assert summary["rules_version"] == "test-recheck-2"
    assert summary["checked"] == 3
    assert {c["call_id"]: (c["before"], c["after"]) for c in summary["changed"]} == {
        "CR-SAMPLE-001": ("consistent", "mismatch")}
    current = _current(storage_settings)
    assert {c: v for c, (v, _, _) in current.items()} == dict.fromkeys(current, "test-recheck-2")
    assert current["CR-SAMPLE-001"][1:] == ("mismatch", ["dispatch_without_basis"])
    assert current["CR-SAMPLE-002"][1:] == ("mismatch", ["dispatch_without_basis"])
    items = {(c, st, v, r): (i, why) for c, i, st, v, r, why in _items(storage_settings)}
    old_002, old_003 = before[0][1], before[1][1]
    # 002's old item (door_knock_request_dispatched among its reasons) no longer applies: closed, with why.
    closed = [(c, i, why) for (c, st, _, _), (i, why) in items.items() if st == "closed"]
    assert [(c, i) for c, i, _ in closed] == [("CR-SAMPLE-002", old_002)]
    assert "no longer applies" in closed[0][2] and "test-recheck-2" in closed[0][2]
    # New items for the new findings; 003's unchanged needs_review item carries over (same item).
    opened = sorted((c, i, json.loads(r)) for (c, st, _, r), (i, _) in items.items() if st == "open")
    assert [(c, r) for c, _, r in opened] == [("CR-SAMPLE-001", ["dispatch_without_basis"]),
                                              ("CR-SAMPLE-002", ["dispatch_without_basis"]),
                                              ("CR-SAMPLE-003", ["missing_log"])]
    assert opened[2][1] == old_003
    assert _counts(storage_settings)["AssessmentRecord"] == 6

    # The same rules again: nothing to do, nothing duplicated.
    counts, all_items = _counts(storage_settings), _items(storage_settings)
    again = _recheck(storage_settings, rules)
    assert (again["checked"], again["changed"]) == (3, [])
    assert (_counts(storage_settings), _items(storage_settings)) == (counts, all_items)

    # Back to the packaged rules: the earlier assessments become current again rather than being duplicated.
    back = _recheck(storage_settings, None)
    assert back["rules_version"] == default_version
    assert _counts(storage_settings)["AssessmentRecord"] == 6
    assert {c: verdict for c, (_, verdict, _) in _current(storage_settings).items()} == {
        "CR-SAMPLE-001": "consistent", "CR-SAMPLE-002": "mismatch", "CR-SAMPLE-003": "needs_review"}


def test_recheck_since_a_date_leaves_older_calls_alone(sample_inbox, storage_settings, tmp_path):
    from callreview.flows.inbox import process_inbox

    with _api():
        process_inbox(str(sample_inbox), storage=storage_settings)
    # CR-SAMPLE-001 was received 2017-06-02 and 002 on 2017-06-05; 003 has no log (taken in today).
    summary = _recheck(storage_settings, _changed_rules(tmp_path), "--since", "2017-06-03")
    assert summary["checked"] == 2
    current = _current(storage_settings)
    assert current["CR-SAMPLE-001"][:2] == (current["CR-SAMPLE-001"][0], "consistent")
    assert current["CR-SAMPLE-001"][0] != "test-recheck-2"
    assert {current["CR-SAMPLE-002"][0], current["CR-SAMPLE-003"][0]} == {"test-recheck-2"}
