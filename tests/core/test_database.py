"""PostgreSQL: transactions that only read end with COMMIT, so that psycopg's prepared statements outlive them;
anything that wrote (or failed) is still rolled back."""
import pytest
from sqlalchemy import func, insert, select, text

from exchange.partners.models import PartnerInstitution


@pytest.fixture
def engine(db):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: psycopg's prepared statements")
    return db.engine


def _prepared(conn) -> int:
    return conn.scalar(text("SELECT count(*) FROM pg_prepared_statements"))


def test_statements_read_in_many_transactions_are_prepared_once(engine):
    query = select(func.count(PartnerInstitution.id)).where(PartnerInstitution.country == "IT")
    with engine.connect() as conn:
        for _ in range(8):  # psycopg prepares a statement at its fifth run on a connection
            assert conn.scalar(query) == 0
            conn.rollback()
        assert _prepared(conn) >= 1


def test_a_transaction_that_wrote_is_rolled_back(engine):
    with engine.connect() as conn:
        conn.execute(insert(PartnerInstitution).values(name="Rolled back", country="FR", schac_code="rb.example"))
        assert conn.scalar(select(func.count()).select_from(PartnerInstitution)) == 1
        conn.rollback()
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(PartnerInstitution)) == 0


def test_reads_after_a_write_are_rolled_back_with_it(engine):
    with engine.connect() as conn:
        conn.execute(insert(PartnerInstitution).values(name="Rolled back", country="FR", schac_code="rb.example"))
        for _ in range(3):
            conn.scalar(select(func.count()).select_from(PartnerInstitution))
        conn.rollback()
        # The next transaction starts clean: a read alone is committed, and sees nothing of the write.
        assert conn.scalar(select(func.count()).select_from(PartnerInstitution)) == 0
        conn.rollback()


def test_a_failed_read_is_rolled_back(engine):
    with engine.connect() as conn:
        with pytest.raises(Exception, match="division by zero"):
            conn.execute(text("SELECT 1 / 0"))
        conn.rollback()
        assert conn.scalar(text("SELECT 2")) == 2


def test_requests_keep_working_across_reads_and_writes(client, engine, make_institution, db):
    """The session's own ends (close after a request, rollback after a failed form) still behave."""
    make_institution(name="Kept", country="DE", schac_code="kept.example")
    db.session.commit()
    for _ in range(6):
        assert client.get("/healthz").status_code == 200
    # A write the session did not commit is rolled back when the session closes, as at the end of a request.
    make_institution(name="Not kept", country="DE", schac_code="not-kept.example")
    db.session.close()
    with engine.connect() as conn:
        assert conn.scalars(select(PartnerInstitution.name)).all() == ["Kept"]


def test_prepared_statements_can_be_turned_off(database_url, pg_schema):
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: psycopg's prepared statements")
    from exchange import create_app
    from exchange.config import TestConfig
    from exchange.extensions import db
    from tests.fixtures.app import engine_options_for
    app = create_app(TestConfig, DATABASE_PREPARED_STATEMENTS=False,
                     SQLALCHEMY_ENGINE_OPTIONS=engine_options_for(database_url, pg_schema))
    with app.app_context():
        with db.engine.connect() as conn:
            for _ in range(8):
                conn.scalar(text("SELECT 41 + 1"))
                conn.commit()
            assert _prepared(conn) == 0
        db.engine.dispose()
