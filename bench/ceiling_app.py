"""The ceiling of the page benchmark: a bare Flask + Flask-SQLAlchemy page on the same server set-up.

One page: 50 rows of a 10,000-row table joined to a 100-row table, paginated with `db.paginate` (a count
and a page query, as the app's lists do) and rendered with a Jinja template. Its two tables live in a
PostgreSQL schema of their own (CEILING_SCHEMA, default "bench_ceiling"), created and dropped by
bench/bench_pages.py.

    CEILING_DATABASE_URL=postgresql+psycopg://... gunicorn -w 2 --chdir bench ceiling_app:app
"""
import os
import random
from datetime import date, timedelta
from decimal import Decimal

from flask import Flask, render_template, request
from flask_sqlalchemy import SQLAlchemy
from jinja2 import DictLoader
from sqlalchemy import ForeignKey, Numeric, String, create_engine, insert, select, text
from sqlalchemy.orm import Mapped, contains_eager, mapped_column, relationship

SCHEMA = os.environ.get("CEILING_SCHEMA", "bench_ceiling")
ROWS, AUTHORS, PER_PAGE = 10_000, 100, 50

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Books – page {{ page.page }}</title></head>
<body><main><h1>Books</h1>
<p>{{ page.total }} books, page {{ page.page }} of {{ page.pages }}</p>
<table><thead><tr><th>#</th><th>Title</th><th>Author</th><th>Country</th><th>Published</th><th>Price</th></tr></thead>
<tbody>{% for book in page.items %}
<tr><td>{{ book.id }}</td><td>{{ book.title }}</td><td>{{ book.author.name }}</td><td>{{ book.author.country }}</td>
<td>{{ book.published_on.isoformat() }}</td><td>{{ "%.2f"|format(book.price) }}</td></tr>{% endfor %}
</tbody></table>
<nav>{% if page.has_prev %}<a href="?page={{ page.prev_num }}">Previous</a>{% endif %}
{% for n in page.iter_pages() %}{% if n %}<a href="?page={{ n }}">{{ n }}</a>{% else %}…{% endif %} {% endfor %}
{% if page.has_next %}<a href="?page={{ page.next_num }}">Next</a>{% endif %}</nav></main></body></html>
"""

db = SQLAlchemy()


class Author(db.Model):
    __tablename__ = "ceiling_authors"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    country: Mapped[str] = mapped_column(String(2))


class Book(db.Model):
    __tablename__ = "ceiling_books"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    author_id: Mapped[int] = mapped_column(ForeignKey("ceiling_authors.id"), index=True)
    published_on: Mapped[date]
    price = mapped_column(Numeric(8, 2))
    author: Mapped[Author] = relationship()


def _options(schema: str) -> dict:
    return {"connect_args": {"options": f"-csearch_path={schema}"}}


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["CEILING_DATABASE_URL"]
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True, **_options(SCHEMA)}
    app.jinja_loader = DictLoader({"books.html": TEMPLATE})
    db.init_app(app)

    @app.get("/books")
    def books():
        query = select(Book).join(Book.author).options(contains_eager(Book.author)).order_by(Book.id)
        page = db.paginate(query, per_page=PER_PAGE, max_per_page=PER_PAGE, error_out=False)
        return render_template("books.html", page=page)

    @app.get("/healthz")
    def healthz():
        db.session.execute(text("SELECT 1"))
        return {"status": "ok"}

    return app


def setup(url: str, schema: str = SCHEMA) -> None:
    """Create the schema and its two tables, and fill them (fixed seed)."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    engine.dispose()
    engine = create_engine(url, **_options(schema))
    with engine.begin() as conn:
        db.metadata.create_all(conn)
        rng = random.Random(450)
        conn.execute(insert(Author.__table__), [
            {"id": i, "name": f"Author {i}", "country": rng.choice(["ES", "IT", "FR", "DE", "PT"])}
            for i in range(1, AUTHORS + 1)])
        conn.execute(insert(Book.__table__), [
            {"id": i, "title": f"Book number {i} of the ceiling page", "author_id": rng.randint(1, AUTHORS),
             "published_on": date(2000, 1, 1) + timedelta(days=rng.randint(0, 9000)),
             "price": Decimal(rng.randint(500, 9000)) / 100} for i in range(1, ROWS + 1)])
        conn.execute(text("ANALYZE ceiling_authors; ANALYZE ceiling_books"))
    engine.dispose()


def teardown(url: str, schema: str = SCHEMA) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


if os.environ.get("CEILING_DATABASE_URL"):
    app = create_app()
