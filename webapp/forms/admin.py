"""Flask-WTF forms of the admin screens: organization, members, booking pages, form fields."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import (
    AnyOf,
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
)
from wtforms.widgets import CheckboxInput, ListWidget

from webapp.config import DEFAULT_TIMEZONE
from webapp.models import AttendMode, CancelAction, FieldType, PageKind, Plan
from webapp.services import embedding, org_logo
from webapp.services import members as member_service
from webapp.services.booking_pages import PAGE_SETTINGS, slug_taken
from webapp.services.meetings import LOCATION_LABELS, NEEDS_VALUE, PHONE_HOST, URL
from webapp.services.members import WEEKDAYS, WorkingHoursError, parse_day_ranges
from webapp.services.salesforce.field_mapping import FORM_TYPE_LABELS, FieldSpec, mappable_type

PLAN_LABELS = {
    Plan.FREE.value: _l("フリー"),
    Plan.STANDARD.value: _l("スタンダード"),
    Plan.ENTERPRISE.value: _l("エンタープライズ"),
    Plan.PREMIUM.value: _l("プレミアム"),
}
WEEKDAY_LABELS = {
    "mon": _l("月曜日"), "tue": _l("火曜日"), "wed": _l("水曜日"), "thu": _l("木曜日"),
    "fri": _l("金曜日"), "sat": _l("土曜日"), "sun": _l("日曜日"),
}
KIND_LABELS = {PageKind.PERSONAL.value: _l("個人用"), PageKind.TEAM.value: _l("チーム用")}
ATTEND_LABELS = {
    AttendMode.ALL.value: _l("全員が参加する"),
    AttendMode.ROUND_ROBIN.value: _l("空いているメンバーから1人を順番に割り当てる"),
}
# The seven types of F2, named as in the seed (shared with the mapping messages).
FIELD_TYPE_LABELS = FORM_TYPE_LABELS
CANCEL_ACTION_LABELS = {
    CancelAction.MARK.value: _l("行動を残してキャンセルと記録する"),
    CancelAction.DELETE.value: _l("行動を削除する"),
}
SALESFORCE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class TimezoneField(SelectField):
    """A select of IANA zones, validated with zoneinfo."""

    def __init__(self, label=None, **kwargs):
        super().__init__(label, default=DEFAULT_TIMEZONE, **kwargs)
        self.choices = [(name, name) for name in member_service.timezone_names()]

    def pre_validate(self, form):
        if not member_service.is_valid_timezone(self.data or ""):
            raise ValidationError(_l("タイムゾーンを一覧から選んでください。"))


class OrganizationForm(FlaskForm):
    name = StringField(_l("組織名"), validators=[DataRequired(), Length(max=200)])
    timezone = TimezoneField(_l("タイムゾーン"))
    plan = RadioField(
        _l("プラン"),
        choices=list(PLAN_LABELS.items()),
        validators=[InputRequired(message=_l("プランを選んでください。"))],
    )
    # V5: where customers' replies go; empty means the attending host.
    reply_to = EmailField(
        _l("返信先メールアドレス"), validators=[Optional(), Email(), Length(max=254)],
        filters=[lambda value: (value or "").strip()],
        description=_l("お客様がメールに返信したときの宛先です。空欄なら、予約を担当する社員に届きます。"))
    # O6: one site per line; parsed into normalized origins by validate_embed_origins.
    embed_origins = TextAreaField(
        _l("予約ページを埋め込むサイト"), validators=[Length(max=4000)],
        description=_l("予約ページを埋め込めるサイトを1行に1つ、https://www.example.com のように"
                       "入力します。ここにないサイトには埋め込めません。"))

    # The booking pages' logo; validate_logo turns the upload into Apo's own PNG.
    logo = FileField(_l("ロゴ"), description=_l(
        "予約ページの上部に表示します。PNG、JPEG、WebP（1MBまで）。横長の画像がきれいに表示されます。"))
    remove_logo = BooleanField(_l("ロゴを削除する"))

    def validate_logo(self, field):
        self.logo_png = None
        upload = field.data
        if upload is None or not getattr(upload, "filename", ""):
            return
        try:
            self.logo_png = org_logo.process(upload.read(org_logo.MAX_UPLOAD_BYTES + 1))
        except org_logo.LogoError as error:
            raise ValidationError(str(error.args[0])) from error

    def validate_embed_origins(self, field):
        try:
            self.origins = embedding.parse_origins(field.data or "")
        except embedding.OriginError as error:
            raise ValidationError(str(error.args[0])) from error


class WorkingHoursField(StringField):
    """One weekday of working hours as text: "09:00-12:00, 13:00-18:00"; blank is a day off."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        self.ranges = None

    def pre_validate(self, form):
        try:
            self.ranges = parse_day_ranges(self.data or "")
        except WorkingHoursError as error:
            raise ValidationError(str(error.args[0])) from error


