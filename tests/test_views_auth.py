"""Admin sign-in, sign-out and session hardening (O2)."""

from tests.factories import login, make_admin, make_org
from webapp.extensions import db


def test_admin_routes_require_sign_in(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_sign_in_with_wrong_password_is_refused(client, admin):
    response = client.post_form("/login", {"email": admin.email, "password": "wrong-pass"})
    assert response.status_code == 200
    assert "メールアドレスまたはパスワードが正しくありません" in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302


def test_sign_in_and_out(client, admin):
    login(client, admin)
    assert client.get("/admin/").status_code == 200
    response = client.post_form("/logout", {}, token_from="/admin/")
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 302


def test_sign_in_is_case_insensitive_on_email(client, app):
    org = make_org()
    make_admin(org, email="Boss@Example.com")
    db.session.commit()
    response = client.post_form("/login", {"email": "boss@example.COM", "password": "secret-pass"})
    assert response.status_code == 302


def test_login_redirect_ignores_foreign_next_url(client, admin):
    token = client.csrf_token()
    response = client.post(
        "/login?next=https://evil.example/",
        data={"csrf_token": token, "email": admin.email, "password": "secret-pass"},
    )
    assert response.headers["Location"] == "/admin/"


def test_login_post_without_csrf_token_is_rejected(client, admin):
    response = client.post("/login", data={"email": admin.email, "password": "secret-pass"})
    assert response.status_code == 400
    assert client.get("/admin/").status_code == 302


def test_session_cookie_is_hardened_by_default():
    from webapp.config import Config

    assert Config.SESSION_COOKIE_HTTPONLY is True
    assert Config.SESSION_COOKIE_SECURE is True
    assert Config.SESSION_COOKIE_SAMESITE == "Lax"


def test_htmx_trigger_header_is_ascii_for_japanese_messages(app):
    """Real servers refuse non-latin-1 header values; the saved toast must still arrive."""
    import json

    from webapp.web.htmx import render_partial

    with app.test_request_context():
        response = render_partial("errors/404.html", trigger={"saved": "保存しました"})
    header = response.headers["HX-Trigger"]
    header.encode("ascii")
    assert json.loads(header) == {"saved": "保存しました"}
