"""Rendering: every kind, long and non-Latin names, languages, and the safety of user text."""
import os
import socket
import threading

import pytest

from exchange.certificates import pdf, services
from exchange.certificates.models import CertificateKind
from exchange.core.uploads import upload_folder
from tests.fixtures.files import font_names, page_count, pdf_text, png_bytes

SIXTY = "Maximiliana Alexandra Konstantinopoulou-Wittgenstein Hernández"[:60]
ATTACKS = ['<img src="file:///etc/passwd">', '<link rel="stylesheet" href="http://127.0.0.1:{port}/">',
           "<script>alert(1)</script>", '<svg><image href="file:///etc/hostname"/></svg>']


def issue_participation(make_event, attend, name="Sofia Martins", title="International Food Fair", **user_kw):
    event = make_event(title=title)
    registration = attend(event, name=name, **user_kw)
    return services.issue_certificate(CertificateKind.participation, registration.id, by=None)


@pytest.mark.parametrize("name", ["Sofia Martins", SIXTY, "王秀英", "Özlem Çelik", "محمد"])
def test_participation_fits_one_page_with_any_name(db, home, make_past_event, attend, name):
    certificate = issue_participation(make_past_event, attend, name=name)
    data = services.pdf_of(certificate)
    assert data.startswith(b"%PDF") and page_count(data) == 1
    text = pdf_text(data)
    assert "Certificate of participation" in text and "International Food Fair" in text
    assert certificate.number in text
    if name != "محمد":  # pypdf returns Arabic in presentation forms; the glyph check below covers it
        assert name.replace(" ", "") in text.replace(" ", "").replace("\n", "")


def test_non_latin_names_use_fonts_that_have_their_glyphs(db, home, make_past_event, attend):
    for name, font in (("王秀英", "CJK"), ("محمد", "Arabic"), ("Özlem Çelik", "Noto-Serif")):
        certificate = issue_participation(make_past_event, attend, name=name)
        fonts = font_names(services.pdf_of(certificate))
        assert any(font in f for f in fonts), f"no {font} font embedded for {name}: {fonts}"
        assert not any("DejaVu" in f or "Last" in f for f in fonts), fonts


@pytest.mark.parametrize("name", ["Sofia Martins", SIXTY, "王秀英", "محمد"])
def test_placement_letter_and_completion_certificate(db, home, completed, make_user, name):
    from exchange.auth.models import Role
    application = completed(student=make_user(Role.student, name=name, password=None))
    for kind in (CertificateKind.placement, CertificateKind.completion):
        certificate = services.issue_certificate(kind, application.id, by=None)
        data = services.pdf_of(certificate)
        assert page_count(data) == 1
        text = pdf_text(data)
        assert "Università di Bologna" in text and "2026/27" in text and "0311" in text
        if kind is CertificateKind.placement:
            assert "Placement letter" in text and "Autumn semester" in text
        else:
            assert "Certificate of completed exchange" in text and "30 ECTS credits" in text
            assert "September 14, 2026" in text and "January 29, 2027" in text


def test_a_long_event_title_stays_on_one_page(db, home, make_past_event, attend):
    certificate = issue_participation(make_past_event, attend, name=SIXTY, title="Festival " * 22)
    assert page_count(services.pdf_of(certificate)) == 1


@pytest.mark.parametrize(("language", "month"), [("es", "marzo"), ("fr", "mars"), ("en", "March")])
def test_rendered_in_the_certificate_language(db, home, make_past_event, attend, language, month):
    certificate = issue_participation(make_past_event, attend, locale=language)
    assert certificate.language == language  # the recipient's preference
    context = services.context_of(certificate)
    html = pdf.section_html(context)
    assert f'lang="{language}"' in html and month in html
    assert month in pdf_text(services.pdf_of(certificate))


def test_section_html_is_rendered_under_force_locale(db, home, make_past_event, attend, monkeypatch):
    """All certificate text goes through gettext while the certificate's locale is forced."""
    from exchange.core import i18n
    seen = []
    original = i18n.translations

    def spy():
        seen.append(str(i18n.current_locale()))
        return original()
    certificate = issue_participation(make_past_event, attend, locale="fr")
    monkeypatch.setattr(i18n, "translations", spy)
    pdf.section_html(services.context_of(certificate))
    assert len(seen) > 5 and set(seen) == {"fr"}


