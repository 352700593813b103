import logging
from logging.config import fileConfig

from flask import current_app

from alembic import context
from alembic.autogenerate import renderers
from alembic.operations import MigrateOperation, ops

# this is the Alembic Config object, which provides
# access to the values within the .ini file in use.
config = context.config

# Interpret the config file for Python logging, leaving the app's own loggers on: by default fileConfig disables
# every logger that exists already (exchange.core.mail's, in a process that ran migrations before sending mail).
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger('alembic.env')


def get_engine():
    try:
        # this works with Flask-SQLAlchemy<3 and Alchemical
        return current_app.extensions['migrate'].db.engine
    except (TypeError, AttributeError):
        # this works with Flask-SQLAlchemy>=3
        return current_app.extensions['migrate'].db.engine


def get_engine_url():
    try:
        return get_engine().url.render_as_string(hide_password=False).replace(
            '%', '%%')
    except AttributeError:
        return str(get_engine().url).replace('%', '%%')


# add your model's MetaData object here
# for 'autogenerate' support
# from myapp import mymodel
# target_metadata = mymodel.Base.metadata
config.set_main_option('sqlalchemy.url', get_engine_url())
target_db = current_app.extensions['migrate'].db

# other values from the config, defined by the needs of env.py,
# can be acquired:
# my_important_option = config.get_main_option("my_important_option")
# ... etc.


def get_metadata():
    if hasattr(target_db, 'metadatas'):
        return target_db.metadatas[None]
    return target_db.metadata


def run_migrations_offline():
    """Run migrations in 'offline' mode.

    This configures the context with just a URL
    and not an Engine, though an Engine is acceptable
    here as well.  By skipping the Engine creation
    we don't even need a DBAPI to be available.

    Calls to context.execute() here emit the given string to the
    script output.

    """
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url, target_metadata=get_metadata(), literal_binds=True
    )

    with context.begin_transaction():
        context.run_migrations()


def render_item(type_, obj, autogen_context):
    """Write the app's column types (TypeDecorators) as the plain SQLAlchemy types they store."""
    from sqlalchemy.types import TypeDecorator
    if type_ == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl!r}"
    return False


def dialect_only_indexes():
    """Indexes of the models restricted to one database with `Index(...).ddl_if(dialect=...)` (e.g. PostgreSQL's
    `DESC NULLS LAST`, which SQLite cannot index): [(dialect, index)]."""
    found = []
    for table in get_metadata().sorted_tables:
        for index in sorted(table.indexes, key=lambda ix: ix.name):
            if index._ddl_if is not None and index._ddl_if.dialect:
                found.append((index._ddl_if.dialect, index))
    return found


def include_object(obj, name, type_, reflected, compare_to):
    """Autogenerate leaves dialect-only indexes to `add_dialect_only_indexes` (which writes them guarded by the
    dialect); comparing models with a database ignores those meant for another dialect."""
    if type_ == "index" and not reflected and obj._ddl_if is not None and obj._ddl_if.dialect:
        return False
    return True


class DialectIndexOp(MigrateOperation):
    """An index operation run on one dialect only (rendered inside `if op.get_bind().dialect.name == ...:`)."""

    def __init__(self, dialect, op):
        self.dialect, self.op = dialect, op

    def reverse(self):
        return DialectIndexOp(self.dialect, self.op.reverse())


@renderers.dispatch_for(DialectIndexOp)
def render_dialect_index(autogen_context, op):
    inner = renderers.dispatch(op.op)(autogen_context, op.op)
    return [f"if op.get_bind().dialect.name == {op.dialect!r}:", inner, ""]


def add_dialect_only_indexes(script):
    """Append the dialect-only indexes to a new revision (created last, dropped first)."""
    if context.script.get_heads():  # a later revision: written by hand (is the index new?)
        for dialect, index in dialect_only_indexes():
            logger.warning("Dialect-only index %s (%s) is left out: add it by hand if it is new.", index.name, dialect)
        return
    for dialect, index in dialect_only_indexes():
        script.upgrade_ops.ops.append(DialectIndexOp(dialect, ops.CreateIndexOp.from_index(index)))
        script.downgrade_ops.ops.insert(0, DialectIndexOp(dialect, ops.DropIndexOp.from_index(index)))


def run_migrations_online():
    """Run migrations in 'online' mode.

    In this scenario we need to create an Engine
    and associate a connection with the context.

    """

    # this callback is used to prevent an auto-migration from being generated
    # when there are no changes to the schema
    # reference: http://alembic.zzzcomputing.com/en/latest/cookbook.html
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, 'autogenerate', False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info('No changes in schema detected.')
            else:
                add_dialect_only_indexes(script)

    conf_args = current_app.extensions['migrate'].configure_args
    conf_args.setdefault("render_item", render_item)
    conf_args.setdefault("include_object", include_object)
    if conf_args.get("process_revision_directives") is None:
        conf_args["process_revision_directives"] = process_revision_directives

    connectable = get_engine()

    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=get_metadata(),
            **conf_args
        )

        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
