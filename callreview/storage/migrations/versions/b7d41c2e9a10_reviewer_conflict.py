"""reviewer_conflict: the officers each reviewer is recused from

Revision ID: b7d41c2e9a10
Revises: f8e1dc6ee898
Create Date: 2026-12-07 00:40:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = 'b7d41c2e9a10'
down_revision = 'f8e1dc6ee898'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'reviewer_conflict',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('username', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('officer', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('officer_key', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('username', 'officer_key'),
    )
    with op.batch_alter_table('reviewer_conflict', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reviewer_conflict_username'), ['username'], unique=False)
        batch_op.create_index(batch_op.f('ix_reviewer_conflict_officer_key'), ['officer_key'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('reviewer_conflict', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reviewer_conflict_officer_key'))
        batch_op.drop_index(batch_op.f('ix_reviewer_conflict_username'))
    op.drop_table('reviewer_conflict')
