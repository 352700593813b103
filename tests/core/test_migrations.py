"""The migrations build the schema from nothing, and they agree with the models."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from exchange import create_app
from exchange.config import TestConfig
from exchange.extensions import db


def other_dialects_only(dialect_name):
    """include_object for compare_metadata: skip the models' indexes made for another database only
    (`Index(...).ddl_if(dialect=...)`, which migrations/env.py writes guarded by the dialect)."""
    def include(obj, name, type_, reflected, compare_to):
        ddl_if = getattr(obj, "_ddl_if", None)
        return not (type_ == "index" and not reflected and ddl_if is not None and ddl_if.dialect
                    and ddl_if.dialect != dialect_name)
    return include


def test_upgrade_from_nothing_matches_models(empty_database):
    url, engine_options = empty_database
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, SQLALCHEMY_ENGINE_OPTIONS=engine_options)
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={
                "compare_type": True, "include_object": other_dialects_only(conn.dialect.name)})
            diff = compare_metadata(context, db.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
        assert "users" in inspect(db.engine).get_table_names()
        indexes = {ix["name"] for ix in inspect(db.engine).get_indexes("applications")}
        assert ("ix_applications_call_score_rank" in indexes) == (db.engine.dialect.name == "postgresql")
        downgrade(revision="base")
        assert "users" not in inspect(db.engine).get_table_names()
        db.engine.dispose()