class MemberForm(FlaskForm):
    name = StringField(_l("氏名"), validators=[DataRequired(), Length(max=200)])
    email = EmailField(_l("メールアドレス"), validators=[DataRequired(), Email(), Length(max=254)])
    timezone = TimezoneField(_l("タイムゾーン"))
    mon = WorkingHoursField(WEEKDAY_LABELS["mon"], validators=[Length(max=200)])
    tue = WorkingHoursField(WEEKDAY_LABELS["tue"], validators=[Length(max=200)])
    wed = WorkingHoursField(WEEKDAY_LABELS["wed"], validators=[Length(max=200)])
    thu = WorkingHoursField(WEEKDAY_LABELS["thu"], validators=[Length(max=200)])
    fri = WorkingHoursField(WEEKDAY_LABELS["fri"], validators=[Length(max=200)])
    sat = WorkingHoursField(WEEKDAY_LABELS["sat"], validators=[Length(max=200)])
    sun = WorkingHoursField(WEEKDAY_LABELS["sun"], validators=[Length(max=200)])

    def __init__(self, org_id: int, member_id: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.org_id = org_id
        self.member_id = member_id

    def fill(self, member) -> None:
        """Show a member's stored values (GET of the edit screen)."""
        self.name.data, self.email.data, self.timezone.data = (
            member.name, member.email, member.timezone)
        for day in WEEKDAYS:
            hours = (member.working_hours or {}).get(day)
            self[day].data = member_service.format_day_ranges(hours)

    def fill_defaults(self, timezone: str, working_hours: dict) -> None:
        """Pre-fill a new member's time zone and weekly hours."""
        self.timezone.data = timezone
        for day in WEEKDAYS:
            self[day].data = member_service.format_day_ranges(working_hours.get(day))

    def validate_email(self, field):
        if member_service.email_taken(self.org_id, field.data or "", self.member_id):
            raise ValidationError(_l("このメールアドレスの社員は既に登録されています。"))

    @property
    def working_hours(self) -> dict:
        return {day: self[day].ranges for day in WEEKDAYS}

    @property
    def weekday_fields(self) -> list:
        return [self[day] for day in WEEKDAYS]


def _five_minute_grid(form, field):
    if field.data is not None and field.data % 5:
        raise ValidationError(_l("5分単位で入力してください。"))


class PageForm(FlaskForm):
    title = StringField(_l("タイトル"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("説明"), validators=[Optional(), Length(max=5000)])
    slug = StringField(
        _l("公開URL"),
        description=_l("半角英小文字・数字・ハイフンで3〜80文字。すべての組織で重複できません。"),
        validators=[
            DataRequired(),
            Length(min=3, max=80, message=_l("3〜80文字で入力してください。")),
            Regexp(r"^[a-z0-9-]+$",
                   message=_l("半角英小文字・数字・ハイフンだけを使ってください。")),
        ],
    )
    duration_minutes = IntegerField(
        _l("打ち合わせの長さ（分）"), default=30,
        validators=[InputRequired(), NumberRange(5, 480), _five_minute_grid])
    window_days = IntegerField(
        _l("予約を受け付ける期間（日先まで）"), default=14,
        validators=[InputRequired(), NumberRange(1, 365)])
    buffer_minutes = IntegerField(
        _l("予定の前後の空き時間（分）"), default=0,
        validators=[InputRequired(), NumberRange(0, 240), _five_minute_grid])
    change_cutoff_minutes = IntegerField(
        _l("お客様が変更・キャンセルできる期限（開始の何分前まで）"), default=0,
        description=_l("0 なら開始時刻まで。過ぎた予約は、お客様の専用URLで表示だけになります。"),
        validators=[Optional(), NumberRange(0, 7 * 24 * 60)],
        filters=[lambda value: 0 if value is None else value])  # blank: until the start
    min_notice_minutes = IntegerField(
        _l("予約できる最短の時間（開始の何分前まで）"), default=60,
        description=_l("この時間より先の枠だけを表示し、確定時にも確かめます。"),
        validators=[Optional(), NumberRange(0, 30 * 24 * 60)],
        filters=[lambda value: 60 if value is None else value])
    attend_mode = RadioField(_l("参加する社員"), choices=list(ATTEND_LABELS.items()),
                             default=AttendMode.ALL.value, validators=[Optional()])
    is_published = BooleanField(_l("公開する"), default=True)
    # V1: where the meeting happens.
    location_kind = SelectField(_l("場所"), choices=list(LOCATION_LABELS.items()), default="",
                                validators=[Optional()])
    location_value = StringField(
        _l("住所・電話番号・URL"), validators=[Optional(), Length(max=500)],
        filters=[lambda value: (value or "").strip()],
        description=_l("「住所」「担当者の番号」「固定のURL」を選んだときに、お客様に表示します。"))

    def __init__(self, page_id: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.page_id = page_id

    def validate_location_kind(self, field):
        if (field.data or "") not in LOCATION_LABELS:
            raise ValidationError(_l("場所を一覧から選んでください。"))

    def validate_location_value(self, field):
        kind, value = self.location_kind.data or "", field.data or ""
        if kind not in NEEDS_VALUE:
            field.data = ""  # a value left from another kind would show nowhere
            return
        if not value:
            raise ValidationError(_l("この場所には、住所・電話番号・URLのいずれかが必要です。"))
        if "\n" in value or "\r" in value:
            raise ValidationError(_l("1行で入力してください。"))
        if kind == URL and not _web_url(value):
            raise ValidationError(_l("https:// で始まるURLを入力してください。"))
        if kind == PHONE_HOST and not re.fullmatch(r"\+?[0-9][0-9 ()\-]{5,24}", value):
            raise ValidationError(_l("電話番号は数字で入力してください（例: 03-1234-5678）。"))

    def validate_slug(self, field):

        if slug_taken(field.data or "", self.page_id):
            raise ValidationError(
                _l("この公開URLは既に使われています。別のURLを入力してください。"))

    def settings(self) -> dict:
        return {name: self[name].data for name in PAGE_SETTINGS}


def _web_url(value: str) -> bool:
    """A link a customer can open: https (or http) with a host, nothing else (no
    javascript:, no data:); shown as a link in pages, mails and calendars."""
    parts = urlsplit(value)
    return parts.scheme in ("https", "http") and bool(parts.hostname) and " " not in value


EVENT_FIELD_MESSAGE = _l("行動のカスタム項目（__c で終わるAPI参照名）を入力してください。")


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class NewPageForm(PageForm):
    kind = RadioField(_l("種類"), choices=list(KIND_LABELS.items()),
                      default=PageKind.TEAM.value, validators=[InputRequired()])
    members = MultiCheckboxField(
        _l("メンバー"), coerce=int,
        description=_l("個人用は1人、チーム用は1人以上を選んでください。並び順は後から変更できます。"))

    def validate_members(self, field):
        if self.kind.data == PageKind.PERSONAL.value and len(field.data or []) != 1:
            raise ValidationError(_l("個人用の予約ページには社員を1人だけ選んでください。"))
        if not field.data:
            raise ValidationError(_l("メンバーを1人以上選んでください。"))


class PersonalPageForm(PageForm):
    member_id = SelectField(_l("担当する社員"), coerce=int, validators=[InputRequired()])


class PageMemberForm(FlaskForm):
    member_id = SelectField(_l("追加する社員"), coerce=int, validators=[InputRequired()])


class MoveForm(FlaskForm):
    direction = HiddenField(validators=[AnyOf(["up", "down"])])


class MemberShareForm(FlaskForm):
    """R4: a round-robin member's weight and daily cap (0: no cap)."""

    weight = IntegerField(_l("重み"), validators=[InputRequired(), NumberRange(1, 10)])
    daily_cap = IntegerField(_l("1日の上限"), validators=[InputRequired(), NumberRange(0, 50)])


MAX_CHOICES = 100  # keeps the largest booking form under the body limit (X4)


class FormFieldForm(FlaskForm):
    field_type = SelectField(_l("フィールドタイプ"), choices=list(FIELD_TYPE_LABELS.items()),
                             validators=[InputRequired()])
    label = StringField(_l("項目名"), validators=[DataRequired(), Length(max=200)])
    required = BooleanField(_l("必須にする"))
    help_text = StringField(_l("説明文"), validators=[Optional(), Length(max=500)])
    choices = TextAreaField(
        _l("選択肢"),
        description=_l("ラジオボタン・チェックボックス・ドロップダウンのみ。1行に1つ入力します。"),
        validators=[Length(max=20000)])
    hidden_value = StringField(
        _l("設定値"),
        description=_l("隠しフィールドのみ。お客様には表示されず、この値が保存されます。"),
        validators=[Length(max=1000)])
    salesforce_field = StringField(
        _l("Salesforce側のフィールド名"),
        description=_l("連携するリードの項目名（API参照名）。例: Industry, Budget__c"),
        validators=[Length(max=100)])
    sf_event_field = StringField(
        _l("Salesforce側の行動の項目名"),
        description=_l("行動のカスタム項目（API参照名、__c で終わる）にも回答を保存します。"
                       "例: Topic__c"),
        validators=[Length(max=100)])

    @property
    def type_enum(self) -> FieldType:
        return FieldType(self.field_type.data)

    def choice_list(self) -> list[str]:
        return [line.strip() for line in (self.choices.data or "").splitlines() if line.strip()]

    def validate_choices(self, field):
        if self.field_type.data not in FIELD_TYPE_LABELS or not self.type_enum.has_choices:
            return  # discarded for other types
        items = self.choice_list()
        if not items:
            raise ValidationError(_l("選択肢を1つ以上入力してください。"))
        if len(items) > MAX_CHOICES:
            raise ValidationError(_l("選択肢は%(max)d個までにしてください。", max=MAX_CHOICES))
        if any(len(item) > 255 for item in items):
            raise ValidationError(_l("選択肢は1つあたり255文字以内で入力してください。"))
        if len(set(items)) != len(items):
            raise ValidationError(_l("同じ選択肢が複数あります。"))

    def validate_hidden_value(self, field):
        if self.field_type.data == FieldType.HIDDEN.value and not (field.data or "").strip():
            raise ValidationError(_l("隠しフィールドには設定値を入力してください。"))

    def validate_required(self, field):
        if self.field_type.data == FieldType.HIDDEN.value and field.data:
            raise ValidationError(
                _l("隠しフィールドはお客様に表示されないため、必須にできません。"))

    def validate_salesforce_field(self, field):
        name = (field.data or "").strip()
        if not name:
            return
        if not mappable_type(self.field_type.data):
            return  # the mapping verdict refuses it, in its own words (M2)
        if not SALESFORCE_NAME.match(name):
            raise ValidationError(
                _l("半角英字で始まり、半角英数字とアンダースコアだけの項目名を入力してください。"))

    def validate_sf_event_field(self, field):
        name = (field.data or "").strip()
        if not name:
            return
        if not SALESFORCE_NAME.match(name) or not name.lower().endswith("__c"):
            # R6: Apo writes the standard Event fields itself (E1); answers go to custom ones.
            raise ValidationError(EVENT_FIELD_MESSAGE)

    def event_mapping_spec(self) -> FieldSpec:
        """The same checks as the Lead mapping, against the Event (R6)."""
        return FieldSpec(self.field_type.data, (self.sf_event_field.data or "").strip(),
                         self.choice_list(), (self.hidden_value.data or "").strip())

    def mapping_spec(self) -> FieldSpec:
        """What the Salesforce mapping checks need (field_mapping.check_mapping)."""
        return FieldSpec(self.field_type.data, (self.salesforce_field.data or "").strip(),
                         self.choice_list(), (self.hidden_value.data or "").strip())

    def fill(self, field) -> None:
        self.field_type.data, self.label.data = field.field_type, field.label
        self.required.data, self.help_text.data = field.required, field.help_text
        self.choices.data = "\n".join(field.choices or [])
        self.hidden_value.data, self.salesforce_field.data = (
            field.hidden_value, field.salesforce_field)
        self.sf_event_field.data = field.sf_event_field

    def field_data(self) -> dict:
        return {
            "field_type": self.field_type.data, "label": self.label.data,
            "required": self.required.data, "help_text": self.help_text.data,
            "choices": self.choice_list(), "hidden_value": self.hidden_value.data,
            "salesforce_field": self.salesforce_field.data,
            "sf_event_field": (self.sf_event_field.data or "").strip(),
        }


class PageSalesforceForm(FlaskForm):
    """予約ページ > 詳細設定 > Salesforce: ①-④, the company placeholder (L2), cancel (S7)."""

    sf_split_name = BooleanField(_l("① 姓名を分けて保存する"))
    sf_create_lead = BooleanField(_l("② 新規リードを自動作成する"))
    sf_create_event = BooleanField(_l("③ 新規行動を自動作成する"))
    sf_map_fields = BooleanField(_l("④ 予約フォームのフィールドと連携させる"))
    sf_company_placeholder = StringField(
        _l("会社名が空欄のときにリードの会社名に入れる値"),
        description=_l("Salesforceではリードの会社名が必須のため、お客様が会社名を入力しなかった"
                       "ときはこの値で作成します。"),
        validators=[DataRequired(message=_l("会社名の代わりに入れる値を入力してください。")),
                    Length(max=255)])
    sf_cancel_action = RadioField(_l("キャンセル時"), choices=list(CANCEL_ACTION_LABELS.items()),
                                  validators=[InputRequired()])
    # R5: who owns a new Lead.
    sf_lead_owner = RadioField(_l("新規リードの所有者"), default="rules", choices=[
        ("rules", _l("Salesforceの割り当てルール")),
        ("member", _l("打ち合わせを担当する社員"))], validators=[Optional()])
    # R1: routing by ownership.
    route_by_owner = BooleanField(_l("Salesforceの所有者に振り分ける"))
    route_owner_source = RadioField(_l("振り分け先"), default="record", choices=[
        ("record", _l("リード・取引先責任者の所有者")),
        ("account", _l("取引先責任者の取引先の所有者"))], validators=[Optional()])
    # R7: where held / no-show goes on the Event.
    sf_outcome_field = StringField(
        _l("実施結果を記録する行動の項目（API参照名）"),
        description=_l("チェックボックス（実施ならオン）か選択リストの項目。空欄なら件名の先頭に【実施】【無断欠席】を付けます。"),
        validators=[Optional(), Length(max=80), Regexp(r"^[A-Za-z][A-Za-z0-9_]*$",
                                                       message=_l("API参照名を入力してください。"))],
        filters=[lambda value: (value or "").strip()])
    sf_outcome_held = StringField(_l("選択リストの値（実施）"), default="Held",
                                  validators=[Optional(), Length(max=80)])
    sf_outcome_no_show = StringField(_l("選択リストの値（無断欠席）"), default="No Show",
                                     validators=[Optional(), Length(max=80)])


class FieldOptionsQuery(FlaskForm):
    """The autocomplete's GET query (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    field_type = SelectField(choices=list(FIELD_TYPE_LABELS.items()), validate_choice=False)
    sobject = SelectField(choices=[("Lead", "Lead"), ("Event", "Event")], default="Lead",
                          validate_choice=True)
    salesforce_field = StringField(validators=[Length(max=100)])
    sf_event_field = StringField(validators=[Length(max=100)])
