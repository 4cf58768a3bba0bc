"""The organization's logo on its booking pages, from an image an admin uploads.

The upload is never served as sent: Pillow opens it, only PNG, JPEG and WebP are taken, its
size is checked before any pixel is decoded (a small file can claim a huge canvas), and a new
PNG at most 480 x 120 px is written from the pixels alone, so no metadata, script or second
file hidden in the upload survives. The URL carries a hash of the PNG, so browsers may keep it
for a year and a new logo is a new URL.
"""

from __future__ import annotations

import hashlib
import io
import warnings

from flask_babel import lazy_gettext as _l
from PIL import Image, UnidentifiedImageError

MAX_UPLOAD_BYTES = 1024 * 1024
MAX_SOURCE_PIXELS = 4096 * 4096
BOX = (480, 120)  # drawn at half size on the page: sharp on high-density screens
FORMATS = ("PNG", "JPEG", "WEBP")


class LogoError(ValueError):
    """An upload that is not a usable logo; the message says why."""


def process(data: bytes) -> tuple[bytes, str]:
    """(png, version) for an uploaded image, or LogoError."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise LogoError(_l("ロゴの画像は1MB以下にしてください。"))
    too_big = LogoError(_l("ロゴの画像が大きすぎます。4096×4096ピクセル以下にしてください。"))
    try:
        with warnings.catch_warnings():
            # Pillow only warns below twice its own bomb limit: here that is a refusal too.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=FORMATS) as image:
                width, height = image.size
                if width * height > MAX_SOURCE_PIXELS or not width or not height:
                    raise too_big
                image.load()
                pixels = image.convert("RGBA")
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise too_big from exc
    except (UnidentifiedImageError, OSError) as exc:
        raise LogoError(_l("ロゴはPNG、JPEG、WebPの画像を選んでください。")) from exc
    pixels.thumbnail(BOX, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    pixels.save(out, "PNG", optimize=True)
    png = out.getvalue()
    return png, hashlib.sha256(png).hexdigest()[:16]
