"""Forms of the public booking flow. The booking form is built per page from its fields (F1-F3).

Input limits follow Salesforce so a booking never fails to sync for length (reliability 3.7):
email and (last) name 80, first name 40, company and text fields 255, text areas 32,000 (the
Lead/Event Description limit). At most 10 attendees (同席者) are accepted.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    Form,
    FormField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields import FieldList
from wtforms.validators import (
    DataRequired,
    Length,
    Optional,
    Regexp,
    StopValidation,
    ValidationError,
)
from wtforms.widgets import DateInput, EmailInput

from webapp.forms.email_address import SalesforceEmail
from webapp.models import BookingPage, FieldType
from webapp.models import FormField as CustomField
from webapp.services.bookings import CustomerDetails

TEXT_MAX = 255
START_YEARS = (2000, 2999)
TEXTAREA_MAX = 32000
EMAIL_MAX = 80
MAX_ATTENDEES = 10
ATTENDEE_ROWS = 3  # empty rows offered without JavaScript

REQUIRED = _l("入力してください。")
CHOOSE = _l("選択してください。")
TOO_LONG = _l("%(max)d文字以内で入力してください。")


# A 4-byte UTF-8 character costs 12 bytes percent-encoded; a field name and "&=" under 40.
_ENCODED_CHAR, _FIELD_NAME = 12, 40


def largest_booking_body() -> int:
    """Bytes of the largest booking POST a page can accept, in any script (X4).

    MAX_CONTENT_LENGTH must stay above it, so no valid booking ever meets a 413.
    """
    from webapp.forms.admin import MAX_CHOICES
    from webapp.services.booking_pages import MAX_CUSTOM_FIELDS, MAX_TEXTAREA_FIELDS

    def encoded(chars: int) -> int:
        return chars * _ENCODED_CHAR + _FIELD_NAME

    textareas = MAX_TEXTAREA_FIELDS * encoded(TEXTAREA_MAX)
    # Any other field: at most every choice of a checkbox field ticked, or one text value.
    others = (MAX_CUSTOM_FIELDS - MAX_TEXTAREA_FIELDS) * max(
        MAX_CHOICES * encoded(TEXT_MAX), encoded(TEXT_MAX))
    people = sum(encoded(n) for n in (EMAIL_MAX, 40, EMAIL_MAX, TEXT_MAX, EMAIL_MAX)) \
        + MAX_ATTENDEES * 2 * encoded(EMAIL_MAX)
    return textareas + others + people + 16 * 1024  # token, start, tz, blank attendee rows


def _required(message=REQUIRED):
    return DataRequired(message=message)


def _length(limit: int):
    return Length(max=limit, message=TOO_LONG)


def _email(required: bool = True):
    validators = [_required() if required else Optional(), SalesforceEmail(),
                  _length(EMAIL_MAX)]
    return StringField(_l("メールアドレス"), validators=validators, widget=EmailInput(),
                       filters=[_strip])


def _strip(value):
    return value.strip() if isinstance(value, str) else value


_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


def _one_line(value):
    """Names and the company go into e-mail headers and calendar fields (N1, N2, F5): a line
    break or other control character becomes a space, runs of spaces one, so the booking's
    e-mails can always be built (a name can never split a header)."""
    return " ".join(_CONTROL.sub(" ", value).split()) if isinstance(value, str) else value


class _InChoices:
    """Refuse values that are not among the field's choices (forged or stale forms)."""

    def __call__(self, form, field):
        values = field.data if isinstance(field.data, list) else [field.data]
        allowed = {value for value, _label in field.choices}
        if any(value not in allowed for value in values if value not in (None, "")):
            raise StopValidation(_l("選択肢にない値が送信されました。選び直してください。"))


def _valid_date(form, field):
    if field.data:
        try:
            date.fromisoformat(field.data)
        except ValueError:
            raise ValidationError(_l("日付の形式が正しくありません。")) from None


class AttendeeForm(Form):
    """One 同席者 row: both blank is an unused row; otherwise the email must be valid (F3)."""

    name = StringField(_l("氏名"), validators=[_length(80)], filters=[_one_line])
    email = StringField(_l("メールアドレス"), validators=[_length(EMAIL_MAX)],
                        widget=EmailInput(), filters=[_strip])

    def validate_email(self, field):
        if not field.data:
            if self.name.data:
                raise StopValidation(_l("同席者のメールアドレスを入力してください。"))
            return
        SalesforceEmail()(self, field)

    @property
    def is_blank(self) -> bool:
        return not (self.name.data or self.email.data)


def _attendee_limit(form, field):
    if sum(1 for entry in field.entries if not entry.form.is_blank) > MAX_ATTENDEES:
        raise ValidationError(
            _l("同席者は%(max)d名まで登録できます。", max=MAX_ATTENDEES)
        )