@pytest.fixture
def listener():
    """A TCP server on a free port that records connections."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.settimeout(0.2)
    connections = []
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                connections.append(conn)
                conn.close()
            except OSError:
                continue
    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], connections
    stop.set()
    thread.join(timeout=2)
    server.close()


@pytest.mark.parametrize("attack", ATTACKS)
def test_user_text_is_printed_literally_and_fetches_nothing(db, home, make_past_event, attend, renders, listener,
                                                           attack):
    port, connections = listener
    attack = attack.format(port=port)
    certificate = issue_participation(make_past_event, attend, name=f"Ana {attack}", title=f"Fair {attack}")
    data = services.pdf_of(certificate)
    text = pdf_text(data).replace("\n", "")
    assert attack.replace(" ", "") in text.replace(" ", "")
    requested = [url for fetcher in renders.fetchers for url in fetcher.requested]
    assert all(url.startswith(pdf.ASSET_ORIGIN) for url in requested), requested
    assert not any("passwd" in url or "127.0.0.1" in url or "hostname" in url for url in requested)
    assert connections == []
    assert b"/Subtype /Image" not in data  # no image from user text


def test_signatory_text_is_escaped_too(db, home, make_past_event, attend, renders):
    home.signatory_name = '<img src="file:///etc/passwd">Dr. Ruiz'
    home.name = "<script>x</script> University"
    certificate = issue_participation(make_past_event, attend)
    text = "".join(pdf_text(services.pdf_of(certificate)).split())
    assert '<imgsrc="file:///etc/passwd">Dr.Ruiz' in text and "<script>x</script>University" in text
    assert not any("passwd" in url for f in renders.fetchers for url in f.requested)


def test_logo_and_signature_come_from_the_allowed_uploads(db, home, make_past_event, attend, renders):
    import hashlib
    frozen = {}
    for attribute, name, image in (("logo_path", "logo-test.png", png_bytes(4, 2)),
                                   ("signature_path", "sig-test.png", png_bytes(3, 2))):
        with open(os.path.join(upload_folder(), name), "wb") as fh:
            fh.write(image)
        setattr(home, attribute, name)
        frozen[name] = f"frozen-{hashlib.sha256(image).hexdigest()}.png"
    certificate = issue_participation(make_past_event, attend)
    data = services.pdf_of(certificate)
    requested = [url for f in renders.fetchers for url in f.requested]
    # The certificate's own copies, named by their content (the settings' files may be replaced later).
    assert pdf.ASSET_ORIGIN + "uploads/" + frozen["logo-test.png"] in requested
    assert pdf.ASSET_ORIGIN + "uploads/" + frozen["sig-test.png"] in requested
    assert not any(url.endswith(("/logo-test.png", "/sig-test.png")) for url in requested)
    assert data.count(b"/Subtype /Image") >= 2


@pytest.fixture
def fetcher(app, tmp_path):
    (tmp_path / "allowed.png").write_bytes(png_bytes())
    (tmp_path / "other.png").write_bytes(png_bytes())
    return pdf.AssetFetcher(pdf.Assets(static_folder=app.static_folder, upload_folder=str(tmp_path),
                                       uploads=frozenset({"allowed.png"})))


@pytest.mark.parametrize("url", [
    "file:///etc/passwd",
    "http://127.0.0.1:9/",
    "https://example.org/logo.png",
    "data:image/png;base64,iVBORw0KGgo=",
    "ftp://127.0.0.1/x",
    pdf.ASSET_ORIGIN + "static/../../../etc/passwd",
    pdf.ASSET_ORIGIN + "static/css/%2e%2e/%2e%2e/etc/passwd",
    pdf.ASSET_ORIGIN + "static/js/app.js",
    pdf.ASSET_ORIGIN + "static/css/certificates-print.css?x=1",
    pdf.ASSET_ORIGIN + "uploads/other.png",
    pdf.ASSET_ORIGIN + "uploads/../allowed.png",
    pdf.ASSET_ORIGIN + "uploads//etc/passwd",
    "https://certificate-assets.invalid.evil.example/static/css/certificates-print.css",
])
def test_the_fetcher_refuses_everything_else(fetcher, url):
    with pytest.raises(pdf.RefusedURL):
        fetcher(url)


def test_the_fetcher_serves_our_assets(fetcher):
    css = fetcher(pdf.ASSET_ORIGIN + "static/css/certificates-print.css")
    assert b"@page" in css.read() and css.content_type == "text/css"
    image = fetcher(pdf.ASSET_ORIGIN + "uploads/allowed.png")
    assert image.read().startswith(b"\x89PNG") and image.content_type == "image/png"


def test_a_batch_gives_one_pdf_per_certificate_and_a_merged_one(db, home, make_past_event, attend):
    event = make_past_event()
    certificates = [services.issue_certificate(CertificateKind.participation, attend(event, name=n).id, None)
                    for n in ("Ana", "王秀英", SIXTY)]
    rendered = services.render_certificates(certificates)
    assert page_count(rendered.merged()) == 3 and rendered.rendered == 3
    for certificate, data in rendered.files:
        assert page_count(data) == 1 and certificate.number in pdf_text(data)


def test_the_render_pool_falls_back_to_this_process(app, db, home, make_past_event, attend, monkeypatch):
    monkeypatch.setitem(app.config, "CERTIFICATE_RENDER_PROCESSES", 2)
    monkeypatch.setitem(app.config, "CERTIFICATE_CHUNK_SIZE", 1)

    def broken(processes):
        raise OSError("no processes here")
    monkeypatch.setattr(pdf, "_pool", broken)
    event = make_past_event()
    certificates = [services.issue_certificate(CertificateKind.participation, attend(event).id, None)
                    for _ in range(2)]
    assert page_count(services.render_certificates(certificates).merged()) == 2


def test_the_render_pool_uses_two_processes(app, db, home, make_past_event, attend, monkeypatch, caplog):
    monkeypatch.setitem(app.config, "CERTIFICATE_RENDER_PROCESSES", 2)
    monkeypatch.setitem(app.config, "CERTIFICATE_CHUNK_SIZE", 2)
    pools = []
    original = pdf._pool

    def spy(processes):
        pools.append(processes)
        return original(processes)
    monkeypatch.setattr(pdf, "_pool", spy)
    event = make_past_event()
    certificates = [services.issue_certificate(CertificateKind.participation, attend(event, name=f"P{i}").id, None)
                    for i in range(4)]
    rendered = services.render_certificates(certificates)
    assert page_count(rendered.merged()) == 4
    assert [f"P{i}" in pdf_text(data) for i, (_c, data) in enumerate(rendered.files)] == [True] * 4
    assert "pool failed" not in caplog.text
    # A pool of two processes did the work: both chunks were laid out in worker processes, not in this one.
    assert pools == [2]
    assert len(rendered.render_pids) == 2 and os.getpid() not in rendered.render_pids
    assert rendered.pool_cpu_seconds > 0


def test_specimens_render_in_every_language(db, home):
    for kind in CertificateKind:
        for language in ("en", "es", "fr"):
            data = services.render_specimen(kind, language)
            assert page_count(data) == 1


def test_stored_and_fresh_pdfs_merge_in_order(db, home, make_past_event, attend, renders):
    event = make_past_event()
    registrations = [attend(event, name=n) for n in ("Ana", "Bea", "Cleo", "Dora")]
    certificates = [services.issue_certificate(CertificateKind.participation, r.id, None) for r in registrations]
    services.pdf_of(certificates[1])
    stored = services.pdf_of(certificates[3])
    registrations[3].user.name = "Dora Changed"  # issued certificates keep the name they were issued with
    renders.count = 0
    rendered = services.render_certificates(certificates)
    assert rendered.rendered == 2 and renders.count == 1  # Ana and Cleo in one pass; Bea and Dora from storage
    assert rendered.files[3][1] == stored
    text = pdf_text(rendered.merged())
    assert text.index("Ana") < text.index("Bea") < text.index("Cleo") < text.index("Dora")
    assert "Dora Changed" not in text
    assert page_count(rendered.merged()) == 4


def test_qr_placeholders_cannot_come_from_user_text(db, home, make_past_event, attend, renders):
    fake = '<div class="qr" data-qr="file:///etc/passwd"></div>'
    certificate = issue_participation(make_past_event, attend, name=fake)
    html = pdf.section_html(services.context_of(certificate))
    assert html.count('data-qr="') == 1 and "&lt;div class=&#34;qr&#34;" in html
    assert "<svg" in pdf.add_qr_codes(html) and pdf.add_qr_codes(html).count("<svg") == 1
    assert fake in pdf_text(services.pdf_of(certificate)).replace("\n", "")
