"""Uploaded photos keep their pixels only: no EXIF, GPS, maker notes, XMP, text or
colour profile; upright, small, and hashed so the same picture is found again."""

import io
import struct
import zlib

import pytest
from flask_babel import force_locale
from PIL import Image, ImageCms, ImageDraw, PngImagePlugin

from backoffice import storage
from backoffice.extensions import db
from backoffice.services import photos
from backoffice.services.errors import ValidationError
from tests import factories
from tests.storage import kept

GPS_IFD, MAKE, MODEL, MAKER_NOTE, ORIENTATION, EXIF_IFD = 0x8825, 0x010F, 0x0110, 0x927C, \
    0x0112, 0x8769
XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/'
       b'02/22-rdf-syntax-ns#"><rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" '
       b'exif:GPSLatitude="22,4.8N"/></rdf:RDF></x:xmpmeta>')
SECRETS = (b"PhoneMakerCo", b"SecretModel 9", b"MAKERNOTE-SECRET", b"22,4.8N", b"Exif\0\0",
           b"ns.adobe.com", b"HomeAddressComment", b"sRGB built-in")


def picture(size=(1200, 800)) -> Image.Image:
    """Something like a photo: shapes on a background that changes along both axes
    (a photo has no two exactly equal neighbours for the hash to be unsure about)."""
    image = Image.radial_gradient("L").resize(size).convert("RGB")
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.ellipse((w * 0.3, h * 0.1, w * 0.7, h * 0.8), fill=(180, 120, 90))
    draw.rectangle((0, h * 0.8, w * 0.6, h), fill=(30, 60, 150))
    draw.line((0, 0, w, h), fill=(250, 250, 0), width=9)
    return image


def exif_with_gps(orientation=1) -> Image.Exif:
    exif = Image.Exif()
    exif[MAKE], exif[MODEL], exif[ORIENTATION] = "PhoneMakerCo", "SecretModel 9", orientation
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (22.0, 4.0, 48.0), 3: "E", 4: (82.0, 8.0, 0.0)})
    exif.get_ifd(EXIF_IFD)[MAKER_NOTE] = b"MAKERNOTE-SECRET"
    return exif


def srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def jpeg_with_everything(size=(1200, 800), orientation=1) -> bytes:
    buffer = io.BytesIO()
    picture(size).save(buffer, "JPEG", quality=95, exif=exif_with_gps(orientation), xmp=XMP,
                       icc_profile=srgb_profile(), comment=b"HomeAddressComment")
    return buffer.getvalue()


def png_with_everything() -> bytes:
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "HomeAddressComment")
    text.add_itxt("XML:com.adobe.xmp", XMP.decode())
    text.add_text("Location", "22,4.8N", zip=True)
    buffer = io.BytesIO()
    picture().save(buffer, "PNG", pnginfo=text, exif=exif_with_gps(),
                   icc_profile=srgb_profile())
    return buffer.getvalue()


def webp_with_everything() -> bytes:
    buffer = io.BytesIO()
    picture().save(buffer, "WEBP", exif=exif_with_gps(), xmp=XMP, icc_profile=srgb_profile())
    return buffer.getvalue()


def assert_bare(kept: bytes) -> Image.Image:
    """Nothing but pixels, read back both ways: through Pillow and as raw bytes."""
    image = Image.open(io.BytesIO(kept))
    assert image.format == "JPEG"
    exif = image.getexif()
    assert len(exif) == 0 and not exif.get_ifd(GPS_IFD) and GPS_IFD not in exif
    assert not {"exif", "xmp", "icc_profile", "comment", "XML:com.adobe.xmp"} & set(image.info)
    assert not image.applist or all(marker == "APP0" for marker, _ in image.applist)
    for secret in SECRETS:
        assert secret not in kept, secret
    return image


@pytest.mark.parametrize("make", [jpeg_with_everything, png_with_everything,
                                  webp_with_everything])
