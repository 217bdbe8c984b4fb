"""Member photos: checked to be real images, cleaned, and kept by SHA-256.

Phones write the place a picture was taken (often the member's home), the
camera and its maker's notes into the file. Nothing of the upload is kept
but its pixels: turned upright, shrunk to a thumbnail of a few tens of KB and
saved as a new JPEG with no metadata at all (docs/photos.md).

The same picture on two members is what bulk fake enrolment leaves behind.
Each photo carries a picture hash (a difference hash of its pixels) that
survives re-encoding and resizing, indexed for the audit reports.

Where the bytes live is this module's business alone: ``keep`` and ``read``
are the two places that touch the storage.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from flask import current_app
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageCms, ImageOps

from backoffice import storage
from backoffice.services.errors import ValidationError

FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
MAX_PIXELS = 40_000_000
SIDE = 480  # the longest side kept, in pixels: enough to recognise a face
QUALITIES = (75, 60, 45)  # tried in turn until the photo fits BUDGET
BUDGET = 60_000  # bytes
HASH_SIZE = 8  # an 8x8 difference hash: 64 bits, 16 hex digits

_NOT_A_PHOTO = _l("This file is not a photo (JPEG, PNG or WebP).")
_SRGB = ImageCms.createProfile("sRGB")


@dataclass(frozen=True)
class Cleaned:
    data: bytes  # a JPEG with no metadata
    picture_hash: str


@dataclass(frozen=True)
class StoredPhoto:
    data: bytes
    content_type: str
    sha256: str


def store(data: bytes) -> tuple[str, str]:
    """Check, clean and keep an uploaded photo; return (reference, sha256 of what is kept)."""
    return keep(clean(data).data)


def attach(member, data: bytes) -> None:
    """Give the member the uploaded photo, cleaned, with its picture hash."""
    cleaned = clean(data)
    member.photo_path, member.photo_sha256 = keep(cleaned.data)
    member.photo_phash = cleaned.picture_hash


def clean(data: bytes) -> Cleaned:
    """The upload's pixels alone, upright and small; refuses what is not a photo."""
    if not data:
        raise ValidationError(_l("Choose or take a photo."), field="photo")
    if len(data) > current_app.config["PHOTO_MAX_BYTES"]:
        raise ValidationError(_l("The photo is too large (at most %(n)s MB).",
                                 n=current_app.config["PHOTO_MAX_BYTES"] // 1_000_000),
                              field="photo")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            picture = _decode(data)
    except Exception:  # any failure to decode an untrusted upload means "not a photo"
        raise ValidationError(_NOT_A_PHOTO, field="photo") from None
    return Cleaned(_encode(picture), picture_hash(picture))


def _decode(data: bytes) -> Image.Image:
    """A new RGB image of at most SIDE pixels a side, carrying nothing but pixels.

    The size is checked before any pixel is decoded (a small file can claim
    gigapixels); a JPEG is decoded at a reduced scale straight away."""
    with Image.open(io.BytesIO(data), formats=list(FORMATS)) as image:
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise ValueError("not a photo we keep")
        if image.format == "JPEG":
            image.draft("RGB", (SIDE, SIDE))
        image.load()
        upright = ImageOps.exif_transpose(image)
        rgb = _to_srgb(upright)
    rgb.thumbnail((SIDE, SIDE), Image.Resampling.LANCZOS)
    pixels = Image.new("RGB", rgb.size)  # a fresh image: no info, EXIF, XMP or profile
    pixels.paste(rgb)
    return pixels


def _to_srgb(image: Image.Image) -> Image.Image:
    """RGB in sRGB: transparency on white, a colour profile applied rather than
    dropped (a wide-gamut phone photo would otherwise look washed out)."""
    if image.mode in ("RGBA", "LA", "PA") or (
            image.mode == "P" and "transparency" in image.info):
        image = image.convert("RGBA")
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, image)
    if image.mode not in ("RGB", "RGBA", "L", "CMYK", "P"):
        image = image.convert("L")  # 16-bit or float greys
    profile = image.info.get("icc_profile")
    if profile and image.mode in ("RGB", "RGBA", "CMYK"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            return ImageCms.profileToProfile(image, source, _SRGB, outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken profile: take the numbers as sRGB
    return image.convert("RGB")


def _encode(picture: Image.Image) -> bytes:
    """A JPEG of the pixels within BUDGET, without exif=, icc_profile= or xmp=."""
    for quality in QUALITIES:
        buffer = io.BytesIO()
        picture.save(buffer, "JPEG", quality=quality, optimize=True, progressive=True)
        if buffer.tell() <= BUDGET:
            break
    return buffer.getvalue()


def picture_hash(picture: Image.Image) -> str:
    """A difference hash: is each pixel of a tiny grey copy brighter than the next?

    Re-encoding, resizing or recompressing a picture leaves it unchanged or
    nearly so, unlike a hash of the bytes (docs/photos.md)."""
    grey = picture.convert("L").resize((HASH_SIZE + 1, HASH_SIZE), Image.Resampling.LANCZOS)
    row = HASH_SIZE + 1
    values = grey.tobytes()
    bits = 0
    for y in range(HASH_SIZE):
        for x in range(HASH_SIZE):
            bits = (bits << 1) | (values[y * row + x] > values[y * row + x + 1])
    return f"{bits:0{HASH_SIZE * HASH_SIZE // 4}x}"


def keep(data: bytes) -> tuple[str, str]:
    """Keep cleaned bytes once per content; return (reference, sha256)."""
    digest = hashlib.sha256(data).hexdigest()
    relative = f"{digest[:2]}/{digest}.jpg"
    storage.save(stored_name(relative), data)  # shared storage: every app host shows it
    return relative, digest


def stored_name(reference: str) -> str:
    """The storage name of a member's photo reference (member.photo_path)."""
    return f"photos/{reference}"


def discard(reference: str) -> None:
    """Remove a kept photo with the caller's transaction (erasure, re-cleaning)."""
    storage.delete(stored_name(reference))


def read(reference: str | None) -> StoredPhoto | None:
    """The kept photo behind a member's reference, or None if there is none.

    Photos kept before they were cleaned may be PNG or WebP: the reference's
    extension says which."""
    if not reference:
        return None
    parts = reference.split("/")
    kind = reference.rsplit(".", 1)[-1]
    if len(parts) != 2 or kind not in CONTENT_TYPES or any(
            part in ("", ".", "..") for part in parts):
        return None  # references are written by keep(); anything else is not ours
    try:
        data = storage.read(stored_name(reference))
    except (storage.Missing, ValueError):
        return None
    return StoredPhoto(data, CONTENT_TYPES[kind], hashlib.sha256(data).hexdigest())


def clean_kept(member) -> str | None:
    """Clean a photo kept before uploads were cleaned (it may still carry the
    phone's EXIF and GPS) and give it its picture hash; return the old reference,
    for the caller to discard in the same transaction, or None if nothing changed."""
    stored = read(member.photo_path)
    if stored is None:
        return None
    cleaned = clean(stored.data)
    old = member.photo_path
    member.photo_path, member.photo_sha256 = keep(cleaned.data)
    member.photo_phash = cleaned.picture_hash
    return old if old != member.photo_path else None
