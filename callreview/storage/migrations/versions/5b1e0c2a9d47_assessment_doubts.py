"""assessment.doubts_json: the weak evidence an uncertain_evidence verdict hinges on

Revision ID: 5b1e0c2a9d47
Revises: d80bf0cc564a
Create Date: 2026-12-06 21:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '5b1e0c2a9d47'
down_revision = 'd80bf0cc564a'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing assessments had no doubts: "[]" for each of them.
    with op.batch_alter_table('assessment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('doubts_json', sa.Text(), nullable=False, server_default='[]'))


def downgrade() -> None:
    with op.batch_alter_table('assessment', schema=None) as batch_op:
        batch_op.drop_column('doubts_json')
