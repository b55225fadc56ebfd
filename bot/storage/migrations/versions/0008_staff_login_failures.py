"""staff sign-in failures, shared by every staff app process

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 16:30:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('staff_login_failures',
    sa.Column('key', sa.String(length=600), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('window_started', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_staff_login_failures'))
    )


def downgrade() -> None:
    op.drop_table('staff_login_failures')
