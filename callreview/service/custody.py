"""Chain of custody and retention of the archive, each action audited in the transaction that does it.

- `clean_archive_leftovers`: remove the temp files killed archive copies left behind (batch runs start here).
"""
from __future__ import annotations

from pathlib import Path

from sqlmodel import Session

from callreview.storage.archive import remove_stale_incoming
from callreview.storage.audit import record_event


def clean_archive_leftovers(session: Session, actor: str, archive_dir: Path) -> int:
    """Remove temp files that killed archive copies left behind (audited when there were any); return how many."""
    removed = remove_stale_incoming(archive_dir)
    if removed:
        record_event(session, actor=actor, action="archive_cleanup", object_type="archive",
                     object_id=str(archive_dir), detail={"removed": [p.name for p in removed]})
        session.commit()
    return len(removed)
