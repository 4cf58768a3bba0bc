"""sync_records: the booking's time each unit of work wrote, for 同期ログ

Revision ID: o31_sync_booking_time
Revises: o31_org_logo
Create Date: 2026-12-05 17:20:00

"""
from alembic import op
import sqlalchemy as sa

revision = 'o31_sync_booking_time'
down_revision = 'o31_org_logo'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('sync_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('booking_start_at', sa.DateTime(timezone=True),
                                      nullable=True))


def downgrade():
    with op.batch_alter_table('sync_records', schema=None) as batch_op:
        batch_op.drop_column('booking_start_at')
