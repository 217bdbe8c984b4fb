"""Member photos: checked to be real images, stored outside the database by SHA-256.

The same picture on two members is what bulk fake enrolment leaves behind,
so the hash is indexed for the audit reports.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from PIL import Image, UnidentifiedImageError

from backoffice.services.errors import ValidationError

FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
MAX_PIXELS = 40_000_000


def photo_dir() -> Path:
    return Path(current_app.config.get("PHOTO_DIR") or Path(current_app.instance_path) / "photos")


def store(data: bytes) -> tuple[str, str]:
    """Check and keep an uploaded photo; return (relative path, sha256)."""
    if not data:
        raise ValidationError(_l("Choose or take a photo."), field="photo")
    if len(data) > current_app.config["PHOTO_MAX_BYTES"]:
        raise ValidationError(_l("The photo is too large (at most %(n)s MB).",
                                 n=current_app.config["PHOTO_MAX_BYTES"] // 1_000_000),
                              field="photo")
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format
            width, height = image.size
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationError(_l("This file is not a photo (JPEG, PNG or WebP)."),
                              field="photo") from None
    if kind not in FORMATS or width * height > MAX_PIXELS:
        raise ValidationError(_l("This file is not a photo (JPEG, PNG or WebP)."),
                              field="photo")
    digest = hashlib.sha256(data).hexdigest()
    relative = f"{digest[:2]}/{digest}.{FORMATS[kind]}"
    path = photo_dir() / relative
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".part")
        temporary.write_bytes(data)
        temporary.replace(path)  # atomic: a crash leaves no half-written photo
    return relative, digest
