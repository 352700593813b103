"""partners no longer see the students whose nomination they rejected

Revision ID: 17d3e559a2bf
Revises: b7c8f6901c87
Create Date: 2026-12-07 01:23:37.000000

A partner's users may see an application while ``applications.nominated_at`` is set and the application is placed
at their institution (``exchange.applications.access.nominated_to``). Rejecting a nomination left it set, so the
partner kept reading the student's application and documents. Rejections now clear it; this clears it on the
applications that hold no live (pending or accepted) nomination to their institution any more. Applications
without any nomination row are left alone.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '17d3e559a2bf'
down_revision = 'b7c8f6901c87'
branch_labels = None
depends_on = None


def upgrade():
    op.execute("""
        UPDATE applications SET nominated_at = NULL
        WHERE nominated_at IS NOT NULL
          AND EXISTS (SELECT 1 FROM nominations WHERE nominations.application_id = applications.id)
          AND NOT EXISTS (SELECT 1 FROM nominations
                          WHERE nominations.application_id = applications.id
                            AND nominations.institution_id = applications.placed_institution_id
                            AND nominations.status IN ('nominated', 'accepted'))
    """)


def downgrade():
    pass  # the cleared dates granted access that was not meant to be: nothing to put back
