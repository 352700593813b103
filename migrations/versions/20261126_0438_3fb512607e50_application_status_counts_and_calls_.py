"""application status counts and calls.places_version, kept by triggers

Revision ID: 3fb512607e50
Revises: a7bf2b404412
Create Date: 2026-11-26 04:38:44.900119

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3fb512607e50'
down_revision = 'a7bf2b404412'
branch_labels = None
depends_on = None


# The triggers of exchange/applications/triggers.py as they are at this revision (see there what they keep).
POSTGRESQL = [
    "CREATE OR REPLACE FUNCTION application_status_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n    IF TG_OP = 'UPDATE' AND OLD.call_id = NEW.call_id AND OLD.status = NEW.status THEN\n        RETURN NULL;\n    END IF;\n    IF TG_OP <> 'INSERT' THEN\n        UPDATE application_status_counts SET n = n - 1 WHERE call_id = OLD.call_id AND status = OLD.status;\n    END IF;\n    IF TG_OP <> 'DELETE' THEN\n        INSERT INTO application_status_counts (call_id, status, n)\n        SELECT NEW.call_id, NEW.status, 1 WHERE EXISTS (SELECT 1 FROM calls WHERE calls.id = NEW.call_id)\n        ON CONFLICT (call_id, status) DO UPDATE SET n = application_status_counts.n + 1;\n    END IF;\n    RETURN NULL;\nEND $$",
    'DROP TRIGGER IF EXISTS application_status_counts ON applications',
    'CREATE CONSTRAINT TRIGGER application_status_counts\n    AFTER INSERT OR DELETE OR UPDATE OF call_id, status ON applications\n    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION application_status_counts_apply()',
    "CREATE OR REPLACE FUNCTION calls_places_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n    IF TG_TABLE_NAME = 'call_places' AND TG_OP = 'INSERT' THEN\n        UPDATE calls SET places_version = places_version + 1 WHERE id = NEW.call_id;\n    ELSIF TG_TABLE_NAME = 'call_places' AND TG_OP = 'DELETE' THEN\n        UPDATE calls SET places_version = places_version + 1 WHERE id = OLD.call_id;\n    ELSIF TG_TABLE_NAME = 'call_places' THEN\n        UPDATE calls SET places_version = places_version + 1 WHERE id IN (OLD.call_id, NEW.call_id);\n    ELSIF TG_TABLE_NAME = 'cooperation_conditions' THEN\n        UPDATE calls SET places_version = places_version + 1 WHERE id IN (SELECT call_id FROM call_places WHERE condition_id = NEW.id);\n    ELSIF TG_TABLE_NAME = 'agreements' THEN\n        UPDATE calls SET places_version = places_version + 1 WHERE id IN (SELECT call_places.call_id FROM call_places JOIN cooperation_conditions ON cooperation_conditions.id = call_places.condition_id WHERE cooperation_conditions.agreement_id = NEW.id);\n    ELSIF TG_TABLE_NAME = 'partner_institutions' THEN\n        UPDATE calls SET places_version = places_version + 1 WHERE id IN (SELECT call_places.call_id FROM call_places JOIN cooperation_conditions ON cooperation_conditions.id = call_places.condition_id JOIN agreements ON agreements.id = cooperation_conditions.agreement_id WHERE agreements.partner_id = NEW.id);\n    END IF;\n    RETURN NULL;\nEND $$",
    'DROP TRIGGER IF EXISTS calls_places_version_places ON call_places',
    'CREATE TRIGGER calls_places_version_places AFTER INSERT OR UPDATE OR DELETE ON call_places\n    FOR EACH ROW EXECUTE FUNCTION calls_places_version_bump()',
    'DROP TRIGGER IF EXISTS calls_places_version_conditions ON cooperation_conditions',
    'CREATE TRIGGER calls_places_version_conditions AFTER UPDATE OF isced_code, agreement_id ON cooperation_conditions FOR EACH ROW EXECUTE FUNCTION calls_places_version_bump()',
    'DROP TRIGGER IF EXISTS calls_places_version_agreements ON agreements',
    'CREATE TRIGGER calls_places_version_agreements AFTER UPDATE OF partner_id ON agreements FOR EACH ROW EXECUTE FUNCTION calls_places_version_bump()',
    'DROP TRIGGER IF EXISTS calls_places_version_partners ON partner_institutions',
    'CREATE TRIGGER calls_places_version_partners AFTER UPDATE OF name, country ON partner_institutions FOR EACH ROW EXECUTE FUNCTION calls_places_version_bump()',
]

POSTGRESQL_DROP = [
    "DROP TRIGGER IF EXISTS application_status_counts ON applications",
    "DROP TRIGGER IF EXISTS calls_places_version_places ON call_places",
    "DROP TRIGGER IF EXISTS calls_places_version_conditions ON cooperation_conditions",
    "DROP TRIGGER IF EXISTS calls_places_version_agreements ON agreements",
    "DROP TRIGGER IF EXISTS calls_places_version_partners ON partner_institutions",
] + [
    'DROP FUNCTION IF EXISTS application_status_counts_apply() CASCADE',
    'DROP FUNCTION IF EXISTS calls_places_version_bump() CASCADE',
]

SQLITE = [
    'CREATE TRIGGER IF NOT EXISTS application_status_counts_insert AFTER INSERT ON applications BEGIN INSERT OR IGNORE INTO application_status_counts (call_id, status, n) VALUES (NEW.call_id, NEW.status, 0); UPDATE application_status_counts SET n = n + 1 WHERE call_id = NEW.call_id AND status = NEW.status; END',
    'CREATE TRIGGER IF NOT EXISTS application_status_counts_delete AFTER DELETE ON applications BEGIN UPDATE application_status_counts SET n = n - 1 WHERE call_id = OLD.call_id AND status = OLD.status; END',
    'CREATE TRIGGER IF NOT EXISTS application_status_counts_update AFTER UPDATE OF call_id, status ON applications WHEN OLD.call_id <> NEW.call_id OR OLD.status <> NEW.status BEGIN UPDATE application_status_counts SET n = n - 1 WHERE call_id = OLD.call_id AND status = OLD.status; INSERT OR IGNORE INTO application_status_counts (call_id, status, n) VALUES (NEW.call_id, NEW.status, 0); UPDATE application_status_counts SET n = n + 1 WHERE call_id = NEW.call_id AND status = NEW.status; END',
    'CREATE TRIGGER IF NOT EXISTS calls_places_version_places_insert AFTER INSERT ON call_places BEGIN UPDATE calls SET places_version = places_version + 1 WHERE id = NEW.call_id; END',
    'CREATE TRIGGER IF NOT EXISTS calls_places_version_places_update AFTER UPDATE ON call_places BEGIN UPDATE calls SET places_version = places_version + 1 WHERE id IN (OLD.call_id, NEW.call_id); END',
    'CREATE TRIGGER IF NOT EXISTS calls_places_version_places_delete AFTER DELETE ON call_places BEGIN UPDATE calls SET places_version = places_version + 1 WHERE id = OLD.call_id; END',
    'CREATE TRIGGER IF NOT EXISTS calls_places_version_conditions AFTER UPDATE OF isced_code, agreement_id ON cooperation_conditions BEGIN UPDATE calls SET places_version = places_version + 1 WHERE id IN (SELECT call_id FROM call_places WHERE condition_id = NEW.id); END',
    'CREATE TRIGGER IF NOT EXISTS calls_places_version_agreements AFTER UPDATE OF partner_id ON agreements BEGIN UPDATE calls SET places_version = places_version + 1 WHERE id IN (SELECT call_places.call_id FROM call_places JOIN cooperation_conditions ON cooperation_conditions.id = call_places.condition_id WHERE cooperation_conditions.agreement_id = NEW.id); END',
    'CREATE TRIGGER IF NOT EXISTS calls_places_version_partners AFTER UPDATE OF name, country ON partner_institutions BEGIN UPDATE calls SET places_version = places_version + 1 WHERE id IN (SELECT call_places.call_id FROM call_places JOIN cooperation_conditions ON cooperation_conditions.id = call_places.condition_id JOIN agreements ON agreements.id = cooperation_conditions.agreement_id WHERE agreements.partner_id = NEW.id); END',
]

SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS application_status_counts_insert",
    "DROP TRIGGER IF EXISTS application_status_counts_delete",
    "DROP TRIGGER IF EXISTS application_status_counts_update",
    "DROP TRIGGER IF EXISTS calls_places_version_places_insert",
    "DROP TRIGGER IF EXISTS calls_places_version_places_update",
    "DROP TRIGGER IF EXISTS calls_places_version_places_delete",
    "DROP TRIGGER IF EXISTS calls_places_version_conditions",
    "DROP TRIGGER IF EXISTS calls_places_version_agreements",
    "DROP TRIGGER IF EXISTS calls_places_version_partners",
]


def _statements(postgresql, sqlite):
    dialect = op.get_bind().dialect.name
    return postgresql if dialect == "postgresql" else sqlite if dialect == "sqlite" else []


def upgrade():
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table('application_status_counts',
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'submitted', 'under_review', 'changes_requested', 'eligible', 'ineligible', 'placed', 'waitlisted', 'not_placed', 'accepted', 'declined', 'withdrawn', name='application_status', native_enum=False, length=24), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_application_status_counts_call_id_calls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('call_id', 'status', name=op.f('pk_application_status_counts'))
    )
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('places_version', sa.Integer(), server_default='0', nullable=False))

    # ### end Alembic commands ###
    # The counts of the applications already there, then the triggers that keep them.
    op.execute("INSERT INTO application_status_counts (call_id, status, n) "
               "SELECT call_id, status, count(*) FROM applications GROUP BY call_id, status")
    for statement in _statements(POSTGRESQL, SQLITE):
        op.execute(statement)


def downgrade():
    for statement in _statements(POSTGRESQL_DROP, SQLITE_DROP):
        op.execute(statement)
    # ### commands auto generated by Alembic - please adjust! ###
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_column('places_version')

    op.drop_table('application_status_counts')
    # ### end Alembic commands ###
