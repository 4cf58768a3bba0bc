"""booking pages: how long before the start a customer may still reschedule or cancel

Revision ID: s25_change_cutoff
Revises: o24_one_outbox
Create Date: 2026-12-05 09:40:00

"""
from alembic import op
import sqlalchemy as sa

revision = 's25_change_cutoff'
down_revision = 'o24_one_outbox'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('booking_pages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('change_cutoff_minutes', sa.Integer(), server_default='0',
                                      nullable=False))


def downgrade():
    with op.batch_alter_table('booking_pages', schema=None) as batch_op:
        batch_op.drop_column('change_cutoff_minutes')
