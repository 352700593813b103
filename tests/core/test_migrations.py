"""The migrations build the schema from nothing, and they agree with the models."""
import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text

from exchange import create_app
from exchange.config import TestConfig
from exchange.extensions import db


@pytest.fixture
def empty_database(tmp_path, database_url):
    """A database with nothing in it: a new SQLite file, or a new PostgreSQL schema."""
    if database_url.startswith("postgresql"):
        schema = f"migr_{uuid.uuid4().hex[:10]}"
        engine = create_engine(database_url)
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield database_url, {"connect_args": {"options": f"-csearch_path={schema}"}}
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()
    else:
        yield "sqlite:///" + os.path.join(tmp_path, "migrations.db"), {}


def test_upgrade_from_nothing_matches_models(empty_database):
    url, engine_options = empty_database
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, SQLALCHEMY_ENGINE_OPTIONS=engine_options)
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, db.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
        assert "users" in inspect(db.engine).get_table_names()
        downgrade(revision="base")
        assert "users" not in inspect(db.engine).get_table_names()
        db.engine.dispose()
