"""予約ページ: pages, their ordered members (O3, O5) and their booking-form fields (F1, F2).

Services never commit: the view that calls them owns the transaction.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from webapp.extensions import db
from webapp.models import (
    AttendMode,
    Booking,
    BookingPage,
    FieldType,
    FormField,
    Member,
    PageKind,
    PageMember,
)

PAGE_SETTINGS = ("title", "description", "slug", "duration_minutes", "window_days",
                 "buffer_minutes", "change_cutoff_minutes", "attend_mode", "is_published",
                 "location_kind", "location_value", "min_notice_minutes")


class BookingPageError(ValueError):
    """A change to a page was refused; the message is shown to the admin."""


def list_pages(org_id: int) -> list[BookingPage]:
    """The organization's booking pages, newest first."""
    return list(
        db.session.scalars(
            select(BookingPage)
            .where(BookingPage.organization_id == org_id)
            .options(selectinload(BookingPage.page_members), selectinload(BookingPage.fields))
            .order_by(BookingPage.created_at.desc(), BookingPage.id.desc())
        )
    )


def slug_taken(slug: str, exclude_id: int | None = None) -> bool:
    """True when any organization's page already uses this public slug (slugs are global)."""
    query = select(BookingPage.id).where(BookingPage.slug == slug)
    if exclude_id is not None:
        query = query.where(BookingPage.id != exclude_id)
    return db.session.scalar(query) is not None


def _apply_settings(page: BookingPage, data: dict) -> None:
    for name in PAGE_SETTINGS:
        if name in data:
            value = data[name]
            setattr(page, name, value.strip() if isinstance(value, str) else value)
    if not page.is_team:
        # Personal pages have one member, so there is nobody to choose among (O5).
        page.attend_mode = AttendMode.ALL.value


def create_page(org_id: int, kind: str, data: dict, members: list[Member]) -> BookingPage:
    """Create a page from validated settings with its members in the given order.

    Raises BookingPageError when a personal page does not get exactly one member or a team
    page gets none.
    """
    if kind == PageKind.PERSONAL.value and len(members) != 1:
        raise BookingPageError(_l("個人用の予約ページには社員を1人だけ選んでください。"))
    if not members:
        raise BookingPageError(_l("チーム用の予約ページにはメンバーを1人以上選んでください。"))
    page = BookingPage(organization_id=org_id, kind=kind)
    _apply_settings(page, data)
    page.page_members = [PageMember(member=m, position=i) for i, m in enumerate(members)]
    db.session.add(page)
    db.session.flush()
    return page


def update_page(page: BookingPage, data: dict) -> BookingPage:
    """Change a page's settings (the kind is fixed at creation)."""
    _apply_settings(page, data)
    db.session.flush()
    return page


def booking_count(page: BookingPage) -> int:
    """How many bookings (any status) were made on the page."""
    return db.session.scalar(
        select(func.count()).select_from(Booking).where(Booking.page_id == page.id)
    )


def delete_page(page: BookingPage) -> None:
    """Delete a page with its members and fields.

    Raises BookingPageError when it has bookings: they are history and keep their page.
    """
    if booking_count(page):
        raise BookingPageError(_l("この予約ページには予約があるため削除できません。"
                                  "公開を停止すると、新しい予約は受け付けなくなります。"))
    db.session.delete(page)
    db.session.flush()


def _renumber(page: BookingPage, page_members: list[PageMember]) -> None:
    for position, page_member in enumerate(page_members):
        page_member.position = position
    page.page_members = page_members
    db.session.flush()


def set_personal_member(page: BookingPage, member: Member) -> None:
    """Make `member` the only member of a personal page."""
    if page.members != [member]:
        page.page_members = [PageMember(member=member, position=0)]
        db.session.flush()


def add_page_member(page: BookingPage, member: Member) -> None:
    """Append a member at the end of a team page's メンバー並び順 (O3)."""
    if not page.is_team:
        raise BookingPageError(_l("個人用の予約ページにはメンバーを追加できません。"))
    if member in page.members:
        raise BookingPageError(_l("この社員は既にメンバーです。"))
    _renumber(page, [*page.page_members, PageMember(member=member)])


