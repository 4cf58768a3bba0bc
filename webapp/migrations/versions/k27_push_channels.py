"""push channels on members' calendars (K8): Google watch channels, Graph subscriptions

Revision ID: k27_push_channels
Revises: s25_change_cutoff
Create Date: 2026-12-05 10:00:00

"""
from alembic import op
import sqlalchemy as sa

revision = 'k27_push_channels'
down_revision = 's25_change_cutoff'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'calendar_channels',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('connection_id', sa.Integer(), nullable=False),
        sa.Column('calendar_id', sa.Integer(), nullable=False),
        sa.Column('channel_id', sa.String(length=64), nullable=False),
        sa.Column('ref', sa.String(length=255), nullable=False),
        sa.Column('secret_hash', sa.String(length=64), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['calendar_id'], ['member_calendars.id'],
                                name=op.f('fk_calendar_channels_calendar_id_member_calendars'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['connection_id'], ['calendar_connections.id'],
                                name=op.f('fk_calendar_channels_connection_id_calendar_connections'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'],
                                name=op.f('fk_calendar_channels_organization_id_organizations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_channels')),
        sa.UniqueConstraint('channel_id', name=op.f('uq_calendar_channels_channel_id')),
    )
    with op.batch_alter_table('calendar_channels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendar_channels_calendar_id'), ['calendar_id'])
        batch_op.create_index(batch_op.f('ix_calendar_channels_connection_id'), ['connection_id'])
        batch_op.create_index(batch_op.f('ix_calendar_channels_organization_id'),
                              ['organization_id'])
        batch_op.create_index(batch_op.f('ix_calendar_channels_ref'), ['ref'])


def downgrade():
    op.drop_table('calendar_channels')
