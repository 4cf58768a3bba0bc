"""organizations: the availability version that keys the public pages' shared cache; the
dashboard's period indexes

Revision ID: a30_availability_version
Revises: r29_routing
Create Date: 2026-12-05 13:10:00

"""
from alembic import op
import sqlalchemy as sa

revision = 'a30_availability_version'
down_revision = 'r29_routing'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('availability_version', sa.Integer(), server_default='0',
                                      nullable=False))
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('previous_start_at', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('previous_end_at', sa.DateTime(timezone=True),
                                      nullable=True))
    op.create_index('ix_bookings_org_created', 'bookings', ['organization_id', 'created_at'])
    op.create_index('ix_sync_records_org_created', 'sync_records',
                    ['organization_id', 'created_at'])


def downgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_column('previous_end_at')
        batch_op.drop_column('previous_start_at')
    op.drop_index('ix_sync_records_org_created', table_name='sync_records')
    op.drop_index('ix_bookings_org_created', table_name='bookings')
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_column('availability_version')
