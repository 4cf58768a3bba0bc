"""Forms of the 来訪者連携 > Salesforce screens (C2, C3)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, RadioField, StringField, ValidationError
from wtforms.validators import DataRequired, Length, Regexp
from wtforms.widgets import PasswordInput

from webapp import settings as app_settings
from webapp.models import LoginKind
from webapp.services.salesforce import connections


class SalesforceConnectForm(FlaskForm):
    consumer_key = StringField(
        _l("コンシューマ鍵"),
        validators=[DataRequired(), Length(max=255), Regexp(r"^\S+$", message=_l(
            "コンシューマ鍵に空白を含めることはできません。"))],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    # A password input: the secret is never echoed back into the page, even on errors.
    consumer_secret = PasswordField(
        _l("コンシューマの秘密"),
        validators=[DataRequired(), Length(max=255)],
        render_kw={"autocomplete": "off"},
    )
    login_kind = RadioField(
        _l("ログイン先"),
        choices=[
            (LoginKind.PRODUCTION.value, _l("本番環境 (login.salesforce.com)")),
            (LoginKind.SANDBOX.value, _l("Sandbox (test.salesforce.com)")),
            (LoginKind.MY_DOMAIN.value, _l("私のドメイン (My Domain) のURL")),
        ],
        default=LoginKind.PRODUCTION.value,
    )
    my_domain_url = StringField(
        _l("私のドメインのURL"),
        validators=[Length(max=255)],
        description=_l("例: https://example.my.salesforce.com"),
        render_kw={"placeholder": "https://example.my.salesforce.com", "inputmode": "url"},
    )

    def prefill_demo(self, key: str, secret: str) -> None:
        """Demo mode only: the emulator's published demo app, so nobody copies from the banner.
        The secret is public there, so echoing it into the password input is harmless."""
        self.consumer_key.data = key
        self.consumer_secret.data = secret
        self.consumer_secret.widget = PasswordInput(hide_value=False)

    def validate_my_domain_url(self, field) -> None:
        if self.login_kind.data != LoginKind.MY_DOMAIN.value:
            return
        value = (field.data or "").strip()
        if not value:
            raise ValidationError(_l("私のドメインのURLを入力してください。"))
        checked = connections.checked_my_domain(value, app_settings.current().salesforce)
        if checked is None:
            raise ValidationError(_l(
                "https:// で始まり .my.salesforce.com で終わるURLを入力してください。"))
        # The canonical form is what gets called and stored (X3).
        field.data = checked
