"""core.uploads: pictures are read whole by Pillow and limited in pixels; names are cleaned; stored names stay in
the upload folder."""
import io
import os

import pytest
from PIL import Image
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import NotFound

from exchange.core.errors import WorkflowError
from exchange.core.uploads import MAX_IMAGE_PIXELS, delete_upload, path_of, save_image, send_upload, upload_folder
from tests.fixtures.files import FAKE_PNG, TRUNCATED_PNG, huge_png, picture


def storage(data: bytes, name: str = "picture.png") -> FileStorage:
    return FileStorage(stream=io.BytesIO(data), filename=name)


def stored_files() -> set[str]:
    return set(os.listdir(upload_folder()))


def test_the_default_limit_and_pillows_own(app):
    assert app.config["MAX_IMAGE_PIXELS"] == MAX_IMAGE_PIXELS == 4000 * 4000
    assert Image.MAX_IMAGE_PIXELS == app.config["MAX_IMAGE_PIXELS"]  # set by create_app (uploads.init_app)


@pytest.mark.parametrize(("data", "name"), [(picture(40, 20), "logo.png"), (picture(64, 48, "JPEG", "RGB"), "s.jpg"),
                                            (picture(4000, 4000), "cover.png")])
def test_a_picture_within_the_limit_is_stored(app, data, name):
    with app.test_request_context():
        stored = save_image(storage(data, name), field="logo")
        with open(path_of(stored.stored_name), "rb") as fh:
            assert fh.read() == data
        delete_upload(stored.stored_name)


def test_a_picture_of_too_many_pixels_is_refused_before_it_is_decoded(app):
    data = huge_png()
    assert len(data) < 64 * 1024
    with app.test_request_context():
        before = stored_files()
        with pytest.raises(WorkflowError) as info:
            save_image(storage(data), field="logo")
        assert stored_files() == before
    assert (info.value.code, info.value.field, info.value.status) == ("too-many-pixels", "logo", 422)
    assert "at most 16 million pixels (for example 4000 × 4000)" in info.value.message


def test_the_pixel_limit_is_a_setting(app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_IMAGE_PIXELS", 100 * 100)
    with app.test_request_context():
        stored = save_image(storage(picture(100, 100)))
        delete_upload(stored.stored_name)
        for size in ((101, 100), (1, 10001), (150, 150)):  # past the limit, and past Pillow's own warning
            with pytest.raises(WorkflowError) as info:
                save_image(storage(picture(*size)), field="cover")
            assert info.value.code == "too-many-pixels" and "0.01 million pixels" in info.value.message


@pytest.mark.parametrize("data", [FAKE_PNG, TRUNCATED_PNG, b"plain text renamed to .png",
                                  b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"])
def test_what_pillow_cannot_read_whole_is_refused(app, data):
    with app.test_request_context():
        before = stored_files()
        with pytest.raises(WorkflowError) as info:
            save_image(storage(data), field="signature")
        assert stored_files() == before
    assert (info.value.field, info.value.status) == ("signature", 415)
    assert "not a real JPEG, PNG file" in info.value.message


# --- Stored names never leave the upload folder ------------------------------------------------------

@pytest.mark.parametrize("name", ["../x", "../../etc/passwd", "sub/x.pdf", "/etc/passwd", ".hidden", "..", "", None])
def test_a_stored_name_that_is_not_a_plain_name_is_refused(app, name):
    with app.app_context():
        with pytest.raises(ValueError):
            path_of(name)
        with app.test_request_context(), pytest.raises(NotFound):
            send_upload(name, "application/pdf", "x.pdf")


def test_serving_a_name_outside_the_folder_or_a_lost_file_is_not_found(app, tmp_path, monkeypatch):
    folder = tmp_path / "uploads"
    folder.mkdir()
    (tmp_path / "secret.txt").write_text("outside the upload folder")
    (folder / "kept.pdf").write_bytes(b"%PDF-1.4 kept")
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(folder))
    with app.app_context(), app.test_request_context():
        for name in ("../secret.txt", "lost.pdf"):
            with pytest.raises(NotFound):
                send_upload(name, "text/plain", "x.txt")
        response = send_upload("kept.pdf", "application/pdf", "kept.pdf")
        response.direct_passthrough = False
        assert response.status_code == 200 and response.get_data() == b"%PDF-1.4 kept"


def test_deleting_a_stored_name_with_a_path_leaves_files_outside_the_folder(app, tmp_path, monkeypatch):
    folder = tmp_path / "uploads"
    folder.mkdir()
    outside = tmp_path / "keep.txt"
    outside.write_text("not an upload")
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(folder))
    with app.app_context():
        delete_upload("../keep.txt")
    assert outside.read_text() == "not an upload"
