"""Rendered fragments of a page kept per process, under a key that holds everything they show.

For a part of a busy page that is expensive to render and the same on most requests: the pipeline's filter form
(seven fields, one of them a select of the call's hundreds of destinations) is rendered once per language, call
version and query, then reused. The key must name every input of the fragment; an entry is never stale, only
evicted (least recently used first).
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from threading import Lock

from markupsafe import Markup


class FragmentCache:
    def __init__(self, size: int):
        self.size = size
        self._kept: OrderedDict[Hashable, Markup] = OrderedDict()
        self._lock = Lock()

    def get_or_render(self, key: Hashable, render: Callable[[], str]) -> Markup:
        with self._lock:
            found = self._kept.get(key)
            if found is not None:
                self._kept.move_to_end(key)
                return found
        html = Markup(render())
        with self._lock:
            self._kept[key] = html
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return html

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()
