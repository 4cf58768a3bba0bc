"""The organization's logo on its booking pages: uploaded in 組織設定, re-drawn by Apo, cached."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image

from tests.factories import make_public_page
from webapp.extensions import db
from webapp.services import org_logo

FORM = {"name": "Acme", "timezone": "Asia/Tokyo", "plan": "premium", "reply_to": "",
        "embed_origins": ""}


def image_bytes(fmt: str = "PNG", size=(800, 200), **save) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, fmt, **save)
    return out.getvalue()


def upload(admin_client, data: bytes, filename: str = "logo.png", **extra):
    token = admin_client.csrf_token("/admin/organization")
    return admin_client.post("/admin/organization", content_type="multipart/form-data", data={
        **FORM, **extra, "csrf_token": token, "logo": (io.BytesIO(data), filename)})


def test_a_logo_is_redrawn_small_without_metadata():
    exif = Image.Exif()
    exif[0x010E] = "secret description"
    png, version = org_logo.process(image_bytes("JPEG", (2000, 500), exif=exif))
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (480, 120)
    assert b"secret description" not in png and len(version) == 16


@pytest.mark.parametrize("data", [
    b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
    b"GIF89a" + b"\0" * 40, b"not an image", image_bytes("BMP"),
])
def test_anything_but_png_jpeg_or_webp_is_refused(data):
    with pytest.raises(org_logo.LogoError):
        org_logo.process(data)


def test_a_huge_canvas_in_a_small_file_is_refused_before_decoding():
    data = image_bytes("PNG", (10000, 10000))
    assert len(data) < org_logo.MAX_UPLOAD_BYTES
    with pytest.raises(org_logo.LogoError, match="4096"):
        org_logo.process(data)


def test_the_admin_uploads_a_logo_and_the_booking_page_shows_it(admin_client, admin, client):
    page = make_public_page()
    page.organization = admin.organization
    db.session.commit()
    response = upload(admin_client, image_bytes("WEBP"), "logo.webp")
    assert response.status_code == 302
    db.session.refresh(admin.organization)
    version = admin.organization.logo_version
    assert version
    html = client.get(f"/p/{page.slug}").get_data(as_text=True)
    src = re.search(r'<img class="org-logo" src="([^"]+)"', html).group(1)
    assert src == f"/logo/{admin.organization.id}/{version}.png"
    served = client.get(src)
    assert served.mimetype == "image/png" and Image.open(io.BytesIO(served.data)).size[1] <= 120
    assert served.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    # An old or guessed version is not served.
    assert client.get(f"/logo/{admin.organization.id}/0000000000000000.png").status_code == 404
    # Removing it takes it off the page.
    token = admin_client.csrf_token("/admin/organization")
    admin_client.post("/admin/organization", data={**FORM, "remove_logo": "y",
                                                   "csrf_token": token})
    db.session.refresh(admin.organization)
    assert admin.organization.logo_version == "" and admin.organization.logo_png is None
    assert "org-logo" not in client.get(f"/p/{page.slug}").get_data(as_text=True)
    assert client.get(src).status_code == 404


def test_a_bad_upload_says_why_and_changes_nothing(admin_client, admin):
    response = upload(admin_client, b"<svg></svg>", "logo.svg", name="Changed")
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "PNG、JPEG、WebP" in body
    db.session.refresh(admin.organization)
    assert admin.organization.logo_version == "" and admin.organization.name != "Changed"
