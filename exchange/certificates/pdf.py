"""Certificate PDFs: templates/certificates/pdf/*.html rendered by WeasyPrint from a plain dict.

Safety: every piece of text comes from users and is escaped by Jinja's autoescaping. WeasyPrint gets an
:class:`AssetFetcher` that answers only for the print stylesheet and fonts under static/ and for the
uploaded logo and signature named in the context; it refuses every other URL (file:, http:, data:, …),
so nothing on a certificate can make the renderer read a local file or open a connection.

Speed: one FontConfiguration and one parsed print stylesheet per thread; the QR code is one SVG path;
many certificates are laid out in one WeasyPrint pass per chunk (fonts subset once per chunk), and chunks
are spread over a small process pool when there are many (see :func:`render_many`).

The functions below the "pure" line need no Flask app and run in the worker processes.
"""
from __future__ import annotations

import hashlib
import io
import logging
import mimetypes
import os
import posixpath
import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache

log = logging.getLogger(__name__)

#: The origin under which templates refer to assets. `.invalid` never resolves (RFC 2606), and the
#: fetcher never goes to the network anyway: it maps these URLs to files, or refuses.
ASSET_ORIGIN = "https://certificate-assets.invalid/"
PRINT_STYLESHEET = "css/certificates-print.css"
STATIC_PREFIXES = ("css/", "fonts/", "img/")
TEMPLATES = {
    "participation": "certificates/pdf/participation.html",
    "placement": "certificates/pdf/placement.html",
    "completion": "certificates/pdf/completion.html",
}
_SAFE_PATH = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")


# --- In the app: from the context dict to HTML ------------------------------------------------------

def asset_url(kind: str, name: str | None) -> str:
    """URL of a static asset ('static', 'css/x.css') or an uploaded image ('upload', stored name)."""
    if not name:
        return ""
    return f"{ASSET_ORIGIN}{'uploads' if kind == 'upload' else 'static'}/{name}"


def qr_svg(url: str) -> str:
    """The verification link as a QR code: inline SVG with a single <path> (cheap to lay out)."""
    import segno
    return segno.make(url, error="m", micro=False).svg_inline(scale=1, border=0, omitsize=True, dark="#111")


_QR_PLACEHOLDER = re.compile(r'<div class="qr" data-qr="([^"<>]*)"></div>')


def add_qr_codes(html: str) -> str:
    """Fill each QR placeholder of the templates with the code for its URL.

    Done in the render step (the worker processes) so that encoding hundreds of codes runs in parallel.
    The URL is our own verification link, attribute-escaped by Jinja; user text cannot form a
    placeholder because its "<" is escaped.
    """
    from html import unescape
    return _QR_PLACEHOLDER.sub(lambda m: f'<div class="qr">{qr_svg(unescape(m.group(1)))}</div>', html)


def section_html(context: dict) -> str:
    """One certificate as an HTML <section>, in the certificate's language."""
    from flask import render_template
    from flask_babel import force_locale

    from .display import TEMPLATE_HELPERS
    with force_locale(context["language"]):
        return render_template(TEMPLATES[context["kind"]], c=context, asset=asset_url, **TEMPLATE_HELPERS)


def assets_for(contexts) -> "Assets":
    """What the fetcher may serve for these certificates: static/, and only their logo and signature."""
    from flask import current_app

    from ..core.uploads import upload_folder
    uploads = set()
    for context in contexts:
        for name in (context["institution"].get("logo"), context["signatory"].get("signature")):
            if name:
                uploads.add(name)
    return Assets(static_folder=current_app.static_folder, upload_folder=upload_folder(),
                  uploads=frozenset(uploads))


@lru_cache(maxsize=1)
def design_fingerprint() -> str:
    """A digest of the PDF templates and the print stylesheet: part of every certificate's content hash,
    so changing the design re-renders stored PDFs on their next download."""
    from flask import current_app
    digest = hashlib.sha256()
    roots = [os.path.join(current_app.root_path, current_app.template_folder, "certificates", "pdf"),
             os.path.join(current_app.static_folder, "css")]
    for root in roots:
        for name in sorted(os.listdir(root)) if os.path.isdir(root) else []:
            if root.endswith("pdf") or name == os.path.basename(PRINT_STYLESHEET):
                with open(os.path.join(root, name), "rb") as fh:
                    digest.update(name.encode() + b"\0" + fh.read())
    return digest.hexdigest()[:16]


# --- Pure: from HTML to PDF (no Flask; runs in worker processes too) -------------------------------

@dataclass(frozen=True)
class Assets:
    static_folder: str
    upload_folder: str
    uploads: frozenset = frozenset()


class RefusedURL(ValueError):
    pass


