"""Event descriptions: Markdown rendered to HTML, then sanitised with nh3 (no scripts, no raw HTML that runs)."""
import html as html_module
import re
from functools import lru_cache

import markdown
import nh3

ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "b", "i", "code", "pre", "blockquote", "ul", "ol", "li",
    "h2", "h3", "h4", "a", "table", "thead", "tbody", "tr", "th", "td",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = {"http", "https", "mailto"}


@lru_cache(maxsize=512)
def render_markdown(text: str | None) -> str:
    """Safe HTML for a Markdown text. Raw HTML in the source is escaped, then the output is sanitised."""
    if not text:
        return ""
    md = markdown.Markdown(extensions=["sane_lists", "tables"], output_format="html")
    # Raw HTML blocks and inline HTML are shown as text, not passed through.
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    html = md.convert(text).replace("<h1>", "<h2>").replace("</h1>", "</h2>")  # the page has the h1
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes=URL_SCHEMES,
                     link_rel="noopener noreferrer nofollow")


def plain_text(text: str | None, limit: int | None = None) -> str:
    """The description without Markdown markup, for calendars and summaries."""
    html = render_markdown(text)
    plain = nh3.clean(html.replace("</p>", "</p>\n").replace("<br>", "\n").replace("</li>", "</li>\n"),
                      tags=set())
    plain = re.sub(r"\n{3,}", "\n\n", html_module.unescape(plain)).strip()
    if limit and len(plain) > limit:
        plain = plain[: limit - 1].rstrip() + "…"
    return plain
