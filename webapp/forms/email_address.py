"""The email rule of every address that goes to Salesforce (X6).

Salesforce refuses addresses whose local part (before the @) is not ASCII with
INVALID_EMAIL_ADDRESS, and stores internationalized domains in their ASCII (punycode) form. So
the form refuses the first with a clear message and writes the second as punycode: a booking
never fails to sync for its email.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from wtforms.validators import StopValidation

BAD_EMAIL = _l("メールアドレスの形式が正しくありません。")
NON_ASCII_LOCAL = _l("メールアドレスの@より前には半角の英数字と記号だけを使ってください。")


class SalesforceEmail:
    """Validate like Salesforce and replace the field's data with the address it will store."""

    def __call__(self, form, field) -> None:
        value = field.data or ""
        local = value.rpartition("@")[0]
        if local and not local.isascii():
            raise StopValidation(NON_ASCII_LOCAL)
        try:
            checked = validate_email(value, check_deliverability=False, allow_smtputf8=False)
        except EmailNotValidError:
            raise StopValidation(BAD_EMAIL) from None
        if not value.isascii():  # an internationalized domain: its punycode form
            field.data = checked.ascii_email