def _fetcher_base():
    from weasyprint.urls import URLFetcher
    return URLFetcher


class AssetFetcher(_fetcher_base()):
    """Serves our static assets and the allowed uploads; refuses everything else. Never opens a socket.

    `requested` lists every URL WeasyPrint asked for (tests check that nothing from user text is there).
    """

    def __init__(self, assets: Assets):
        super().__init__(allowed_protocols=())
        self.assets = assets
        self.requested: list[str] = []
        self._cache: dict[str, tuple[bytes, str]] = {}

    def fetch(self, url, headers=None):
        from weasyprint.urls import URLFetcherResponse
        self.requested.append(url)
        body, mimetype = self._cache.get(url) or self._load(url)
        self._cache[url] = (body, mimetype)
        return URLFetcherResponse(url, body=body, headers={"Content-Type": mimetype})

    def _load(self, url: str) -> tuple[bytes, str]:
        path = self.resolve(url)
        with open(path, "rb") as fh:
            body = fh.read()
        return body, mimetypes.guess_type(path)[0] or "application/octet-stream"

    def resolve(self, url: str) -> str:
        """The local file behind an allowed URL; RefusedURL for anything else."""
        if not isinstance(url, str) or not url.startswith(ASSET_ORIGIN):
            raise RefusedURL(f"refused: {url[:200]!r}")
        rest = url[len(ASSET_ORIGIN):].split("#", 1)[0]
        if "?" in rest or "%" in rest or "\\" in rest or not _SAFE_PATH.match(rest) \
                or posixpath.normpath(rest) != rest or ".." in rest.split("/"):
            raise RefusedURL(f"refused: {url[:200]!r}")
        area, _, name = rest.partition("/")
        if area == "static" and name.startswith(STATIC_PREFIXES):
            return os.path.join(self.assets.static_folder, *name.split("/"))
        if area == "uploads" and name in self.assets.uploads and "/" not in name:
            return os.path.join(self.assets.upload_folder, name)
        raise RefusedURL(f"refused: {url[:200]!r}")

    def __call__(self, url):
        return self.fetch(url)


_local = threading.local()


def _fonts_and_css(assets: Assets):
    """One FontConfiguration and one parsed print stylesheet per thread (and per static folder)."""
    cached = getattr(_local, "prepared", None)
    if cached is None or cached[0] != assets.static_folder:
        from weasyprint import CSS
        from weasyprint.text.fonts import FontConfiguration
        font_config = FontConfiguration()
        fetcher = AssetFetcher(assets)
        css = CSS(url=asset_url("static", PRINT_STYLESHEET), url_fetcher=fetcher, font_config=font_config)
        cached = (assets.static_folder, font_config, css)
        _local.prepared = cached
    return cached[1], cached[2]


def document_html(sections: list[str], title: str = "") -> str:
    from markupsafe import escape
    return (f'<!doctype html><html><head><meta charset="utf-8"><title>{escape(title)}</title></head><body>'
            + "".join(sections) + "</body></html>")


def render_document(html: str, assets: Assets, fetcher: AssetFetcher | None = None):
    """Lay out one HTML document (one or many certificates) → weasyprint Document."""
    from weasyprint import HTML
    font_config, css = _fonts_and_css(assets)
    fetcher = fetcher or AssetFetcher(assets)
    return HTML(string=add_qr_codes(html), base_url=ASSET_ORIGIN, url_fetcher=fetcher).render(
        stylesheets=[css], font_config=font_config)


def render_pdf(section: str, assets: Assets, fetcher: AssetFetcher | None = None, title: str = "") -> bytes:
    """One certificate → PDF bytes."""
    return render_document(document_html([section], title), assets, fetcher).write_pdf()


def _section_pages(document, count: int) -> list[list[int]]:
    """Page indexes of each certificate in a batch document (each section carries id="cert-<i>")."""
    groups: list[list[int]] = [[] for _ in range(count)]
    current = -1
    for index, page in enumerate(document.pages):
        starts = [int(a[5:]) for a in getattr(page, "anchors", {}) if a.startswith("cert-") and a[5:].isdigit()]
        if starts:
            current = min(starts)
        if 0 <= current < count:
            groups[current].append(index)
    return groups


_NAME = re.compile(rb"/([^\s/\[\]<>(){}%]+)")


