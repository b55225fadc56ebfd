"""conversation secrets (hashes of the per-conversation secrets of REST and widget clients)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 16:10:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('conversation_secrets',
    sa.Column('conversation_id', sa.String(length=200), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('conversation_id', name=op.f('pk_conversation_secrets'))
    )


def downgrade() -> None:
    op.drop_table('conversation_secrets')