def test_a_photo_is_kept_without_exif_gps_maker_notes_xmp_text_or_profile(ctx, make):
    upload = make()
    source = Image.open(io.BytesIO(upload))
    assert source.getexif().get_ifd(GPS_IFD) and source.getexif()[MAKE] == "PhoneMakerCo"
    assert b"MAKERNOTE-SECRET" in upload and source.info.get("icc_profile")
    reference, digest = photos.store(upload)
    assert_bare(storage.read(photos.stored_name(reference)))
    assert photos.read(reference).sha256 == digest


def test_a_phone_photo_is_turned_upright_and_shrunk_to_a_few_tens_of_kb(ctx):
    upload = jpeg_with_everything((4000, 3000), orientation=6)  # held upright, stored sideways
    assert len(upload) > 200_000
    kept = photos.clean(upload).data
    image = assert_bare(kept)
    assert image.size == (360, 480)  # upright: taller than wide, longest side 480
    assert 5_000 < len(kept) <= photos.BUDGET


def test_transparency_becomes_white_not_black(ctx):
    buffer = io.BytesIO()
    Image.new("RGBA", (100, 100), (0, 0, 0, 0)).save(buffer, "PNG")
    kept = Image.open(io.BytesIO(photos.clean(buffer.getvalue()).data)).convert("RGB")
    assert min(kept.getpixel((50, 50))) > 240


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims to be width x height, with almost nothing in it."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


@pytest.mark.parametrize("payload", [
    _png_header_only(50_000, 50_000),  # a decompression bomb: 2.5 gigapixels
    _png_header_only(8_000, 6_000),  # 48 megapixels: over the limit, under Pillow's
    b"%PDF-1.4 not an image",
    b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n",  # never handed to Ghostscript
    b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
    b"\x89PNG\r\n\x1a\n broken",
    jpeg_with_everything()[:600],  # cut short
])
def test_what_is_not_a_photo_is_refused_in_the_users_language(app, payload):
    for lang, words in (("en", "not a photo"), ("hi", "फ़ोटो नहीं है")):
        with app.test_request_context(), force_locale(lang):
            with pytest.raises(ValidationError) as refused:
                photos.store(payload)
            assert words in str(refused.value.message)
            assert kept() == []  # nothing kept


def test_the_picture_hash_finds_the_same_picture_re_encoded_or_resized(ctx):
    original = photos.clean(jpeg_with_everything())
    for size, quality in (((1200, 800), 60), ((700, 466), 85), ((2400, 1600), 40)):
        buffer = io.BytesIO()
        picture().resize(size, Image.Resampling.BICUBIC).save(buffer, "JPEG", quality=quality)
        again = photos.clean(buffer.getvalue())
        assert again.picture_hash == original.picture_hash, (size, quality)
        assert again.data != original.data  # a hash of the bytes would miss it
    other = picture().transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    buffer = io.BytesIO()
    other.save(buffer, "PNG")
    assert photos.clean(buffer.getvalue()).picture_hash != original.picture_hash
    assert len(original.picture_hash) == 16


def test_the_same_upload_is_kept_once(ctx):
    upload = jpeg_with_everything()
    assert photos.store(upload) == photos.store(upload)
    assert len(kept()) == 1


def test_a_photo_kept_before_cleaning_is_cleaned_by_the_command(app, units, ctx):
    """Photos kept raw by earlier versions: the command strips them, gives them their
    picture hash and removes the raw file; running it again changes nothing."""
    raw = jpeg_with_everything()
    old_reference = "ab/" + "ab" * 32 + ".jpg"
    storage.save(photos.stored_name(old_reference), raw)
    member = factories.member(units["BLK-BILHA"], photo_path=old_reference,
                              photo_sha256="ab" * 32)
    db.session.commit()
    assert photos.read(old_reference).data == raw  # still served as it was until then

    result = app.test_cli_runner().invoke(args=["photos", "clean"])
    assert result.exit_code == 0, result.output
    assert "Photos cleaned: 1;" in result.output
    db.session.refresh(member)
    assert member.photo_path != old_reference and member.photo_phash
    assert_bare(photos.read(member.photo_path).data)
    assert not storage.exists(photos.stored_name(old_reference))
    again = app.test_cli_runner().invoke(args=["photos", "clean"])
    assert "Photos cleaned: 0;" in again.output
