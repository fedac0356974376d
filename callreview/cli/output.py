"""How CLI commands print: a rich table for people, or the same rows as JSON and nothing else.

Everything printed here is data (transcript text, sidecar fields, file names, user input), so it goes to
rich as `Text`, never as markup: "[inaudible]" must stay on screen and a stray "[/]" must not crash a
command. Styling is added only through `Text` styles (`marked` below), never by building markup strings.
"""
from __future__ import annotations

import json
import sys
from typing import Iterable

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

JsonOption = typer.Option(False, "--json", help="Print JSON only (no table, no progress).")

# Piped output is not cut to 80 columns: a reviewer's `callreview queue > queue.txt` keeps whole reasons.
stdout = Console(width=None if sys.stdout.isatty() else 200)
stderr = Console(stderr=True, soft_wrap=True)


def emit_json(data) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")


def _plain(value) -> Text:
    """A cell or title as literal text; a `Text` (already styled on purpose) passes unchanged."""
    if isinstance(value, Text):
        return value
    return Text("" if value is None else str(value))


def emit_table(title: str, columns: list[str], rows: Iterable[Iterable]) -> None:
    """Print rows as a table; every value is shown literally (see the module docstring)."""
    table = Table(title=_plain(title), show_lines=False)
    for col in columns:
        table.add_column(_plain(col))
    for row in rows:
        table.add_row(*[_plain(v) for v in row])
    stdout.print(table)


def marked(text: str, start: str, end: str, style: str = "reverse") -> Text:
    """`text` with the stretches between `start` and `end` markers shown in `style` (markers dropped)."""
    out = Text()
    rest = text
    while start in rest:
        before, _, after = rest.partition(start)
        inside, _, rest = after.partition(end)
        out.append(before)
        out.append(inside, style=style)
    out.append(rest)
    return out


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print `message` on stderr and return the Exit to raise (no traceback for expected errors)."""
    stderr.print(Text.assemble(("error:", "red"), " ", message), highlight=False)
    return typer.Exit(code)
