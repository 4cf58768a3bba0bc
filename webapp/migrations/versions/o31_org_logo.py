"""organizations: the logo shown on the booking pages

Revision ID: o31_org_logo
Revises: o31_embed_origins
Create Date: 2026-12-05 17:00:00

"""
from alembic import op
import sqlalchemy as sa

revision = 'o31_org_logo'
down_revision = 'o31_embed_origins'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('logo_png', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('logo_version', sa.String(length=16), server_default='',
                                      nullable=False))


def downgrade():
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_column('logo_version')
        batch_op.drop_column('logo_png')