def split_pdf(data: bytes, groups: list[list[int]]) -> list[bytes]:
    """Cut a PDF into one PDF per group of pages, without painting again.

    WeasyPrint gives every page of a document the same resources; each part keeps only the fonts and
    images its own pages use, so a part is about as small as a PDF rendered on its own.
    """
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import DictionaryObject, NameObject
    reader = PdfReader(io.BytesIO(data))
    parts = []
    for indexes in groups:
        writer = PdfWriter()
        for index in indexes:
            page = reader.pages[index]
            used = set(_NAME.findall(page.get_contents().get_data()))
            resources = DictionaryObject()
            for key, value in page["/Resources"].get_object().items():
                entries = value.get_object()
                if key in ("/Font", "/XObject") and isinstance(entries, DictionaryObject):
                    entries = DictionaryObject({k: v for k, v in entries.items() if k[1:].encode() in used})
                resources[NameObject(key)] = entries
            page[NameObject("/Resources")] = resources
            writer.add_page(page)
        out = io.BytesIO()
        writer.write(out)
        parts.append(out.getvalue())
    return parts


def render_batch(sections: list[str], assets: Assets, fetcher: AssetFetcher | None = None, title: str = ""
                 ) -> tuple[bytes, list[bytes], list[list[int]]]:
    """Many certificates in one WeasyPrint pass → (all of them as one PDF, one PDF per certificate,
    the page indexes of each certificate in the first)."""
    numbered = [re.sub(r'^\s*<section ', f'<section id="cert-{i}" ', s, count=1) for i, s in enumerate(sections)]
    document = render_document(document_html(numbered, title), assets, fetcher)
    merged = document.write_pdf()
    pages = _section_pages(document, len(sections))
    return merged, split_pdf(merged, pages), pages


def _render_chunk(args) -> tuple[bytes, list[bytes], list[list[int]], float, int]:
    """One chunk, in a worker process (or here): its PDFs, the CPU seconds they took and the process id."""
    import time
    sections, assets, title = args
    started = time.process_time()
    merged, singles, pages = render_batch(sections, assets, title=title)
    return merged, singles, pages, time.process_time() - started, os.getpid()


@dataclass
class Rendered:
    merged: list[bytes] = field(default_factory=list)  # one PDF per chunk, in order
    singles: list[bytes] = field(default_factory=list)  # one PDF per certificate, in order
    locations: list[tuple[int, list[int]]] = field(default_factory=list)  # per certificate: chunk, its pages
    cpu_seconds: float = 0.0  # spent rendering, summed over the processes
    in_pool: bool = False  # rendered by worker processes (else in this one)
    pids: list[int] = field(default_factory=list)  # the process that rendered each chunk, in order


def _pool(processes: int):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if hasattr(context, "set_forkserver_preload"):
        context.set_forkserver_preload([__name__])
    return ProcessPoolExecutor(max_workers=processes, mp_context=context)


def render_many(sections: list[str], assets: Assets, processes: int = 1, chunk_size: int = 50,
                progress=None, title: str = "") -> Rendered:
    """Render many certificates in chunks of one WeasyPrint pass each, over `processes` processes.

    Falls back to rendering here when the pool cannot start or breaks. `progress(done, total)` is
    called after each chunk.
    """
    chunks = [sections[i:i + chunk_size] for i in range(0, len(sections), chunk_size)]
    result = Rendered()
    done = 0

    def collect(merged, singles, pages, cpu, pid):
        nonlocal done
        result.cpu_seconds += cpu
        result.pids.append(pid)
        result.locations.extend((len(result.merged), indexes) for indexes in pages)
        result.merged.append(merged)
        result.singles.extend(singles)
        done += len(singles)
        if progress:
            progress(done, len(sections))

    if processes > 1 and len(chunks) > 1:
        try:
            with _pool(min(processes, len(chunks))) as pool:
                for chunk_result in pool.map(_render_chunk, [(chunk, assets, title) for chunk in chunks]):
                    collect(*chunk_result)
            result.in_pool = True
            return result
        except Exception as exc:  # a pool that cannot start (sandbox, no /dev/shm…) or a dead worker
            log.warning("Certificate render pool failed (%s); rendering in this process", exc)
            result, done = Rendered(), 0
    for chunk in chunks:
        collect(*_render_chunk((chunk, assets, title)))
    return result


def merge_pdfs(parts: list) -> bytes:
    """Concatenate PDFs, or pages of them: each part is PDF bytes, or (PDF bytes, page indexes).

    Pages taken from the same PDF share its fonts and images in the result (pypdf copies them once).
    """
    from pypdf import PdfReader, PdfWriter
    writer = PdfWriter()
    readers: dict[int, PdfReader] = {}
    for part in parts:
        data, pages = part if isinstance(part, tuple) else (part, None)
        reader = readers.get(id(data))
        if reader is None:
            reader = readers[id(data)] = PdfReader(io.BytesIO(data))
        for index in (range(len(reader.pages)) if pages is None else pages):
            writer.add_page(reader.pages[index])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
