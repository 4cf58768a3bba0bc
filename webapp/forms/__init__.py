"""Shared Flask-WTF forms. Screen-specific forms live beside their screens in forms_*.py."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Email, Length


class EmptyForm(FlaskForm):
    """One-button POST actions (sign-out, delete): CSRF token only."""


class LoginForm(FlaskForm):
    email = EmailField(_l("メールアドレス"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("パスワード"), validators=[DataRequired(), Length(max=200)])
