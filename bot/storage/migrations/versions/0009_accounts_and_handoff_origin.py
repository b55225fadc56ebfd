"""disabled staff accounts; the (keyed) client address a handoff came from

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 18:10:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('staff_users') as batch:
        batch.add_column(sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('handoffs') as batch:
        batch.add_column(sa.Column('client_key', sa.String(length=64), nullable=True))
        batch.create_index(batch.f('ix_handoffs_client_key'), ['client_key'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('handoffs') as batch:
        batch.drop_index(batch.f('ix_handoffs_client_key'))
        batch.drop_column('client_key')
    with op.batch_alter_table('staff_users') as batch:
        batch.drop_column('disabled_at')
