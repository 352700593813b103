"""The home page is made of panels that each domain contributes for the roles it concerns.

A domain registers a provider: `@panel(order=20)` over `def f(user) -> Panel | None`. Providers query
what they need (counts in SQL, a few rows) and the template renders them in order.
"""
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class Panel:
    template: str
    context: dict = field(default_factory=dict)
    order: int = 50


_providers: list[tuple[int, Callable]] = []


def panel(order: int = 50):
    def decorator(func):
        _providers.append((order, func))
        # Equal orders fall back to the module's name: the layout must not depend on import order.
        _providers.sort(key=lambda item: (item[0], item[1].__module__))
        return func
    return decorator


def panels_for(user) -> list[Panel]:
    result = []
    for order, provider in _providers:
        found = provider(user)
        if found is not None:
            found.order = order
            result.append(found)
    return result
