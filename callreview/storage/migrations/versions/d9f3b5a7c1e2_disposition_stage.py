"""disposition.stage: the blind findings and the adjudication of a double review

Revision ID: d9f3b5a7c1e2
Revises: c2a8e0f4d6b1
Create Date: 2026-12-07 01:20:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = 'd9f3b5a7c1e2'
down_revision = 'c2a8e0f4d6b1'
branch_labels = None
depends_on = None


# Plain ALTER TABLE (SQLite 3.35 and later): a batch would copy a table others refer to.

def upgrade() -> None:
    # Dispositions made before double review keep NULL: a single reviewer's.
    op.add_column('disposition', sa.Column('stage', sqlmodel.sql.sqltypes.AutoString(), nullable=True))


def downgrade() -> None:
    op.drop_column('disposition', 'stage')
