"""Schema migrations (Alembic), for SQLite and PostgreSQL alike.

`upgrade(engine)` brings a database to the newest revision; `make_engine` calls it, so a new data folder
or an empty PostgreSQL database is ready on first use and an old one is migrated in place. New table
changes need a revision: `python -m callreview.storage.migrate revision "what changed"` autogenerates one.
"""
from __future__ import annotations

import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).with_name("migrations")
# The search index (the FTS5 table and its shadow tables, the PostgreSQL GIN index, the counted-tag index),
# all named segment_fts*, is made by revision aa885ebc9d1f but is not described by the table models, so
# autogenerate must neither drop it nor report it as a difference.
_UNMANAGED_PREFIXES = ("segment_fts",)


def load_models() -> None:
    """Import every module that defines tables, so SQLModel.metadata is complete."""
    import importlib

    for name in ("callreview.storage.tables", "callreview.storage.users", "callreview.storage.throttle",
                 "callreview.storage.conflicts"):
        importlib.import_module(name)


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    return not (type_ in ("table", "index") and name and name.startswith(_UNMANAGED_PREFIXES))


def _config(connection=None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every migration up to `revision` in one transaction."""
    with engine.begin() as connection:
        command.upgrade(_config(connection), revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Undo every migration after `revision` in one transaction (e.g. to go back to an older release)."""
    with engine.begin() as connection:
        command.downgrade(_config(connection), revision)


def _cli(argv: list[str]) -> None:
    from sqlalchemy import create_engine

    from callreview.storage.settings import StorageSettings

    if len(argv) != 2 or argv[0] != "revision":
        raise SystemExit('usage: python -m callreview.storage.migrate revision "message"')
    # A plain engine: this module sits below storage.db (which migrates on open), so it never imports it.
    engine = create_engine(StorageSettings().url)
    with engine.begin() as connection:
        command.revision(_config(connection), message=argv[1], autogenerate=True)


if __name__ == "__main__":
    _cli(sys.argv[1:])
