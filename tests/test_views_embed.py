"""O6: which sites may frame a booking page, the frame's own session, links and snippets.

The browser proof across two sites is tests/test_browser_embed.py; these pin the rules.
"""

from __future__ import annotations

import html
import re

import pytest
from flask import g
from sqlalchemy import func, select

from tests.factories import (
    bookable_slots,
    login,
    make_booking,
    make_org,
    make_page,
    make_public_page,
)
from webapp.extensions import db
from webapp.models import Booking
from webapp.services import embedding
from webapp.services.slots import format_start

SITE = "https://www.example.com"
HTTPS = "https://localhost"  # the frame's cookie is Secure, as a browser requires


@pytest.fixture
def framed(app):
    page = make_public_page(title='製品デモ"><script>alert(1)</script>')
    page.organization.embed_origins = SITE + "\nhttps://shop.example.com:8443"
    db.session.commit()
    return page


def _csp(response) -> str:
    return response.headers["Content-Security-Policy"]


@pytest.mark.parametrize(("line", "origin"), [
    ("https://WWW.Example.com/", "https://www.example.com"),
    ("https://www.example.com:443", "https://www.example.com"),
    ("https://shop.example.com:8443", "https://shop.example.com:8443"),
    ("https://例え.jp", "https://xn--r8jz45g.jp"),
    ("http://localhost:8000", "http://localhost:8000"),
    ("http://127.0.0.1:5000/", "http://127.0.0.1:5000"),
])
def test_O6_an_origin_is_rebuilt_from_its_checked_parts(line, origin):
    assert embedding.parse_origin(line) == origin


@pytest.mark.parametrize("line", [
    "www.example.com", "javascript:alert(1)", "https://www.example.com/booking",
    "https://www.example.com/?x=1", "https://www.example.com#top", "https://*.example.com",
    "http://www.example.com", "https://user:pw@www.example.com", "https://exa mple.com",
    "https://www.example.com:99999", "https://www.example.com;script-src *", "ftp://example.com",
    "https://'self'",
])
def test_O6_anything_but_an_origin_is_refused_with_the_line_named(line):
    with pytest.raises(embedding.OriginError) as refused:
        embedding.parse_origin(line)
    assert line.strip() in str(refused.value.args[0])


def test_O6_the_list_is_deduplicated_and_bounded():
    assert embedding.parse_origins(f"{SITE}\n\n  {SITE}/ \nhttps://b.example.com\n") == [
        SITE, "https://b.example.com"]
    with pytest.raises(embedding.OriginError):
        embedding.parse_origins("\n".join(f"https://s{i}.example.com" for i in range(21)))
    # What is stored is read back through the same check: a line that no longer passes (a
    # row written by hand) never reaches a header.
    assert embedding.stored_origins(f"{SITE}\nhttps://x.example.com; script-src *") == (SITE,)


def test_O6_the_admin_lists_sites_in_organization_settings(admin_client, admin):
    form = {"name": "Acme", "timezone": "Asia/Tokyo", "plan": "premium", "reply_to": ""}
    response = admin_client.post_form("/admin/organization", dict(
        form, embed_origins="https://WWW.example.com/\r\nhttp://localhost:8000"))
    assert response.status_code == 302
    db.session.refresh(admin.organization)
    assert admin.organization.embed_origins == "https://www.example.com\nhttp://localhost:8000"
    # Bad input: a clear message beside the field, and nothing changes.
    response = admin_client.post_form("/admin/organization", dict(
        form, name="Changed", embed_origins="https://www.example.com/booking?x=1"))
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "embed_origins-errors" in body
    assert "サイトのURLだけを入力してください" in body
    db.session.refresh(admin.organization)
    assert admin.organization.name == "Acme"
    assert admin.organization.embed_origins == "https://www.example.com\nhttp://localhost:8000"