class BookingForm(FlaskForm):
    """Fields every page has; name fields and custom fields are added by booking_form()."""

    start = HiddenField()
    tz = HiddenField()
    company = StringField(_l("会社名"), validators=[Optional(), _length(TEXT_MAX)],
                          filters=[_one_line])
    email = _email()
    # Hard cap on parsed rows so a crafted POST cannot make us build thousands of subforms.
    attendees = FieldList(FormField(AttendeeForm), min_entries=ATTENDEE_ROWS,
                          max_entries=MAX_ATTENDEES * 5, validators=[_attendee_limit])
    # Honeypot: hidden from people by CSS, filled in by naive bots.
    website = StringField(validators=[Length(max=0, message=_l("入力しないでください。"))])

    page: BookingPage

    def custom_fields(self):
        """(FormField model, WTForms field) pairs in the page's order, hidden fields left out."""
        return [(f, self[f"field_{f.id}"]) for f in self.page.fields
                if f.field_type != FieldType.HIDDEN.value]

    def details(self, locale: str) -> CustomerDetails:
        """The validated input as service data; hidden fields get the admin's value."""
        answers = {}
        for custom in self.page.fields:
            if custom.field_type == FieldType.HIDDEN.value:
                answers[str(custom.id)] = custom.hidden_value
            else:
                answers[str(custom.id)] = self[f"field_{custom.id}"].data or (
                    [] if custom.field_type == FieldType.CHECKBOX.value else "")
        names = self._names()
        return CustomerDetails(
            email=self.email.data, company=self.company.data or "", answers=answers,
            attendees=[{"name": e.form.name.data or "", "email": e.form.email.data}
                       for e in self.attendees.entries if not e.form.is_blank],
            customer_timezone=resolve_timezone(self.tz.data) or "", locale=locale,
            phone=(self.phone.data or "") if "phone" in self else "", **names,
        )

    def _names(self) -> dict:
        if self.page.sf_split_name:
            last, first = self.last_name.data, self.first_name.data
            return {"last_name": last, "first_name": first, "name": f"{last} {first}"}
        return {"name": self.name.data}


PHONE_PATTERN = r"^\+?[0-9][0-9 ()\-]{5,24}$"
PHONE_MESSAGE = _l("電話番号は数字で入力してください（例: 03-1234-5678）。")


def booking_form(page: BookingPage, **kwargs) -> BookingForm:
    """The booking form of `page`: default fields per rule P1, then its custom fields (F2)."""

    class PageBookingForm(BookingForm):
        pass

    if page.sf_split_name:
        PageBookingForm.last_name = StringField(
            _l("氏名(姓)"), validators=[_required(), _length(80)], filters=[_one_line])
        PageBookingForm.first_name = StringField(
            _l("氏名(名)"), validators=[_required(), _length(40)], filters=[_one_line])
    else:
        PageBookingForm.name = StringField(
            _l("氏名"), validators=[_required(), _length(80)], filters=[_one_line])
    if page.location_kind == "phone_customer":  # V1: the host calls this number
        PageBookingForm.phone = StringField(
            _l("電話番号"), validators=[_required(), Regexp(PHONE_PATTERN, message=PHONE_MESSAGE)],
            filters=[_one_line], description=_l("担当者からこの番号にお電話します。"))
    for custom in page.fields:
        if custom.field_type != FieldType.HIDDEN.value:
            setattr(PageBookingForm, f"field_{custom.id}", _custom_field(custom))
    form = PageBookingForm(**kwargs)
    form.page = page
    return form


def _custom_field(custom: CustomField):
    kind = custom.type_enum
    presence = [_required(CHOOSE if kind.has_choices else REQUIRED)] if custom.required else [
        Optional()]
    options = dict(label=custom.label, description=custom.help_text)
    choices = [(c, c) for c in custom.choices or []]
    if kind == FieldType.TEXTAREA:
        return TextAreaField(validators=[*presence, _length(TEXTAREA_MAX)], **options)
    if kind == FieldType.RADIO:
        return RadioField(choices=choices, validate_choice=False,
                          validators=[_InChoices(), *presence], **options)
    if kind == FieldType.CHECKBOX:
        return SelectMultipleField(choices=choices, validate_choice=False,
                                   validators=[_InChoices(), *presence], **options)
    if kind == FieldType.DROPDOWN:
        return SelectField(choices=[("", _l("選択してください"))] + choices, validate_choice=False,
                           validators=[_InChoices(), *presence], **options)
    if kind == FieldType.DATE:
        return StringField(widget=DateInput(), validators=[*presence, _valid_date], **options)
    return StringField(validators=[*presence, _length(TEXT_MAX)], filters=[_strip], **options)


class RouteForm(FlaskForm):
    """R1: the email first, so a known customer sees their owner's times."""

    email = _email()


class OutcomeLinkForm(FlaskForm):
    """R7: held or no-show, from the member's e-mail link."""

    outcome = HiddenField(validators=[DataRequired()])


class CancelForm(FlaskForm):
    reason = TextAreaField(_l("キャンセルの理由(任意)"),
                           validators=[Optional(), _length(2000)], filters=[_strip])


class RescheduleForm(FlaskForm):
    start = HiddenField()


def parse_start(value: str | None) -> datetime | None:
    """An ISO 8601 start with a UTC offset, as UTC; None for anything else."""
    if not value or len(value) > 40:
        return None
    try:
        parsed = datetime.fromisoformat(value)
        # Years 1 and 9999 overflow once converted or shifted by a duration (X4).
        parsed = parsed.astimezone(UTC) if parsed.tzinfo else None
    except (ValueError, OverflowError):
        return None
    return parsed if parsed is not None and START_YEARS[0] <= parsed.year <= START_YEARS[1] \
        else None


def resolve_timezone(value: str | None) -> str | None:
    """`value` when it names an IANA time zone, else None."""
    if not value or len(value) > 64:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None
    return value
