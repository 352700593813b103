"""Pagination of selects of plain columns (list pages that need no ORM objects)."""
from flask_sqlalchemy.pagination import SelectPagination
from sqlalchemy import func, literal, select

from ..extensions import db


def page_slice(query, per_page: int, offset: int):
    """`query` limited to one page. The numbers are written into the statement, not bound: PostgreSQL plans a
    prepared statement once only when it can see how few rows are asked for (with a bound LIMIT it plans for
    many, and so plans every run again)."""
    return query.limit(literal(per_page, literal_execute=True)).offset(literal(offset, literal_execute=True))


class RowPagination(SelectPagination):
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
