"""How the app's connections are tuned, per database: SQLite pragmas; PostgreSQL plans that outlive a request."""
from __future__ import annotations

from flask import Flask
from sqlalchemy import event

from ..extensions import db

#: Set in a pooled connection's info when its transaction ran anything but a SELECT (see keep_prepared_statements).
WROTE = "exchange.wrote"


def init_app(app: Flask) -> None:
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    with app.app_context():
        engine = db.engine
    if url.startswith("sqlite") and url not in ("sqlite://", "sqlite:///:memory:"):
        event.listen(engine, "connect", _sqlite_pragmas)
    elif engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg":
        if app.config.get("DATABASE_PREPARED_STATEMENTS", True):
            keep_prepared_statements(engine)
        else:
            event.listen(engine, "connect", _no_prepared_statements)


def _no_prepared_statements(dbapi_connection, _record) -> None:
    dbapi_connection.prepare_threshold = None


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """A SQLite file serves several threads (the dev server, browser tests): write-ahead logging lets readers go on
    while someone writes, and a busy timeout makes writers wait instead of failing."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def keep_prepared_statements(engine) -> None:
    """End transactions that only read with COMMIT rather than ROLLBACK, so that psycopg keeps its prepared statements.

    psycopg prepares a statement on the server the fifth time a connection runs it, and PostgreSQL then plans it
    once instead of on every execution. But psycopg forgets all of a connection's prepared statements on ROLLBACK,
    and every request ends with one (the session's close): no statement was ever prepared, and every statement was
    planned again on every request. Planning is most of the cost of the pages' small statements, and 3 ms of the
    review page's statement of twelve tables (0.3 ms with its plan kept).

    For a transaction that ran only SELECTs, COMMIT and ROLLBACK leave the database the same. Any other statement
    (INSERT, UPDATE, DELETE, DDL, SET, ...) marks the connection, and its transaction is rolled back as before; so is
    one that failed."""
    from psycopg.pq import TransactionStatus

    @event.listens_for(engine, "before_cursor_execute")
    def _note_writes(conn, cursor, statement, parameters, context, executemany):
        if not statement.startswith("SELECT"):
            conn.info[WROTE] = True

    dialect = engine.dialect
    rollback, commit = dialect.do_rollback, dialect.do_commit

    def do_rollback(connection) -> None:
        # `connection` is the pool's proxy: `info` is the pool's dict for this connection (Connection.info above).
        try:
            wrote = connection.info.pop(WROTE, False)
        except NotImplementedError:  # the engine's first connection, an ad-hoc proxy without that dict
            wrote = True
        if not wrote and connection.dbapi_connection.info.transaction_status == TransactionStatus.INTRANS:
            commit(connection)
        else:
            rollback(connection)

    def do_commit(connection) -> None:
        try:
            connection.info.pop(WROTE, None)
        except NotImplementedError:
            pass
        commit(connection)

    dialect.do_rollback = do_rollback
    dialect.do_commit = do_commit
