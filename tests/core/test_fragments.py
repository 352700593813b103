"""core.fragments: a fragment is rendered once per key, and the least recently used one goes first."""
from markupsafe import Markup

from exchange.core.fragments import FragmentCache


def test_rendered_once_per_key_and_evicted_least_recently_used_first():
    cache, rendered = FragmentCache(2), []

    def render(text):
        def _render():
            rendered.append(text)
            return f"<p>{text}</p>"
        return _render

    assert cache.get_or_render("a", render("a")) == Markup("<p>a</p>")
    assert cache.get_or_render("a", render("a again")) == Markup("<p>a</p>")
    cache.get_or_render("b", render("b"))
    cache.get_or_render("a", render("a"))  # a is now the most recent
    cache.get_or_render("c", render("c"))  # evicts b
    cache.get_or_render("a", render("a"))
    cache.get_or_render("b", render("b"))
    assert rendered == ["a", "b", "c", "b"]
    cache.clear()
    cache.get_or_render("a", render("a"))
    assert rendered[-1] == "a"
