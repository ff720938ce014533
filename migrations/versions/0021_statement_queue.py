"""Large bank statements are imported by the background task: the upload keeps the columns
chosen for it until then.

Revision ID: statement_queue
Revises: product_opt_out
"""

import sqlalchemy as sa
from alembic import op

revision = "statement_queue"
down_revision = "product_opt_out"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("bank_statement_upload") as batch:
        batch.add_column(sa.Column("mapping", sa.Text(), nullable=False, server_default=""))


def downgrade():
    with op.batch_alter_table("bank_statement_upload") as batch:
        batch.drop_column("mapping")
