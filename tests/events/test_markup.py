"""Descriptions: Markdown rendered, then sanitised."""
import re

import pytest

from exchange.events.markup import ALLOWED_TAGS, plain_text, render_markdown


def test_markdown_is_rendered():
    html = render_markdown("Some **bold** text\n\n- one\n- two\n\n[site](https://example.org)")
    assert "<strong>bold</strong>" in html
    assert "<li>one</li>" in html
    assert 'href="https://example.org"' in html and 'rel="noopener noreferrer nofollow"' in html


@pytest.mark.parametrize("source", [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "[click](javascript:alert(1))",
    '<div onclick="alert(1)">x</div>',
    "<iframe src=https://evil.example></iframe>",
    '<svg onload="alert(1)"></svg>',
])
def test_nothing_that_runs_survives(source):
    html = render_markdown(source)
    tags = re.findall(r"<[^>]*>", html)  # real tags only; escaped text is &lt;…&gt;
    assert all(t.split()[0].strip("</>") in ALLOWED_TAGS for t in tags)
    assert not any(re.search(r"\son\w+\s*=", t) for t in tags)
    assert "javascript:" not in " ".join(tags)


def test_raw_html_is_shown_as_text():
    assert "&lt;b&gt;hi&lt;/b&gt;" in render_markdown("<b>hi</b>")


def test_headings_start_below_the_page_title():
    assert "<h2>Programme</h2>" in render_markdown("# Programme")


def test_plain_text_for_calendars():
    assert plain_text("Some **bold**\n\n- one", limit=100) == "Some bold\n\none"
    assert plain_text("x" * 50, limit=10) == "x" * 9 + "…"
    assert plain_text("") == ""