def test_O6_frame_ancestors_lists_the_sites_only_for_framed_booking_pages(client, framed):
    booking = make_booking(framed)
    other = make_page(make_org(embed_origins="https://other.example.net"))
    other.is_published = True
    bare = make_public_page()
    db.session.commit()
    allowed = f"frame-ancestors {SITE} https://shop.example.com:8443;"
    for path in (f"/p/{framed.slug}?embed=1", f"/b/{booking.token}?embed=1",
                 f"/b/{booking.token}/reschedule?embed=1", f"/b/{booking.token}/cancel?embed=1",
                 f"/p/{framed.slug}/book?embed=1&start=x"):
        response = client.get(path, base_url=HTTPS)
        assert allowed in _csp(response), path
        assert "X-Frame-Options" not in response.headers, path
    # Not asked for a frame, no sites listed, or not a booking page: never frameable.
    for path in (f"/p/{framed.slug}", f"/b/{booking.token}", f"/p/{bare.slug}?embed=1",
                 f"/o/{booking.token}?embed=1", "/login?embed=1", "/nowhere?embed=1"):
        response = client.get(path, base_url=HTTPS)
        assert "frame-ancestors 'none'" in _csp(response), path
        assert response.headers["X-Frame-Options"] == "DENY", path
    # Each organization's page names its own sites only.
    response = client.get(f"/p/{other.slug}?embed=1", base_url=HTTPS)
    assert "frame-ancestors https://other.example.net;" in _csp(response)


def test_O6_admin_screens_are_never_frameable(admin_client, admin):
    admin.organization.embed_origins = SITE
    page = make_page(admin.organization)
    db.session.commit()
    for path in ("/admin/?embed=1", f"/admin/pages/{page.id}?embed=1",
                 "/admin/organization?embed=1"):
        response = admin_client.get(path)
        assert response.status_code == 200, path
        assert "frame-ancestors 'none'" in _csp(response), path
        assert response.headers["X-Frame-Options"] == "DENY", path


def test_O6_the_frame_has_its_own_cross_site_cookie_and_the_admin_session_stays_lax(
        app, client, framed, admin):
    response = client.get(f"/p/{framed.slug}?embed=1", base_url=HTTPS)
    cookies = response.headers.getlist("Set-Cookie")
    assert len(cookies) == 1 and cookies[0].startswith("apo_embed=")
    for attribute in ("Secure", "HttpOnly", "SameSite=None", "Partitioned"):
        assert attribute in cookies[0]
    # The admin's sign-in is the usual Lax cookie, never the frame's. (A second client: the
    # test app keeps one app context, whose ``g`` would carry the first client's CSRF token.)
    g.pop("csrf_token", None)
    admin_client = app.test_client()
    response = login(admin_client, admin)
    session_cookie = next(c for c in response.headers.getlist("Set-Cookie")
                          if c.startswith("session="))
    assert "SameSite=Lax" in session_cookie and "Partitioned" not in session_cookie
    # A framed request does not carry the admin's session: it reads its own cookie.
    assert admin_client.get(f"/p/{framed.slug}").status_code == 200
    response = admin_client.get("/admin/?embed=1")
    assert response.status_code == 200  # not a booking path: the usual session applies
    assert not any(c.startswith("apo_embed=") for c in response.headers.getlist("Set-Cookie"))


def test_O6_links_and_forms_stay_in_the_frame_and_csrf_still_holds(client, framed):
    body = client.get(f"/p/{framed.slug}?embed=1", base_url=HTTPS).get_data(as_text=True)
    slot_links = re.findall(r'class="slot" href="([^"]+)"', body)
    assert slot_links and all("embed=1" in html.unescape(link) for link in slot_links)
    form_page = client.get(html.unescape(slot_links[0]), base_url=HTTPS)
    action = re.search(r'<form method="post" action="([^"]+)"', form_page.get_data(as_text=True))
    assert action and html.unescape(action.group(1)).endswith("/book?embed=1")
    # Without the token of the frame's own session the booking is refused, as anywhere.
    response = client.post(html.unescape(action.group(1)), base_url=HTTPS,
                           data={"name": "x", "email": "x@example.com"})
    assert response.status_code == 400
    assert db.session.scalar(select(func.count(Booking.id))) == 0
    # Outside a frame the same page carries no embed links and no frame script.
    plain = client.get(f"/p/{framed.slug}", base_url=HTTPS).get_data(as_text=True)
    assert "embed=1" not in plain and "embed-frame.js" not in plain


