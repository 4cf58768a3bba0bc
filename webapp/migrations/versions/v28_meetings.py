"""meetings: a location per page, the booking's online meeting, Zoom accounts, Reply-To

Revision ID: v28_meetings
Revises: k27_push_channels
Create Date: 2026-12-05 12:30:00

"""
from alembic import op
import sqlalchemy as sa

revision = 'v28_meetings'
down_revision = 'k27_push_channels'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('booking_pages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('location_kind', sa.String(length=20), server_default='',
                                      nullable=False))
        batch_op.add_column(sa.Column('location_value', sa.String(length=500),
                                      server_default='', nullable=False))
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reply_to', sa.String(length=254), server_default='',
                                      nullable=False))
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone', sa.String(length=40), server_default='',
                                      nullable=False))
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('note', sa.String(length=20), server_default='',
                                      nullable=False))
    with op.batch_alter_table('calendar_writes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('conference', sa.String(length=20), server_default='',
                                      nullable=False))
    op.create_table(
        'meetings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('booking_id', sa.Integer(), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('provider', sa.String(length=20), nullable=False),
        sa.Column('action', sa.String(length=20), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('join_url', sa.String(length=1000), nullable=False),
        sa.Column('details', sa.JSON(), nullable=False),
        sa.Column('remote_id', sa.String(length=255), nullable=False),
        sa.Column('detail', sa.String(length=1000), nullable=False),
        sa.Column('announced_url', sa.String(length=1000), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('enqueued_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('lease_token', sa.String(length=32), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['booking_id'], ['bookings.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['member_id'], ['members.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_meetings_organization_id', 'meetings', ['organization_id'])
    op.create_index('ix_meetings_booking_id', 'meetings', ['booking_id'])
    op.create_index('ix_meetings_status', 'meetings', ['status'])
    op.create_table(
        'meeting_accounts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('provider', sa.String(length=20), nullable=False),
        sa.Column('username', sa.String(length=254), nullable=False),
        sa.Column('credentials_enc', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('status_reason', sa.String(length=500), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['member_id'], ['members.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_meeting_accounts_organization_id', 'meeting_accounts',
                    ['organization_id'])
    op.create_index('ix_meeting_accounts_member_id', 'meeting_accounts', ['member_id'])


def downgrade():
    op.drop_table('meeting_accounts')
    op.drop_table('meetings')
    with op.batch_alter_table('calendar_writes', schema=None) as batch_op:
        batch_op.drop_column('conference')
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_column('note')
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_column('phone')
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_column('reply_to')
    with op.batch_alter_table('booking_pages', schema=None) as batch_op:
        batch_op.drop_column('location_kind')
        batch_op.drop_column('location_value')
