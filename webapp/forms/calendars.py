"""Forms of the calendar screens (K1, K5, K6)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, NumberRange


class CalDAVConnectForm(FlaskForm):
    url = StringField(_l("CalDAVサーバーのURL"), validators=[DataRequired(), Length(max=2000)],
                      description=_l("例: https://caldav.fastmail.com/ 、https://caldav.icloud.com/"
                                     " 、Nextcloud は https://（サーバー）/remote.php/dav/"))
    username = StringField(_l("ユーザー名"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("アプリ用パスワード"), validators=[DataRequired(), Length(max=500)],
                             description=_l("通常のパスワードではなく、カレンダーサービスで発行した"
                                            "アプリ用パスワードを入力してください。"))


class CalendarSettingsForm(FlaskForm):
    salesforce_busy = BooleanField(_l("Salesforceの行動を予定ありとして扱う"))
    grace_minutes = IntegerField(
        _l("接続が切れたカレンダーの予定を使い続ける時間（分）"),
        validators=[NumberRange(min=0, max=7 * 24 * 60)],
        description=_l("この時間を過ぎると、その社員には空き時間を表示しません（二重予約を防ぐため）。"))