def test_O6_the_confirmation_tells_the_site_once_and_offers_the_plain_private_link(
        client, framed):
    body = client.get(f"/p/{framed.slug}?embed=1", base_url=HTTPS).get_data(as_text=True)
    token = json_token(body)
    # A time clear of the minimum notice's edge, whatever the time of day the test runs at.
    start = format_start(bookable_slots(framed)[0].start)
    response = client.post(f"/p/{framed.slug}/book?embed=1", base_url=HTTPS,
                           headers={"Referer": f"{HTTPS}/p/{framed.slug}?embed=1"}, data={
        "csrf_token": token, "start": start, "tz": "Asia/Tokyo", "name": "山田 太郎",
        "company": "山田商事", "email": "taro@example.com", "field_2": "相談",
        **answers(framed)})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert response.headers["Location"].endswith("?embed=1")
    first = client.get(response.headers["Location"], base_url=HTTPS).get_data(as_text=True)
    assert "data-apo-booked" in first and "embed-frame.js" in first
    assert f'data-apo-page="{framed.slug}"' in first
    # Only the page's slug goes to the site, never the customer's details.
    body_tag = re.search(r"<body[^>]*>", first).group(0)
    assert "taro@example.com" not in body_tag and "山田" not in body_tag
    again = client.get(response.headers["Location"], base_url=HTTPS).get_data(as_text=True)
    assert "data-apo-booked" not in again
    booking = db.session.scalar(select(Booking))
    private = re.search(r'<code id="private-link"[^>]*>([^<]+)<', first).group(1)
    assert private.endswith(f"/b/{booking.token}")


def json_token(body: str) -> str:
    import json

    return json.loads(re.search(r"hx-headers='(\{[^']+\})'", body).group(1))["X-CSRFToken"]


def answers(page) -> dict:
    """Required custom fields answered (the page has one of each type)."""
    data = {}
    for field in page.fields:
        if field.required:
            data[f"field_{field.id}"] = "相談"
    return data


def test_O6_the_frame_script_is_served_to_other_sites_and_the_rest_is_not(client):
    assert client.get("/static/embed.js").headers["Cross-Origin-Resource-Policy"] == (
        "cross-origin")
    assert client.get("/static/app.js").headers["Cross-Origin-Resource-Policy"] == (
        "same-origin")
    assert client.get("/static/embed-frame.js").headers["Cross-Origin-Resource-Policy"] == (
        "same-origin")


def test_O6_basic_settings_show_both_snippets_escaped(admin_client, admin):
    page = make_page(admin.organization, title='デモ"><img src=x onerror=alert(1)>')
    db.session.commit()
    body = admin_client.get(f"/admin/pages/{page.id}").get_data(as_text=True)
    assert "埋め込むサイトがまだ登録されていません" in body
    inline = html.unescape(re.search(
        r'<textarea id="embed-inline"[^>]*>([^<]*)</textarea>', body).group(1))
    popup = html.unescape(re.search(
        r'<textarea id="embed-popup"[^>]*>([^<]*)</textarea>', body).group(1))
    assert f'src="http://localhost/p/{page.slug}?embed=1"' in inline
    assert '<script src="http://localhost/static/embed.js" async></script>' in inline
    assert f'<a data-apo-popup href="http://localhost/p/{page.slug}">' in popup
    # The title is escaped inside the snippet's own HTML, not only on the admin screen.
    assert "<img" not in inline and "&lt;img src=x" in inline and "&#34;&gt;" in inline
    assert "<img src=x" not in body  # and on the admin screen itself
    admin.organization.embed_origins = SITE
    db.session.commit()
    body = admin_client.get(f"/admin/pages/{page.id}").get_data(as_text=True)
    assert "次のサイトに埋め込めます" in body and SITE in body
