"""Statistics summaries: daily counts per metric and producer, and when they were refreshed.

Revision ID: statistics
Revises: 0001_initial
Create Date: 2026-11-30 16:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'statistics'
down_revision = 'shop'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('stat_daily',
    sa.Column('metric', sa.String(length=32), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('producer_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('province_code', sa.Integer(), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('metric', 'day', 'producer_id', name=op.f('pk_stat_daily'))
    )
    with op.batch_alter_table('stat_daily', schema=None) as batch_op:
        batch_op.create_index('ix_stat_daily_metric_province_day', ['metric', 'province_code', 'day'], unique=False)

    op.create_table('stat_refresh',
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('refreshed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('seconds', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('source', name=op.f('pk_stat_refresh'))
    )


def downgrade():
    op.drop_table('stat_refresh')
    with op.batch_alter_table('stat_daily', schema=None) as batch_op:
        batch_op.drop_index('ix_stat_daily_metric_province_day')

    op.drop_table('stat_daily')
