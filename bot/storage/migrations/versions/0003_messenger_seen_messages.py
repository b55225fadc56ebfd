"""messenger seen message ids

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 06:40:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('messenger_seen_messages',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('mid', sa.String(length=255), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_messenger_seen_messages')),
    sa.UniqueConstraint('mid', name=op.f('uq_messenger_seen_messages_mid'))
    )
    with op.batch_alter_table('messenger_seen_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_messenger_seen_messages_seen_at'), ['seen_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('messenger_seen_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_messenger_seen_messages_seen_at'))

    op.drop_table('messenger_seen_messages')
