"""Database triggers that keep two summaries of the applications domain exact, whoever writes the rows.

* ``application_status_counts``: the applications of each call counted by status. Every insert, delete and
  change of status or call of an application updates it, in the same transaction (the pipeline's status tiles,
  the coordinators' list of calls and their home panel read it instead of counting 50,000 rows per request).
  On PostgreSQL the trigger is a constraint trigger deferred to the commit: the counter rows of a call, which
  every status change of the call updates, stay locked only while the transaction commits, not while it goes on
  (a status change sends an email before the view commits).
* ``calls.places_version``: raised whenever what the call's destination list shows may have changed: a place
  added, removed or given other seats, a condition's subject area or agreement, an agreement's partner, a
  partner's name or country. It keys the per-process cache of destination options (``pipeline.destinations``),
  so every process sees a change at its next request.

Triggers run for the ORM, Core bulk inserts (``flask seed-scale``) and cascading deletes alike. The migration
that adds them holds its own copy of these statements; ``models.py`` installs these after ``create_all``.
"""

COUNT_FUNCTION = "application_status_counts_apply"
PLACES_FUNCTION = "calls_places_version_bump"

# What a change of each table bumps: the calls offering a place whose label may have changed.
_CALLS_OF_CONDITION = "SELECT call_id FROM call_places WHERE condition_id = {row}.id"
_CALLS_OF_AGREEMENT = ("SELECT call_places.call_id FROM call_places JOIN cooperation_conditions "
                       "ON cooperation_conditions.id = call_places.condition_id "
                       "WHERE cooperation_conditions.agreement_id = {row}.id")
_CALLS_OF_PARTNER = ("SELECT call_places.call_id FROM call_places JOIN cooperation_conditions "
                     "ON cooperation_conditions.id = call_places.condition_id JOIN agreements "
                     "ON agreements.id = cooperation_conditions.agreement_id WHERE agreements.partner_id = {row}.id")

#: (trigger name, table, columns whose update matters, calls to bump) for the partners' tables.
PLACE_SOURCES = [
    ("calls_places_version_conditions", "cooperation_conditions", "isced_code, agreement_id", _CALLS_OF_CONDITION),
    ("calls_places_version_agreements", "agreements", "partner_id", _CALLS_OF_AGREEMENT),
    ("calls_places_version_partners", "partner_institutions", "name, country", _CALLS_OF_PARTNER),
]


def _bump(calls_query: str, row: str) -> str:
    return f"UPDATE calls SET places_version = places_version + 1 WHERE id IN ({calls_query.format(row=row)})"


POSTGRESQL = [
    f"""CREATE OR REPLACE FUNCTION {COUNT_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.call_id = NEW.call_id AND OLD.status = NEW.status THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        UPDATE application_status_counts SET n = n - 1 WHERE call_id = OLD.call_id AND status = OLD.status;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO application_status_counts (call_id, status, n)
        SELECT NEW.call_id, NEW.status, 1 WHERE EXISTS (SELECT 1 FROM calls WHERE calls.id = NEW.call_id)
        ON CONFLICT (call_id, status) DO UPDATE SET n = application_status_counts.n + 1;
    END IF;
    RETURN NULL;
END $$""",
    "DROP TRIGGER IF EXISTS application_status_counts ON applications",
    f"""CREATE CONSTRAINT TRIGGER application_status_counts
    AFTER INSERT OR DELETE OR UPDATE OF call_id, status ON applications
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {COUNT_FUNCTION}()""",
    f"""CREATE OR REPLACE FUNCTION {PLACES_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'call_places' AND TG_OP = 'INSERT' THEN
        UPDATE calls SET places_version = places_version + 1 WHERE id = NEW.call_id;
    ELSIF TG_TABLE_NAME = 'call_places' AND TG_OP = 'DELETE' THEN
        UPDATE calls SET places_version = places_version + 1 WHERE id = OLD.call_id;
    ELSIF TG_TABLE_NAME = 'call_places' THEN
        UPDATE calls SET places_version = places_version + 1 WHERE id IN (OLD.call_id, NEW.call_id);
    ELSIF TG_TABLE_NAME = 'cooperation_conditions' THEN
        {_bump(_CALLS_OF_CONDITION, "NEW")};
    ELSIF TG_TABLE_NAME = 'agreements' THEN
        {_bump(_CALLS_OF_AGREEMENT, "NEW")};
    ELSIF TG_TABLE_NAME = 'partner_institutions' THEN
        {_bump(_CALLS_OF_PARTNER, "NEW")};
    END IF;
    RETURN NULL;
END $$""",
    "DROP TRIGGER IF EXISTS calls_places_version_places ON call_places",
    f"""CREATE TRIGGER calls_places_version_places AFTER INSERT OR UPDATE OR DELETE ON call_places
    FOR EACH ROW EXECUTE FUNCTION {PLACES_FUNCTION}()""",
]
for _name, _table, _columns, _calls in PLACE_SOURCES:
    POSTGRESQL += [f"DROP TRIGGER IF EXISTS {_name} ON {_table}",
                   f"CREATE TRIGGER {_name} AFTER UPDATE OF {_columns} ON {_table} FOR EACH ROW "
                   f"EXECUTE FUNCTION {PLACES_FUNCTION}()"]

POSTGRESQL_DROP = [f"DROP FUNCTION IF EXISTS {COUNT_FUNCTION}() CASCADE",
                   f"DROP FUNCTION IF EXISTS {PLACES_FUNCTION}() CASCADE"]

_SQLITE_ADD = ("INSERT OR IGNORE INTO application_status_counts (call_id, status, n) VALUES (NEW.call_id, NEW.status, 0);"
               " UPDATE application_status_counts SET n = n + 1 WHERE call_id = NEW.call_id AND status = NEW.status;")
_SQLITE_REMOVE = "UPDATE application_status_counts SET n = n - 1 WHERE call_id = OLD.call_id AND status = OLD.status;"

SQLITE = [
    f"CREATE TRIGGER IF NOT EXISTS application_status_counts_insert AFTER INSERT ON applications "
    f"BEGIN {_SQLITE_ADD} END",
    f"CREATE TRIGGER IF NOT EXISTS application_status_counts_delete AFTER DELETE ON applications "
    f"BEGIN {_SQLITE_REMOVE} END",
    f"CREATE TRIGGER IF NOT EXISTS application_status_counts_update AFTER UPDATE OF call_id, status ON applications "
    f"WHEN OLD.call_id <> NEW.call_id OR OLD.status <> NEW.status BEGIN {_SQLITE_REMOVE} {_SQLITE_ADD} END",
    "CREATE TRIGGER IF NOT EXISTS calls_places_version_places_insert AFTER INSERT ON call_places BEGIN "
    "UPDATE calls SET places_version = places_version + 1 WHERE id = NEW.call_id; END",
    "CREATE TRIGGER IF NOT EXISTS calls_places_version_places_update AFTER UPDATE ON call_places BEGIN "
    "UPDATE calls SET places_version = places_version + 1 WHERE id IN (OLD.call_id, NEW.call_id); END",
    "CREATE TRIGGER IF NOT EXISTS calls_places_version_places_delete AFTER DELETE ON call_places BEGIN "
    "UPDATE calls SET places_version = places_version + 1 WHERE id = OLD.call_id; END",
]
for _name, _table, _columns, _calls in PLACE_SOURCES:
    SQLITE.append(f"CREATE TRIGGER IF NOT EXISTS {_name} AFTER UPDATE OF {_columns} ON {_table} "
                  f"BEGIN {_bump(_calls, 'NEW')}; END")
