"""one outbox protocol: calendar writes get a lease, a due time and a queued stamp; mail gets
a lease token

Revision ID: o24_one_outbox
Revises: i13_notifications
Create Date: 2026-12-05 09:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'o24_one_outbox'
down_revision = 'i13_notifications'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('calendar_writes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('enqueued_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('lease_token', sa.String(length=32), nullable=True))
        batch_op.create_index('ix_calendar_writes_status', ['status'], unique=False)
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lease_token', sa.String(length=32), nullable=True))
    # Writes that an outage ended as skipped are lost events: they wait for the sweeper again.
    op.execute("UPDATE calendar_writes SET status = 'pending' "
               "WHERE status = 'skipped' AND detail = 'no working receiving calendar'")


def downgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_column('lease_token')
    with op.batch_alter_table('calendar_writes', schema=None) as batch_op:
        batch_op.drop_index('ix_calendar_writes_status')
        batch_op.drop_column('lease_token')
        batch_op.drop_column('lease_until')
        batch_op.drop_column('enqueued_at')
        batch_op.drop_column('next_attempt_at')
