"""index the ranking of a run's students

Revision ID: f29b669a84c6
Revises: 3fb512607e50
Create Date: 2026-11-26 04:55:51.225456

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f29b669a84c6'
down_revision = '3fb512607e50'
branch_labels = None
depends_on = None


def upgrade():
    # PostgreSQL only (DESC NULLS LAST): see exchange/placements/models.py.
    if op.get_bind().dialect.name == 'postgresql':
        op.create_index('ix_matching_run_placements_rank', 'matching_run_placements',
                        ['run_id', sa.literal_column('score DESC NULLS LAST'), 'submitted_at', 'application_id'],
                        unique=False)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_matching_run_placements_rank', table_name='matching_run_placements')
