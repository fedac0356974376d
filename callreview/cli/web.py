"""`callreview web` (serve the review and search app) and `callreview user add` (create an account)."""
from __future__ import annotations

import sys

import typer

from callreview.cli.actor import cli_actor
from callreview.cli.output import JsonOption, emit_json, emit_table, fail

user_app = typer.Typer(help="Web app accounts.", no_args_is_help=True)


def web(host: str = typer.Option("127.0.0.1", help="Address to listen on (keep 127.0.0.1 behind a TLS proxy)."),
        port: int = typer.Option(8000, min=1, max=65535, help="Port to listen on.")) -> None:
    """Serve the review and search web app.

    Example: callreview run samples/ && callreview user add alice --role reviewer && callreview web
    """
    import uvicorn

    # The app is named, not imported: the command line sits beside the web layer, not above it.
    # server_header off: no need to tell the network which server answers.
    uvicorn.run("callreview.web.app:create_app", factory=True, host=host, port=port, server_header=False,
                log_level="info")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@user_app.command("add")
def user_add(name: str = typer.Argument(..., help="Sign-in name: lower-case letters, digits, '.', '_' or '-'."),
             role: str = typer.Option(..., "--role", help="reviewer, supervisor, admin or lead (adjudicates double reviews)."),
             password_stdin: bool = typer.Option(False, "--password-stdin",
                                                 help="Read the password from the first line of stdin."),
             json_out: bool = JsonOption) -> None:
    """Create a web app user (prompts for the password unless --password-stdin).

    Example: printf '%s\\n' "$PASSWORD" | callreview user add alice --role reviewer --password-stdin
    """
    from callreview.service.auth import PasswordTooShort
    from callreview.service.users import InvalidUsername, create_user
    from callreview.storage.db import open_session
    from callreview.storage.settings import StorageSettings
    from callreview.storage.users import ROLES, UserExists

    if role not in ROLES:
        raise fail(f"--role must be one of {', '.join(ROLES)}, got {role!r}", 2)
    password = _read_password(password_stdin)
    with open_session(StorageSettings()) as session:
        try:
            user = create_user(session, username=name, password=password, role=role, actor=cli_actor())
        except (InvalidUsername, PasswordTooShort, UserExists) as exc:
            raise fail(str(exc)) from None
        session.commit()
    row = {"username": user.username, "role": user.role, "active": user.active,
           "created_at": user.created_at.isoformat(), "created_by": user.created_by}
    if json_out:
        emit_json(row)
        return
    emit_table("user created", list(row), [list(row.values())])


conflict_app = typer.Typer(help="Recusal: the officers whose calls a reviewer may not judge.", no_args_is_help=True)
user_app.add_typer(conflict_app, name="conflict")


def _conflict_row(c) -> dict:
    return {"user": c.username, "officer": c.officer, "reason": c.reason, "added_by": c.created_by,
            "added_at": c.created_at.isoformat()}


@conflict_app.command("add")
def conflict_add(name: str = typer.Argument(..., help="The reviewer's sign-in name."),
                 officer: str = typer.Argument(..., help='The officer as decision logs name them, e.g. "Sgt. P. Lowry".'),
                 reason: str = typer.Option(..., "--reason", help="What ties them: kept in the audit log."),
                 json_out: bool = JsonOption) -> None:
    """Recuse a reviewer from every call of an officer (rank and punctuation do not matter).

    Example: callreview user conflict add alice "Sgt. P. Lowry" --reason "brother-in-law"
    """
    from callreview.service.conflicts import ConflictRefused, add_conflict
    from callreview.storage.db import open_session
    from callreview.storage.settings import StorageSettings

    with open_session(StorageSettings()) as session:
        try:
            row = _conflict_row(add_conflict(session, cli_actor(), name, officer, reason))
        except ConflictRefused as exc:
            raise fail(str(exc)) from None
    if json_out:
        emit_json(row)
        return
    emit_table("conflict added", list(row), [list(row.values())])


@conflict_app.command("list")
def conflict_list(name: str = typer.Argument(None, help="Only this reviewer's conflicts."),
                  json_out: bool = JsonOption) -> None:
    """List recusals (all, or one reviewer's).

    Example: callreview user conflict list alice --json
    """
    from callreview.service.conflicts import view_conflicts
    from callreview.storage.db import open_session
    from callreview.storage.settings import StorageSettings

    with open_session(StorageSettings()) as session:
        rows = [_conflict_row(c) for c in view_conflicts(session, cli_actor(), name)]
    if json_out:
        emit_json(rows)
        return
    emit_table("conflicts", ["user", "officer", "reason", "added_by", "added_at"], [list(r.values()) for r in rows])


@conflict_app.command("remove")
def conflict_remove(name: str = typer.Argument(..., help="The reviewer's sign-in name."),
                    officer: str = typer.Argument(..., help="The officer, as the conflict names them.")) -> None:
    """End a recusal (the audit log keeps it, and who ended it).

    Example: callreview user conflict remove alice "Sgt. P. Lowry"
    """
    from callreview.service.conflicts import ConflictRefused, remove_conflict
    from callreview.storage.db import open_session
    from callreview.storage.settings import StorageSettings

    with open_session(StorageSettings()) as session:
        try:
            remove_conflict(session, cli_actor(), name, officer)
        except ConflictRefused as exc:
            raise fail(str(exc)) from None
    typer.echo(f"{name}: conflict with {officer} removed")


def register(app: typer.Typer) -> None:
    app.command("web")(web)
    app.add_typer(user_app, name="user")
