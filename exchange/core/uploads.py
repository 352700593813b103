"""Uploaded files: checked by content (not by name), size-limited, stored outside static/ under random names.
Pictures (logos, signatures, event covers) are also read whole by Pillow and limited in pixels (save_image)."""
import io
import math
import os
import secrets
import warnings
from dataclasses import dataclass

import filetype
from flask import current_app
from .i18n import gettext as _

from .errors import WorkflowError

MAX_UPLOAD_BYTES = 10 * 1024 * 1024

KINDS = {
    "pdf": ("application/pdf", ".pdf"),
    "jpeg": ("image/jpeg", ".jpg"),
    "png": ("image/png", ".png"),
}
DOCUMENT_KINDS = ("pdf", "jpeg", "png")
IMAGE_KINDS = ("jpeg", "png")
#: The most pixels of an uploaded picture, unless the setting MAX_IMAGE_PIXELS says otherwise. Decoded, each pixel
#: takes 4 bytes, and a certificate decodes its logo and signature each time it is rendered: a 136 KiB PNG of
#: 12000 × 12000 pixels made every render take 414 MiB. 4000 × 4000 is plenty for a logo or a cover.
MAX_IMAGE_PIXELS = 4000 * 4000
_PILLOW_FORMATS = {"jpeg": "JPEG", "png": "PNG"}


@dataclass(frozen=True)
class StoredFile:
    stored_name: str  # random, relative to the upload folder
    original_name: str
    mimetype: str
    size: int


def upload_folder() -> str:
    folder = current_app.config["UPLOAD_FOLDER"]
    os.makedirs(folder, exist_ok=True)
    return folder


def detect_kind(head: bytes) -> str | None:
    kind = filetype.guess(head)
    if kind is None:
        return None
    return {"application/pdf": "pdf", "image/jpeg": "jpeg", "image/png": "png"}.get(kind.mime)


def clean_filename(name: str | None) -> str:
    name = os.path.basename((name or "").replace("\\", "/")).strip()
    name = "".join(c for c in name if c.isprintable() and c not in '<>:"/\\|?*')
    return name[:200] or "file"


def max_image_pixels() -> int:
    return current_app.config.get("MAX_IMAGE_PIXELS") or MAX_IMAGE_PIXELS


def init_app(app) -> None:
    """Pillow's own guard against decompression bombs (a warning above the limit, an error above twice it), for
    whatever it opens in this process (WeasyPrint: the pictures of certificates), at the uploads' limit."""
    from PIL import Image
    Image.MAX_IMAGE_PIXELS = app.config.get("MAX_IMAGE_PIXELS") or MAX_IMAGE_PIXELS


def check_image(data: bytes, kind: str, field: str | None = None) -> None:
    """Refuse (WorkflowError beside `field`) a picture that Pillow cannot read whole as a `kind` image, or one of
    more than max_image_pixels() pixels. Its size is read from its header before anything is decoded."""
    from PIL import Image
    limit = max_image_pixels()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[_PILLOW_FORMATS[kind]]) as image:
                width, height = image.size
                if width * height > limit:
                    raise _too_many_pixels(limit, field)
                image.verify()
            with Image.open(io.BytesIO(data), formats=[_PILLOW_FORMATS[kind]]) as image:
                image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels(limit, field) from None
    except WorkflowError:
        raise
    except Exception:  # Pillow raises many kinds (OSError, SyntaxError, ValueError, struct.error…) for a bad file
        allowed = ", ".join(k.upper() for k in IMAGE_KINDS)
        raise WorkflowError(_("This file is not a real %(kinds)s file. Please upload a %(kinds)s.", kinds=allowed),
                            code="bad-type", field=field, status=415) from None


def _too_many_pixels(limit: int, field: str | None) -> WorkflowError:
    return WorkflowError(
        _("This image is too large: at most %(megapixels)s million pixels (for example %(side)s × %(side)s). "
          "Please make it smaller and upload it again.", megapixels=f"{limit / 1_000_000:g}", side=math.isqrt(limit)),
        code="too-many-pixels", field=field, status=422)


def save_image(storage, field: str | None = None) -> StoredFile:
    """save_upload for a picture (a logo, a signature, an event cover): a PNG or JPEG that Pillow reads whole, of
    at most max_image_pixels() pixels."""
    return save_upload(storage, kinds=IMAGE_KINDS, field=field, check=check_image)


def save_upload(storage, kinds=DOCUMENT_KINDS, max_bytes: int = MAX_UPLOAD_BYTES, field: str | None = None,
                check=None) -> StoredFile:
    """Check and store a werkzeug FileStorage; raise WorkflowError (shown beside `field`) when it is refused.
    `check(data, kind, field)` may refuse it too, before it is stored."""
    if storage is None or not getattr(storage, "filename", None):
        raise WorkflowError(_("Please choose a file."), code="no-file", field=field)
    data = storage.stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise WorkflowError(_("The file is too large: at most %(mb)s MB.", mb=max_bytes // (1024 * 1024)),
                            code="too-large", field=field, status=413)
    if not data:
        raise WorkflowError(_("The file is empty."), code="empty", field=field)
    kind = detect_kind(data[:4096])
    if kind not in kinds:
        allowed = ", ".join(k.upper() for k in kinds)
        raise WorkflowError(_("This file is not a real %(kinds)s file. Please upload a %(kinds)s.", kinds=allowed),
                            code="bad-type", field=field, status=415)
    if check is not None:
        check(data, kind, field)
    mimetype, extension = KINDS[kind]
    stored_name = secrets.token_hex(16) + extension
    with open(os.path.join(upload_folder(), stored_name), "wb") as fh:
        fh.write(data)
    return StoredFile(stored_name, clean_filename(storage.filename), mimetype, len(data))


def path_of(stored_name: str) -> str:
    """Absolute path of a stored file; refuses anything that is not a plain stored name."""
    if not stored_name or os.path.basename(stored_name) != stored_name or stored_name.startswith("."):
        raise ValueError("bad stored name")
    return os.path.join(upload_folder(), stored_name)


def delete_upload(stored_name: str | None) -> None:
    if not stored_name:
        return
    try:
        os.remove(path_of(stored_name))
    except (FileNotFoundError, ValueError):
        pass


def send_upload(stored_name: str, mimetype: str, download_name: str, as_attachment: bool = False):
    """Serve a stored file to someone the view has already checked may see it. A stored name that is not a plain
    name, or a file that is gone from UPLOAD_FOLDER, is logged and answers 404 (not 500)."""
    from flask import abort, current_app, send_file
    try:
        path = path_of(stored_name)
        if not os.path.isfile(path):
            raise FileNotFoundError(stored_name)
    except (ValueError, FileNotFoundError) as exc:
        current_app.logger.error("Stored file %r cannot be served: %s", stored_name, exc.__class__.__name__)
        abort(404)
    response = send_file(path, mimetype=mimetype, download_name=download_name,
                         as_attachment=as_attachment, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
