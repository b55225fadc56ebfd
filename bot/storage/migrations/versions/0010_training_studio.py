"""trainer studio: inbox decisions and the change log

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 19:40:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('training_decisions',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('record_id', ID, nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=False),
    sa.Column('intent', sa.String(length=64), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('decided_by', sa.String(length=255), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_decisions')),
    sa.UniqueConstraint('record_id', name=op.f('uq_training_decisions_record_id'))
    )
    op.create_table('training_changes',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user', sa.String(length=255), nullable=False),
    sa.Column('what', sa.String(length=64), nullable=False),
    sa.Column('target', sa.String(length=255), nullable=False),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_changes'))
    )
    with op.batch_alter_table('training_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_changes_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_training_changes_target'), ['target'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('training_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_changes_target'))
        batch_op.drop_index(batch_op.f('ix_training_changes_at'))
    op.drop_table('training_changes')
    op.drop_table('training_decisions')
