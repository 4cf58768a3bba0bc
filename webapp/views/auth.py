"""Admin sign-in and sign-out."""

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import func, select

from webapp.extensions import db, limiter, login_manager
from webapp.forms import EmptyForm, LoginForm
from webapp.models import Admin

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def load_admin(admin_id: str):
    return db.session.get(Admin, int(admin_id))


login_manager.login_view = "auth.login"
login_manager.login_message = None


def _safe_next(target: str | None) -> str:
    # Only same-site relative paths: an absolute URL here would be an open redirect.
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(
        target
    ).netloc:
        return target
    return url_for("admin.home")


@bp.get("/")
def index():
    return redirect(url_for("admin.home"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"], methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("admin.home"))
    form = LoginForm()
    if form.validate_on_submit():
        admin = db.session.scalar(
            select(Admin).where(func.lower(Admin.email) == form.email.data.strip().lower())
        )
        if admin is not None and admin.check_password(form.password.data):
            login_user(admin)
            return redirect(_safe_next(request.args.get("next")))
        flash(_("メールアドレスまたはパスワードが正しくありません。"), "error")
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
def logout():
    form = EmptyForm()
    if form.validate_on_submit():
        logout_user()
    return redirect(url_for("auth.login"))
