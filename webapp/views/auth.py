"""Admin sign-in and sign-out."""

import hashlib
import re
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user
from limits import parse as parse_limit

from webapp.extensions import db, limiter, login_manager
from webapp.forms import EmptyForm, LoginForm
from webapp.models import Admin
from webapp.services.sign_in import authenticate, normalized_email

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def load_admin(admin_id: str):
    return db.session.get(Admin, int(admin_id))


login_manager.login_view = "auth.login"
login_manager.login_message = None


# A same-site path: "/" then no second "/" or backslash (browsers read "/\\host" as "//host"), and
# no control characters or spaces (a CRLF would break the Location header, X4).
_SAFE_PATH = re.compile(r"/(?![/\\])[\x21-\x7e]*")
ACCOUNT_LOCKED = "account-locked"


def _safe_next(target: str | None) -> str:
    # Only same-site relative paths: an absolute URL here would be an open redirect.
    if target and _SAFE_PATH.fullmatch(target) and "\\" not in target and not urlsplit(
        target
    ).netloc:
        return target
    return url_for("admin.home")


def _account_key() -> str:
    # Keyed by the submitted email, existing or not, so the lockout tells nothing either way;
    # hashed so Redis never holds the address.
    email = normalized_email(request.form.get("email"))
    return "login-account:" + hashlib.sha256(email.encode()).hexdigest()


def _account_client_key() -> str:
    # The lockout is per account and client: an attacker's failures from their address do not
    # lock the owner out of their own (X2). The slower per-account throttle still stops a
    # guess spread over many addresses.
    return f"{_account_key()}:{get_remote_address()}"


def _failed(response) -> bool:
    return response.status_code != 302


@bp.get("/")
def index():
    return redirect(url_for("admin.home"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"], methods=["POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LOCKOUT"], methods=["POST"],
               key_func=_account_client_key, deduct_when=_failed, error_message=ACCOUNT_LOCKED,
               exempt_when=lambda: not request.form.get("email"))
@limiter.limit(lambda: current_app.config["LOGIN_ACCOUNT_THROTTLE"], methods=["POST"],
               key_func=_account_key, deduct_when=_failed, error_message=ACCOUNT_LOCKED,
               exempt_when=lambda: not request.form.get("email"))
def login():
    if current_user.is_authenticated:
        return redirect(url_for("admin.home"))
    form = LoginForm()
    if form.validate_on_submit():
        admin = authenticate(form.email.data, form.password.data)
        if admin is not None:
            login_user(admin)
            return redirect(_safe_next(request.args.get("next")))
        flash(_("メールアドレスまたはパスワードが正しくありません。"), "error")
    return render_template("auth/login.html", form=form)


def locked_out():
    """The sign-in page after too many failures for this account (X2); nothing is checked."""
    item = parse_limit(current_app.config["LOGIN_LOCKOUT"])
    minutes = max(1, item.get_expiry() // 60)
    flash(_("ログインに続けて失敗したため、このアカウントは一時的にロックされています。"
            "%(minutes)s分ほど待ってからもう一度お試しください。", minutes=minutes), "error")
    return render_template("auth/login.html", form=LoginForm()), 429


@bp.post("/logout")
def logout():
    form = EmptyForm()
    if form.validate_on_submit():
        logout_user()
    return redirect(url_for("auth.login"))
