"""Role-aware navigation: each domain registers its menu entries; base.html renders those for the user."""
from dataclasses import dataclass

from flask import request, url_for


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: object  # a lazy translated string
    roles: tuple  # Role values allowed to see it; empty = every signed-in user
    order: int = 50
    match_prefix: str | None = None  # URL prefix that marks the item as current


_items: list[NavItem] = []


def nav_item(endpoint: str, label, roles=(), order: int = 50, match_prefix: str | None = None) -> None:
    _items.append(NavItem(endpoint, label, tuple(getattr(r, "value", r) for r in roles), order, match_prefix))
    _items.sort(key=lambda item: item.order)


def items_for(user) -> list[dict]:
    if not user or not user.is_authenticated:
        return []
    role = user.role.value
    result = []
    for item in _items:
        if item.roles and role not in item.roles:
            continue
        href = url_for(item.endpoint)
        prefix = item.match_prefix or href
        current = request.path == href or (prefix != "/" and request.path.startswith(prefix))
        result.append({"href": href, "label": item.label, "current": current})
    return result
