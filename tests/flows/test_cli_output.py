"""callreview.cli.output: what the CLI prints through rich is data, never markup.

Transcripts say "[inaudible]" and sidecars are written by other programs: rich must print both as they
are. Before the fix "[inaudible]" vanished from `show` (rich read it as a style tag) and a "[/]" in any
field crashed `queue`, `show` and `search` with a MarkupError.
"""
import pytest
from typer.testing import CliRunner

from calldata import add_call
from callreview.cli.app import app
from callreview.storage.db import open_session

runner = CliRunner()

OFFICER = "Lt. [/] Reyes [bold]"
TEXT = "He said [inaudible] then [/] knock on the door [red]now[/red]"


@pytest.fixture
def db(storage_settings, monkeypatch):
    """One mismatch whose transcript and sidecar fields are full of square brackets."""
    monkeypatch.setenv("CALLREVIEW_DATABASE_URL", storage_settings.url)
    monkeypatch.setenv("CALLREVIEW_DATA_DIR", str(storage_settings.data_dir))
    with open_session(storage_settings) as session:
        add_call(session, "CR-[b]-1", [("officer", "Go ahead."), ("ice", TEXT)], officer=OFFICER,
                 basis=("criminal_warrant",), verdict="mismatch", reasons=("basis_not_in_transcript",),
                 tags=(("door_knock", 1, None),), notes="[/]")
        session.commit()
    return storage_settings


def cli(*args):
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    return result


def flat(text: str) -> str:
    """Table cells may wrap: compare with the table's borders and line breaks taken out."""
    return " ".join(text.replace("│", " ").replace("┃", " ").split())


def test_queue_prints_bracketed_fields_as_they_are(db):
    result = cli("queue")
    assert result.exit_code == 0, result.output
    assert OFFICER in flat(result.stdout) and "CR-[b]-1" in flat(result.stdout)


def test_show_keeps_inaudible_and_stray_closing_tags(db):
    result = cli("show", "CR-[b]-1")
    assert result.exit_code == 0, result.output
    out = flat(result.stdout)
    assert TEXT in out and OFFICER in out and "call CR-[b]-1" in out


def test_search_prints_bracketed_snippets_and_query(db):
    result = cli("search", "knock", "--officer", "reyes")
    assert result.exit_code == 0, result.output
    out = flat(result.stdout)
    # PostgreSQL's snippet may end inside the last tag; the brackets before it must all be there.
    assert "[inaudible] then [/] knock on the door [red]now[/red" in out and OFFICER in out
    assert "search knock" in out


def test_search_title_with_brackets_in_the_query(db):
    result = cli("search", '"[inaudible]"')
    assert result.exit_code == 0, result.output
    assert 'search "[inaudible]"' in flat(result.stdout) and "CR-[b]-1" in flat(result.stdout)


def test_errors_print_user_text_as_it_is(db):
    result = cli("show", "CR-[/]-404")
    assert result.exit_code == 1
    assert "no call with id 'CR-[/]-404'" in flat(result.stderr)
    result = cli("search", "[/]")
    assert result.exit_code == 2 and "search query '[/]'" in flat(result.stderr)


def test_a_warning_prints_even_when_a_root_handler_holds_a_closed_stream(db, tmp_path, monkeypatch):
    """Prefect's root console handler keeps the stderr it first saw; once closed it printed tracebacks."""
    import io
    import logging

    stale = io.StringIO()
    stale.close()
    root_handler = logging.StreamHandler(stale)
    logging.getLogger().addHandler(root_handler)
    try:
        # A key file that does not exist yet makes the audit log warn that it created one.
        monkeypatch.setenv("CALLREVIEW_AUDIT_KEY_FILE", str(tmp_path / "fresh" / "audit.key"))
        result = cli("search", "knock")
    finally:
        logging.getLogger().removeHandler(root_handler)
    assert result.exit_code == 0, result.output
    assert "Logging error" not in result.output
    assert "created a new audit key" in result.stderr