def remove_page_member(page: BookingPage, member: Member) -> None:
    """Take a member off a team page; the last member cannot be removed."""
    remaining = [pm for pm in page.page_members if pm.member_id != member.id]
    if len(remaining) == len(page.page_members):
        raise BookingPageError(_l("この社員はこの予約ページのメンバーではありません。"))
    if not remaining:
        raise BookingPageError(_l("予約ページにはメンバーが1人以上必要です。"))
    _renumber(page, remaining)


def _swap(items: list, index: int, direction: str) -> list:
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(items):
        items[index], items[other] = items[other], items[index]
    return items


def move_page_member(page: BookingPage, member: Member, direction: str) -> None:
    """Move a member one place up or down in the page's member order (O3)."""
    items = list(page.page_members)
    index = next((i for i, pm in enumerate(items) if pm.member_id == member.id), None)
    if index is None:
        raise BookingPageError(_l("この社員はこの予約ページのメンバーではありません。"))
    _renumber(page, _swap(items, index, direction))


def default_fields(page: BookingPage) -> list[tuple[str, bool]]:
    """The fixed fields every booking form starts with (F1): (label, required)."""
    if page.sf_split_name:
        names = [(_l("氏名(姓)"), False), (_l("氏名(名)"), False)]
    else:
        names = [(_l("氏名"), False)]
    return [*names, (_l("会社名"), False), (_l("メールアドレス"), True)]


def _apply_field(field: FormField, data: dict) -> None:
    field_type = FieldType(data["field_type"])
    field.field_type = field_type.value
    field.label = data["label"].strip()
    field.help_text = (data.get("help_text") or "").strip()
    field.salesforce_field = (data.get("salesforce_field") or "").strip()
    field.sf_event_field = (data.get("sf_event_field") or "").strip()  # R6
    # A type change drops what no longer applies, so a stale choice list or hidden value
    # never reaches the public form or Salesforce.
    field.choices = list(data.get("choices") or []) if field_type.has_choices else []
    is_hidden = field_type is FieldType.HIDDEN
    field.hidden_value = (data.get("hidden_value") or "").strip() if is_hidden else ""
    # The customer never sees a hidden field, so it cannot be required of them.
    field.required = bool(data.get("required")) and not is_hidden


# The largest booking form must fit under the request body limit in any script (X4);
# forms_public.largest_booking_body() turns these caps into bytes.
MAX_CUSTOM_FIELDS = 20
MAX_TEXTAREA_FIELDS = 5


def field_limit_reached(page: BookingPage, field_type: str,
                        field: FormField | None = None) -> bool:
    """True when adding (or changing ``field`` to) a field of this type passes the caps."""
    others = [f for f in page.fields if field is None or f.id != field.id]
    if len(others) >= MAX_CUSTOM_FIELDS:
        return True
    textareas = sum(f.field_type == FieldType.TEXTAREA.value for f in others)
    return field_type == FieldType.TEXTAREA.value and textareas >= MAX_TEXTAREA_FIELDS


def add_field(page: BookingPage, data: dict) -> FormField:
    """Append a custom field (F2) built from validated form data."""
    field = FormField(page=page, position=len(page.fields))
    _apply_field(field, data)
    db.session.add(field)
    db.session.flush()
    return field


def update_field(field: FormField, data: dict) -> FormField:
    """Change a custom field from validated form data."""
    _apply_field(field, data)
    db.session.flush()
    return field


def _renumber_fields(page: BookingPage, fields: list[FormField]) -> None:
    for position, field in enumerate(fields):
        field.position = position
    page.fields = fields
    db.session.flush()


def delete_field(field: FormField) -> None:
    """Delete a custom field; answers already given stay on their bookings."""
    page = field.page
    _renumber_fields(page, [f for f in page.fields if f.id != field.id])


def move_field(field: FormField, direction: str) -> None:
    """Move a custom field one place up or down in its form."""
    page = field.page
    items = list(page.fields)
    _renumber_fields(page, _swap(items, items.index(field), direction))
