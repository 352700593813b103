"""Pagination of list pages: the page number from ?page=, and selects of plain columns (pages that need no ORM
objects)."""
from flask import has_request_context, request
from flask_sqlalchemy.pagination import Pagination, SelectPagination
from sqlalchemy import Integer, bindparam, func, literal, select

from ..extensions import db
from .numbers import is_digits, whole_number


def page_slice(query, per_page: int, offset: int):
    """`query` limited to one page. The numbers are written into the statement, not bound: PostgreSQL plans a
    prepared statement once only when it can see how few rows are asked for (with a bound LIMIT it plans for
    many, and so plans every run again)."""
    return query.limit(literal(per_page, literal_execute=True)).offset(literal(offset, literal_execute=True))


def page_limit():
    """The LIMIT of a statement built once per process (`.limit(page_limit()).offset(page_offset())`): its value
    comes as the parameter `limit` and is written into the SQL when it runs, as page_slice writes it."""
    return bindparam("limit", type_=Integer, literal_execute=True)


def page_offset():
    return bindparam("offset", type_=Integer, literal_execute=True)


#: The highest page number a list goes to: a larger ?page= is read as this one, so that the OFFSET (page × per
#: page) stays a number SQLite and PostgreSQL take (99999999999999999999 × 25 is past their 64-bit integers).
MAX_PAGE = 1_000_000


def requested_page() -> int:
    """?page= as a page number from 1 to MAX_PAGE: ASCII digits only (int() also reads "٣", "+3" and "3_0"); any
    other value is page 1, a larger number MAX_PAGE."""
    value = request.args.get("page", "")
    if not is_digits(value):
        return 1
    number = whole_number(value, maximum=MAX_PAGE)
    return MAX_PAGE if number is None else max(number, 1)


class ClampedPagination(Pagination):
    """Flask-SQLAlchemy's pagination whose page, when not given, is requested_page() (it would read any integer)."""

    def __init__(self, page: int | None = None, **kwargs):
        if page is None and has_request_context():
            page = requested_page()
        super().__init__(page=page, **kwargs)


class Page(ClampedPagination, SelectPagination):
    """What `db.paginate` returns, with the page number of requested_page()."""


def paginate(query, per_page: int) -> Page:
    """The current page (?page=) of a select of ORM objects, as `db.paginate(query, per_page=…, error_out=False)`:
    a page past the end is empty, not an error."""
    return Page(select=query, session=db.session(), per_page=per_page, error_out=False)


class RowsPage(ClampedPagination):
    """A page of plain rows from a statement built once per process with page_limit() and page_offset(), whose
    total the caller already knows (no count statement): RowsPage(statement=…, params={…}, total=n, per_page=…)."""

    def _query_items(self) -> list:
        params = dict(self._query_args["params"], limit=self.per_page, offset=self._query_offset)
        return db.session.execute(self._query_args["statement"], params).all()

    def _query_count(self) -> int:
        return self._query_args["total"]


class RowPagination(ClampedPagination, SelectPagination):
    """`db.paginate` for a select of columns: the items are whole rows (not their first column), and the
    total comes with them (count(*) OVER ()), so a page is one statement. A page past the end counts apart."""

    def _query_items(self) -> list:
        query = self._query_args["select"].add_columns(func.count().over().label("total_rows"))
        rows = self._query_args["session"].execute(page_slice(query, self.per_page, self._query_offset)).all()
        self._total = rows[0].total_rows if rows else None
        return rows

    def _query_count(self) -> int:
        if self._total is not None:
            return self._total
        counted = select(func.count()).select_from(self._query_args["select"].order_by(None).subquery())
        return self._query_args["session"].execute(counted).scalar_one()


def paginate_rows(query, per_page: int) -> RowPagination:
    """The current page (?page=) of a select of columns; a page past the end is empty, not an error."""
    return RowPagination(select=query, session=db.session(), per_page=per_page, error_out=False)
