"""`callreview user add` and `callreview web` (callreview/cli/web.py)."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from callreview.cli.app import app
from callreview.service.auth import verify_password
from callreview.storage.db import dispose_engines, open_session
from callreview.storage.settings import StorageSettings
from callreview.storage.users import find_user
from tests.web.conftest import PASSWORD


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    # The CLI reads its settings from the environment, as it does for users.
    monkeypatch.setenv("CALLREVIEW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CALLREVIEW_DATABASE_URL", raising=False)
    yield StorageSettings(data_dir=tmp_path / "data")
    dispose_engines()


def test_user_add_reads_the_password_from_stdin_and_prints_json(cli_env):
    result = CliRunner().invoke(app, ["user", "add", "alice", "--role", "reviewer", "--password-stdin", "--json"],
                                input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)
    assert (row["username"], row["role"], row["active"]) == ("alice", "reviewer", True)
    assert row["created_by"].startswith("cli:") and "password" not in json.dumps(row)
    with open_session(cli_env) as s:
        assert verify_password(PASSWORD, find_user(s, "alice").password_hash)


def test_user_add_prompts_for_the_password_twice(cli_env):
    result = CliRunner().invoke(app, ["user", "add", "sam", "--role", "supervisor"],
                                input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "user created" in result.stdout


@pytest.mark.parametrize("args,stdin,problem", [
    (["bob", "--role", "root"], PASSWORD, "--role must be one of reviewer, supervisor, admin"),
    (["bob", "--role", "reviewer"], "short", "use at least 12"),
    (["Bob!", "--role", "reviewer"], PASSWORD, "must be 2-64 characters"),
])
def test_user_add_refuses_bad_input_with_the_reason(cli_env, args, stdin, problem):
    result = CliRunner().invoke(app, ["user", "add", *args, "--password-stdin"], input=stdin + "\n")
    assert result.exit_code != 0 and problem in " ".join(result.output.split())


def test_user_add_refuses_a_taken_name(cli_env):
    runner = CliRunner()
    runner.invoke(app, ["user", "add", "alice", "--role", "reviewer", "--password-stdin"], input=PASSWORD + "\n")
    result = runner.invoke(app, ["user", "add", "alice", "--role", "admin", "--password-stdin"], input=PASSWORD + "\n")
    assert result.exit_code == 1 and "already exists" in result.output


def test_web_command_documents_host_and_port():
    result = CliRunner().invoke(app, ["web", "--help"])
    assert result.exit_code == 0 and "--host" in result.output and "--port" in result.output


def test_user_conflict_add_list_and_remove(cli_env):
    runner = CliRunner()
    assert runner.invoke(app, ["user", "add", "alice", "--role", "reviewer", "--password-stdin"],
                         input=PASSWORD + "\n").exit_code == 0
    added = runner.invoke(app, ["user", "conflict", "add", "alice", "Sgt. P. Lowry", "--reason", "brother-in-law",
                                "--json"])
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout)["officer"] == "Sgt. P. Lowry"
    again = runner.invoke(app, ["user", "conflict", "add", "alice", "sergeant p lowry", "--reason", "same man"])
    assert again.exit_code == 1 and "already has a conflict" in " ".join(again.stderr.split())
    listed = json.loads(runner.invoke(app, ["user", "conflict", "list", "alice", "--json"]).stdout)
    assert [(c["user"], c["officer"], c["reason"]) for c in listed] == [("alice", "Sgt. P. Lowry", "brother-in-law")]
    removed = runner.invoke(app, ["user", "conflict", "remove", "alice", "P. Lowry"])
    assert removed.exit_code == 0 and json.loads(runner.invoke(app, ["user", "conflict", "list", "--json"]).stdout) == []
