"""transcript.corrected_by and .correction_reason: a reviewer's correction is a version of its own

Revision ID: c2a8e0f4d6b1
Revises: b7d41c2e9a10
Create Date: 2026-12-07 00:45:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = 'c2a8e0f4d6b1'
down_revision = 'b7d41c2e9a10'
branch_labels = None
depends_on = None


# Plain ALTER TABLE, not a batch: SQLite (3.35 and later) adds and drops these columns in place, where a
# batch would copy the table that segments and gaps refer to and trip their foreign keys.

def upgrade() -> None:
    # Versions made by Whisper or imported keep NULL in both.
    op.add_column('transcript', sa.Column('corrected_by', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    op.add_column('transcript', sa.Column('correction_reason', sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column('transcript', 'correction_reason')
    op.drop_column('transcript', 'corrected_by')
