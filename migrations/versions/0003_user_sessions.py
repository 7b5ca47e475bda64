"""user sessions: one row per sign-in, ended on the server

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import app.core.columns


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('user_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('created_at', app.core.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', app.core.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', app.core.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('idle_seconds', sa.Integer(), nullable=True),
    sa.Column('remember', sa.Boolean(), nullable=False),
    sa.Column('revoked_at', app.core.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('device', sa.String(length=60), nullable=False),
    sa.CheckConstraint("idle_seconds IS NULL OR idle_seconds > 0", name=op.f('ck_user_session_idle_positive')),
    sa.CheckConstraint("kind IN ('member', 'cashier', 'admin')", name=op.f('ck_user_session_kind')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_user_session_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_session')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_user_session_token_hash'))
    )
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_session_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_user_session_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_session_user_id'))
        batch_op.drop_index(batch_op.f('ix_user_session_expires_at'))

    op.drop_table('user_session')
