"""Stamps: a random serial for the GS1 Digital Link printed on new runs (AI 21 not guessable).

Revision ID: stamp_dl_serial
Revises: statistics
"""

import sqlalchemy as sa
from alembic import op

revision = "stamp_dl_serial"
down_revision = "order_line_stars"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("stamp", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dl_serial", sa.String(length=20), nullable=True))
        batch_op.create_index("ix_stamp_dl_serial", ["dl_serial"], unique=True)


def downgrade():
    with op.batch_alter_table("stamp", schema=None) as batch_op:
        batch_op.drop_index("ix_stamp_dl_serial")
        batch_op.drop_column("dl_serial")
