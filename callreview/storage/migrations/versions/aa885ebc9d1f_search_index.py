"""search index: FTS5 over current transcript segments (SQLite), a GIN text index (PostgreSQL), counted tags

Revision ID: aa885ebc9d1f
Revises: 6ac6962b8d45
Create Date: 2026-12-07 10:00:00

Until this revision the index was made outside Alembic (when an engine was made, and again on the
first search that found it missing); a database that already has it keeps it as it is (every statement
is IF NOT EXISTS, and the index is filled only when this revision creates it).

The statements are frozen here, as a migration's must be; `callreview.storage.search` reads this
index: an FTS5 row's rowid is (call_pk << 20) + segment idx (search.CALL_SHIFT), its columns text and
segment_id, and triggers keep it holding the segments of current transcript versions only.
"""
from alembic import op


revision = 'aa885ebc9d1f'
down_revision = '6ac6962b8d45'
branch_labels = None
depends_on = None

_SQLITE_TRIGGERS = ("segment_fts_segment_insert", "segment_fts_segment_delete", "segment_fts_segment_update",
                    "segment_fts_transcript_retired", "segment_fts_transcript_restored")

_SQLITE_UPGRADE = (
    # The index keeps its own copy of the text and keys each row by (call_pk << 20) + segment idx: a call
    # filter is then arithmetic on the rowid plus one set probe, and rowid order is call order. Porter
    # stemming matches PostgreSQL's english configuration; prefix='3' keeps warr* from merging every
    # term that starts with w; detail=full (the default) keeps positions for phrases.
    """CREATE VIRTUAL TABLE IF NOT EXISTS segment_fts USING fts5(
        text, segment_id UNINDEXED, tokenize='porter unicode61 remove_diacritics 2', prefix='3')""",
    # The tag filter reads counted mentions of one kind from this index alone.
    "CREATE INDEX IF NOT EXISTS segment_fts_tag_counted ON tag (kind, assessment_pk) WHERE qualifier IS NULL",
    """CREATE TRIGGER IF NOT EXISTS segment_fts_segment_insert AFTER INSERT ON segment
        BEGIN
          INSERT OR REPLACE INTO segment_fts(rowid, text, segment_id)
            SELECT (call_pk << 20) + new.idx, new.text, new.id FROM transcript
            WHERE id = new.transcript_pk AND is_current;
        END""",
    """CREATE TRIGGER IF NOT EXISTS segment_fts_segment_delete AFTER DELETE ON segment
        BEGIN
          DELETE FROM segment_fts WHERE rowid = (SELECT (call_pk << 20) + old.idx FROM transcript
                                                 WHERE id = old.transcript_pk AND is_current);
        END""",
    """CREATE TRIGGER IF NOT EXISTS segment_fts_segment_update AFTER UPDATE OF text, idx, transcript_pk ON segment
        BEGIN
          DELETE FROM segment_fts WHERE rowid = (SELECT (call_pk << 20) + old.idx FROM transcript
                                                 WHERE id = old.transcript_pk AND is_current);
          INSERT OR REPLACE INTO segment_fts(rowid, text, segment_id)
            SELECT (call_pk << 20) + new.idx, new.text, new.id FROM transcript
            WHERE id = new.transcript_pk AND is_current;
        END""",
    # A superseded version leaves the index, so only the current version is ever searched.
    """CREATE TRIGGER IF NOT EXISTS segment_fts_transcript_retired AFTER UPDATE OF is_current ON transcript
        WHEN old.is_current AND NOT new.is_current
        BEGIN
          DELETE FROM segment_fts WHERE rowid IN (SELECT (old.call_pk << 20) + idx FROM segment
                                                  WHERE transcript_pk = new.id);
        END""",
    """CREATE TRIGGER IF NOT EXISTS segment_fts_transcript_restored AFTER UPDATE OF is_current ON transcript
        WHEN new.is_current AND NOT old.is_current
        BEGIN
          INSERT OR REPLACE INTO segment_fts(rowid, text, segment_id)
            SELECT (new.call_pk << 20) + idx, text, id FROM segment WHERE transcript_pk = new.id;
        END""",
)
_SQLITE_FILL = (
    """INSERT OR REPLACE INTO segment_fts(rowid, text, segment_id)
        SELECT (t.call_pk << 20) + s.idx, s.text, s.id
        FROM segment s JOIN transcript t ON t.id = s.transcript_pk WHERE t.is_current ORDER BY 1""",
    "INSERT INTO segment_fts(segment_fts) VALUES ('optimize')",
)

_PG_UPGRADE = (
    "CREATE INDEX IF NOT EXISTS segment_fts_text ON segment USING gin (to_tsvector('english', text))",
    "CREATE INDEX IF NOT EXISTS segment_fts_tag_counted ON tag (kind, assessment_pk) WHERE qualifier IS NULL",
)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        existed = bind.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'segment_fts'").first() is not None
        for statement in _SQLITE_UPGRADE:
            bind.exec_driver_sql(statement)
        if not existed:
            for statement in _SQLITE_FILL:
                bind.exec_driver_sql(statement)
    elif bind.dialect.name == "postgresql":
        for statement in _PG_UPGRADE:
            bind.exec_driver_sql(statement)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for trigger in _SQLITE_TRIGGERS:
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger}")
        bind.exec_driver_sql("DROP TABLE IF EXISTS segment_fts")
    elif bind.dialect.name == "postgresql":
        bind.exec_driver_sql("DROP INDEX IF EXISTS segment_fts_text")
    bind.exec_driver_sql("DROP INDEX IF EXISTS segment_fts_tag_counted")
