"""Admin sign-in: the password check takes the same time whether or not the email exists (X2)."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.extensions import db
from webapp.models import Admin


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Same method and cost as Admin.set_password, so an unknown email costs one real hash too.
    return generate_password_hash("apo-dummy-password-for-unknown-emails")


def normalized_email(email: str | None) -> str:
    return (email or "").strip().lower()


def authenticate(email: str, password: str) -> Admin | None:
    """The admin whose email and password match, else None, in constant time per attempt."""
    admin = db.session.scalar(
        select(Admin).where(func.lower(Admin.email) == normalized_email(email)))
    if admin is None:
        check_password_hash(_dummy_hash(), password)
        return None
    return admin if admin.check_password(password) else None
