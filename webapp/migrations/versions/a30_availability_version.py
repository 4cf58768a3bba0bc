"""organizations: the availability version that keys the public pages' shared cache

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


def downgrade():
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_column('availability_version')
