"""routing and outcomes: owner routing, round-robin weights and caps, minimum notice, the
new Lead's owner, the booking's routing decision and outcome

Revision ID: r29_routing
Revises: v28_meetings
Create Date: 2026-12-05 12:45:00

"""
from alembic import op
import sqlalchemy as sa

revision = 'r29_routing'
down_revision = 'v28_meetings'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('booking_pages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('min_notice_minutes', sa.Integer(), server_default='60',
                                      nullable=False))
        batch_op.add_column(sa.Column('route_by_owner', sa.Boolean(), server_default='0',
                                      nullable=False))
        batch_op.add_column(sa.Column('route_owner_source', sa.String(length=20),
                                      server_default='record', nullable=False))
        batch_op.add_column(sa.Column('sf_lead_owner', sa.String(length=20),
                                      server_default='rules', nullable=False))
        batch_op.add_column(sa.Column('sf_outcome_field', sa.String(length=80),
                                      server_default='', nullable=False))
        batch_op.add_column(sa.Column('sf_outcome_held', sa.String(length=80),
                                      server_default='Held', nullable=False))
        batch_op.add_column(sa.Column('sf_outcome_no_show', sa.String(length=80),
                                      server_default='No Show', nullable=False))
    with op.batch_alter_table('form_fields', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sf_event_field', sa.String(length=100), server_default='',
                                      nullable=False))
    with op.batch_alter_table('page_members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('weight', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('daily_cap', sa.Integer(), server_default='0',
                                      nullable=False))
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('routing', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('outcome', sa.String(length=20), server_default='',
                                      nullable=False))
        batch_op.add_column(sa.Column('outcome_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_column('outcome_at')
        batch_op.drop_column('outcome')
        batch_op.drop_column('routing')
    with op.batch_alter_table('form_fields', schema=None) as batch_op:
        batch_op.drop_column('sf_event_field')
    with op.batch_alter_table('page_members', schema=None) as batch_op:
        batch_op.drop_column('daily_cap')
        batch_op.drop_column('weight')
    with op.batch_alter_table('booking_pages', schema=None) as batch_op:
        batch_op.drop_column('sf_outcome_no_show')
        batch_op.drop_column('sf_outcome_held')
        batch_op.drop_column('sf_outcome_field')
        batch_op.drop_column('sf_lead_owner')
        batch_op.drop_column('route_owner_source')
        batch_op.drop_column('route_by_owner')
        batch_op.drop_column('min_notice_minutes')
