"""How CLI commands print: a rich table for people, or the same rows as JSON and nothing else."""
from __future__ import annotations

import json
import sys
from typing import Iterable

import typer
from rich.console import Console
from rich.table import Table

JsonOption = typer.Option(False, "--json", help="Print JSON only (no table, no progress).")

# Piped output is not cut to 80 columns: a reviewer's `callreview queue > queue.txt` keeps whole reasons.
stdout = Console(width=None if sys.stdout.isatty() else 200)
stderr = Console(stderr=True, soft_wrap=True)


def emit_json(data) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")


def emit_table(title: str, columns: list[str], rows: Iterable[Iterable]) -> None:
    table = Table(title=title, show_lines=False)
    for col in columns:
        table.add_column(col)
    for row in rows:
        table.add_row(*["" if v is None else str(v) for v in row])
    stdout.print(table)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print `message` on stderr and return the Exit to raise (no traceback for expected errors)."""
    stderr.print(f"[red]error:[/red] {message}", highlight=False, markup=True)
    return typer.Exit(code)
