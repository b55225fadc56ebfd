"""content embeddings (vectors of passages and sentences, keyed by a hash of model and text)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 15:30:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('content_embeddings',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('vector', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_content_embeddings'))
    )


def downgrade() -> None:
    op.drop_table('content_embeddings')
