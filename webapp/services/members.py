"""社員 (members): working-hours parsing, creation, edits and removal (O2, O4).

Services never commit: the view that calls them owns the transaction.
"""

from __future__ import annotations

import re
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Admin, BookingMember, BookingPage, Member, PageMember
from webapp.services import booking_pages
from webapp.services.slots import WEEKDAYS  # one weekday order for hours and slots

# "09:00-12:00", also with the dashes and tildes Japanese keyboards produce.
_RANGE = re.compile(r"^(\d{1,2}):(\d{2})\s*[-~〜～–ー]\s*(\d{1,2}):(\d{2})$")
# Ranges are separated by commas (ASCII, Japanese or full-width) or new lines.
_SEPARATORS = re.compile(r"[,、，\n]+")


class WorkingHoursError(ValueError):
    """A weekday's working hours could not be read; the message is shown beside the field."""


class MemberInUse(ValueError):
    """The member cannot be removed; the message says why."""


@cache
def timezone_names() -> tuple[str, ...]:
    """Sorted IANA zone names offered in time-zone selects."""
    return tuple(sorted(available_timezones()))


def is_valid_timezone(name: str) -> bool:
    """True when zoneinfo knows `name` as an IANA zone."""
    if not name or name not in timezone_names():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _minutes(hours: str, minutes: str, text: str, *, is_end: bool = False) -> int:
    value = int(hours) * 60 + int(minutes)
    # 24:00 may end a day (working until midnight); it can never start a range.
    limit = 24 * 60 if is_end else 24 * 60 - 1
    if int(minutes) >= 60 or value > limit:
        raise WorkingHoursError(_l("「%(range)s」の時刻が正しくありません（00:00〜24:00）。",
                                   range=text))
    if value % 5:
        raise WorkingHoursError(_l("「%(range)s」: 時刻は5分単位で入力してください。", range=text))
    return value


def parse_day_ranges(text: str) -> list[list[str]]:
    """Parse one weekday, e.g. "09:00-12:00, 13:00-18:00", into sorted [["09:00", "12:00"], ...].

    Blank means a day off. Raises WorkingHoursError on a bad format, a time off the 5-minute
    grid, a start not before its end, or overlapping ranges.
    """
    spans = []
    for raw in _SEPARATORS.split(text.strip()):
        part = raw.strip()
        if not part:
            continue
        match = _RANGE.match(part)
        if match is None:
            raise WorkingHoursError(
                _l("「%(range)s」は「09:00-12:00」の形式で入力してください。", range=part)
            )
        start = _minutes(match[1], match[2], part)
        end = _minutes(match[3], match[4], part, is_end=True)
        if start >= end:
            raise WorkingHoursError(
                _l("「%(range)s」: 開始時刻は終了時刻より前にしてください。", range=part)
            )
        spans.append((start, end))
    spans.sort()
    for (_, previous_end), (start, _) in zip(spans, spans[1:], strict=False):
        if start < previous_end:
            raise WorkingHoursError(
                _l("時間帯が重なっています。重ならないように入力してください。"))
    return [[f"{s // 60:02d}:{s % 60:02d}", f"{e // 60:02d}:{e % 60:02d}"] for s, e in spans]


def format_day_ranges(ranges: list[list[str]] | None) -> str:
    """The editor text for one weekday: "09:00-12:00, 13:00-18:00" (empty for a day off)."""
    return ", ".join(f"{start}-{end}" for start, end in ranges or [])


def list_members(org_id: int) -> list[Member]:
    """The organization's members, by name."""
    return list(
        db.session.scalars(
            select(Member).where(Member.organization_id == org_id).order_by(Member.name, Member.id)
        )
    )


def email_taken(org_id: int, email: str, exclude_id: int | None = None) -> bool:
    """True when another member of the organization has this email (case-insensitive)."""
    query = select(Member.id).where(
        Member.organization_id == org_id,
        func.lower(Member.email) == email.strip().lower(),
    )
    if exclude_id is not None:
        query = query.where(Member.id != exclude_id)
    return db.session.scalar(query) is not None


def _apply(member: Member, data: dict) -> None:
    member.name = data["name"].strip()
    member.email = data["email"].strip()
    member.timezone = data["timezone"]
    # Every weekday is stored, days off as [], so the slot engine never guesses.
    member.working_hours = {day: list(data["working_hours"].get(day) or []) for day in WEEKDAYS}


def create_member(org_id: int, data: dict) -> Member:
    """Add a member from validated form data (name, email, timezone, working_hours)."""
    member = Member(organization_id=org_id)
    _apply(member, data)
    db.session.add(member)
    db.session.flush()
    return member


def update_member(member: Member, data: dict) -> Member:
    """Change a member from validated form data."""
    _apply(member, data)
    db.session.flush()
    return member


def pages_of(member: Member) -> list[BookingPage]:
    """The booking pages the member takes part in."""
    return list(
        db.session.scalars(
            select(BookingPage)
            .join(PageMember)
            .where(PageMember.member_id == member.id)
            .order_by(BookingPage.title)
        )
    )


def sole_member_pages(member: Member) -> list[BookingPage]:
    """Pages that would be left without anybody if the member were removed."""
    return [page for page in pages_of(member) if len(page.page_members) == 1]


def booking_count(member: Member) -> int:
    """How many bookings (any status) the member attended."""
    return db.session.scalar(
        select(func.count()).select_from(BookingMember).where(BookingMember.member_id == member.id)
    )


def remove_member(member: Member) -> None:
    """Delete a member and take them off every page's member order.

    Refused (MemberInUse) when they attended bookings, because bookings keep who attended as
    history (O5), or when a page would be left without any member.
    """
    if booking_count(member):
        raise MemberInUse(_l("この社員には予約の履歴があるため削除できません。"
                             "予約ページのメンバーから外すと、新しい予約は入らなくなります。"))
    pages = pages_of(member)
    if any(len(page.page_members) == 1 for page in pages):
        raise MemberInUse(_l("この社員だけが担当している予約ページがあります。"
                             "先にその予約ページの担当者を変更するか、予約ページを削除してください。"))
    for page in pages:
        booking_pages.remove_page_member(page, member)
    for admin in db.session.scalars(select(Admin).where(Admin.member_id == member.id)):
        admin.member_id = None
    db.session.delete(member)
    db.session.flush()
