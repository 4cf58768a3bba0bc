"""organizations: the sites allowed to frame the booking pages (O6)

Revision ID: o31_embed_origins
Revises: a30_availability_version
Create Date: 2026-12-05 17:00:00

"""
from alembic import op
import sqlalchemy as sa

revision = 'o31_embed_origins'
down_revision = 'a30_availability_version'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('embed_origins', sa.Text(), server_default='',
                                      nullable=False))


def downgrade():
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_column('embed_origins')
