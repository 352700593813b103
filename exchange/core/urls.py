"""Many links of one page, built cheaply: list pages link every row, sort column and page number, and url_for
(which walks the URL map's rules each time) was a tenth of their rendering."""
from __future__ import annotations

from urllib.parse import urlencode

from flask import current_app, g, request, url_for
from werkzeug.routing import IntegerConverter

from .numbers import MAX_ID

#: What url_for leaves unescaped in a query string (werkzeug.urls._urlencode), so that both write the same URLs.
_SAFE = "!$'()*,/:;?@"
#: An integer no id reaches, stood in for the varying argument of url_pattern.
_MARKER = 9_087_654_321_234_567


def url_pattern(endpoint: str, key: str, **values):
    """A function of one integer `key` giving url_for(endpoint, key=value, **values), from one url_for call:
    for the link of every row of a list."""
    url = url_for(endpoint, **{key: _MARKER}, **values)
    head, marker, tail = url.partition(str(_MARKER))
    if not marker:  # `key` went into the query string in a form of its own: no shortcut
        return lambda value: url_for(endpoint, **{key: value}, **values)
    return lambda value: f"{head}{int(value)}{tail}"


def list_url(endpoint: str, **changes) -> str:
    """The URL of `endpoint` with this request's view arguments and query string, `changes` replacing some of the
    query's values (None removes one): what sort links and page numbers point to."""
    query = request.args.to_dict()
    query.update(changes)
    view_args = request.view_args or {}
    key = (endpoint, *view_args.items())
    bases = g.setdefault("_list_url_bases", {})  # the same for each link of the page: one url_for
    base = bases.get(key)
    if base is None:
        base = bases[key] = url_for(endpoint, **view_args)
    pairs = [(name, value) for name, value in query.items() if value is not None]
    return f"{base}?{urlencode(pairs, safe=_SAFE)}" if pairs else base


def known_args(form, *extra: str) -> dict[str, str]:
    """This request's query arguments named after `form`'s fields (a filter form) or `extra` ("page"), to pass on
    to url_for: an argument of any other name could be one of url_for's own (call_id, fmt, _external, _scheme…),
    replacing a value or failing (a 500)."""
    names = {field.name for field in form}.union(extra)
    return {name: value for name, value in request.args.items() if name in names}


class IdConverter(IntegerConverter):
    """`<int:…>` of this app's routes, whose numbers are ids (INTEGER columns): ASCII digits up to MAX_ID. A larger
    number (/certificates/99999999999999999999) is no page, 404, rather than an error of the database."""

    regex = r"[0-9]+"

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = MAX_ID,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def init_app(app) -> None:
    """Before the blueprints' routes are added: their `<int:…>` are read with IdConverter."""
    app.url_map.converters["int"] = IdConverter
    app.jinja_env.globals.update(url_pattern=url_pattern, list_url=list_url, known_args=known_args)


def site_path(endpoint: str, **values) -> str:
    """A site-relative URL that needs no request (jobs run in a worker; mail links add BASE_URL to it)."""
    return current_app.url_map.bind("localhost", script_name="/").build(endpoint, values)
