"""Order lines keep the OCOP stars the product showed when sold (selling statistics).

Revision ID: order_line_stars
Revises: statistics
Create Date: 2026-11-30 17:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'order_line_stars'
down_revision = 'statistics'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('shop_order_line', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ocop_stars', sa.SmallInteger(), nullable=True))


def downgrade():
    with op.batch_alter_table('shop_order_line', schema=None) as batch_op:
        batch_op.drop_column('ocop_stars')
