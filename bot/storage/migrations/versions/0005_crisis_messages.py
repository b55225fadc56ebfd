"""crisis messages (driftsmelding)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 08:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('crisis_messages',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('municipality', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=255), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('texts', sa.JSON(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crisis_messages'))
    )
    with op.batch_alter_table('crisis_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crisis_messages_municipality'), ['municipality'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('crisis_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crisis_messages_municipality'))
    op.drop_table('crisis_messages')
