"""bookings, sync_records: indexes that bound each of 分析's counts to the period (O7)

Revision ID: o7_analytics_indexes
Revises: o31_sync_booking_time
Create Date: 2026-12-05 17:40:00

"""
from alembic import op

revision = 'o7_analytics_indexes'
down_revision = 'o31_sync_booking_time'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_bookings_org_page_created', 'bookings',
                    ['organization_id', 'page_id', 'created_at'])
    op.create_index('ix_bookings_org_cancelled', 'bookings',
                    ['organization_id', 'status', 'cancelled_at'])
    op.create_index('ix_bookings_org_outcome', 'bookings',
                    ['organization_id', 'outcome', 'outcome_at'])
    op.create_index('ix_sync_records_org_status_created', 'sync_records',
                    ['organization_id', 'status', 'created_at'])
    op.create_index('ix_sync_records_org_action_created', 'sync_records',
                    ['organization_id', 'action', 'created_at'])
    op.drop_index('ix_sync_records_org_created', table_name='sync_records')


def downgrade():
    op.create_index('ix_sync_records_org_created', 'sync_records',
                    ['organization_id', 'created_at'])
    op.drop_index('ix_sync_records_org_action_created', table_name='sync_records')
    op.drop_index('ix_sync_records_org_status_created', table_name='sync_records')
    op.drop_index('ix_bookings_org_outcome', table_name='bookings')
    op.drop_index('ix_bookings_org_cancelled', table_name='bookings')
    op.drop_index('ix_bookings_org_page_created', table_name='bookings')
