"""Flask-WTF form of the per-page mail settings (N4)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, ValidationError
from wtforms.validators import Length

MAX_HOURS = 30 * 24


class ReminderForm(FlaskForm):
    """Reminders as hours before the meeting, comma-separated ("24, 1"); empty: none."""

    hours = StringField(_l("リマインダー(開始の何時間前か、カンマ区切り)"),
                        validators=[Length(max=60)])

    def validate_hours(self, field) -> None:
        self.minutes = []
        for part in (field.data or "").replace("、", ",").split(","):
            if not part.strip():
                continue
            try:
                value = float(part)
            except ValueError:
                raise ValidationError(_l("数値(時間)をカンマ区切りで入力してください。")) from None
            if not 0 < value <= MAX_HOURS or value * 60 != int(value * 60):
                raise ValidationError(_l("1分以上、30日以内で指定してください。"))
            self.minutes.append(int(value * 60))
        if len(set(self.minutes)) > 5:
            raise ValidationError(_l("リマインダーは5件まで設定できます。"))


def hours_text(minutes: list[int]) -> str:
    return ", ".join(f"{m / 60:g}" for m in minutes)
