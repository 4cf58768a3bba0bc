"""Model factories and sign-in helpers (loaded as a pytest plugin by conftest)."""

from __future__ import annotations

import itertools

import pytest

from webapp.extensions import db
from webapp.models import (
    Admin,
    BookingPage,
    FormField,
    Member,
    Organization,
    PageMember,
)

_seq = itertools.count(1)


def make_org(name: str | None = None, plan: str = "premium", **kw) -> Organization:
    org = Organization(name=name or f"Org {next(_seq)}", plan=plan, **kw)
    db.session.add(org)
    db.session.flush()
    return org


def make_admin(org: Organization, email: str | None = None, password: str = "secret-pass",
               **kw) -> Admin:
    admin = Admin(organization=org, email=email or f"admin{next(_seq)}@example.com",
                  name=kw.pop("name", "Admin"), **kw)
    admin.set_password(password)
    db.session.add(admin)
    db.session.flush()
    return admin


def make_member(org: Organization, name: str | None = None, email: str | None = None,
                **kw) -> Member:
    n = next(_seq)
    member = Member(organization=org, name=name or f"Member {n}",
                    email=email or f"member{n}@example.com", **kw)
    db.session.add(member)
    db.session.flush()
    return member


def make_page(org: Organization, members: list[Member] | None = None, kind: str = "team",
              fields: list[dict] | None = None, **kw) -> BookingPage:
    n = next(_seq)
    page = BookingPage(organization=org, kind=kind if isinstance(kind, str) else kind.value,
                       title=kw.pop("title", f"Page {n}"), slug=kw.pop("slug", f"page-{n}"), **kw)
    page.page_members = [PageMember(member=m, position=i) for i, m in enumerate(members or [])]
    page.fields = [FormField(position=i, **f) for i, f in enumerate(fields or [])]
    db.session.add(page)
    db.session.flush()
    return page


def login(client, admin: Admin, password: str = "secret-pass"):
    """Sign in through the real login form (CSRF included)."""
    response = client.post_form("/login", {"email": admin.email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


@pytest.fixture
def org(app):
    """An organization on the premium plan."""
    organization = make_org()
    db.session.commit()
    return organization


@pytest.fixture
def admin(org):
    """An admin of `org` (password 'secret-pass')."""
    user = make_admin(org)
    db.session.commit()
    return user


@pytest.fixture
def admin_client(client, admin):
    """A test client signed in as `admin`."""
    login(client, admin)
    return client


def make_booking(page: BookingPage, members: list[Member] | None = None, start=None, **kw):
    """A confirmed booking on `page` attended by `members` (default: the page's first member)."""
    from datetime import UTC, datetime, timedelta

    from webapp.models import Booking, BookingMember

    start = start or datetime(2030, 1, 7, 1, 0, tzinfo=UTC)
    attending = members if members is not None else page.members[:1]
    booking = Booking(organization_id=page.organization_id, page=page, start_at=start,
                      end_at=start + timedelta(minutes=page.duration_minutes or 30),
                      email=kw.pop("email", f"customer{next(_seq)}@example.com"), **kw)
    booking.booking_members = [BookingMember(member=m, position=i)
                               for i, m in enumerate(attending)]
    db.session.add(booking)
    db.session.flush()
    return booking


# A test that books "the first slot" reads the slots, then posts a while later. The earliest
# slot sits just past the minimum notice (services/slots.MIN_NOTICE), so when the clock crosses
# that boundary in between, the booking is refused as too late instead of for what the test
# checks. Picking slots a margin past the boundary keeps the test about its own rule.
NOTICE_MARGIN_MINUTES = 10


def bookable_slots(page: BookingPage, **kw):
    """The page's slots that start at least NOTICE_MARGIN_MINUTES past the minimum notice."""
    from datetime import timedelta

    from webapp.models import utcnow
    from webapp.services import bookings, slots

    earliest = utcnow() + slots.MIN_NOTICE + timedelta(minutes=NOTICE_MARGIN_MINUTES)
    return [slot for slot in bookings.available_slots(page, **kw) if slot.start >= earliest]


def make_sync(booking, **kw):
    """A pending sync record (outbox row) for `booking`."""
    from webapp.models import SyncRecord

    record = SyncRecord(organization_id=booking.organization_id, booking=booking, **kw)
    db.session.add(record)
    db.session.flush()
    return record


ALWAYS_WORKING = {day: [["00:00", "24:00"]] for day in
                  ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}

ONE_OF_EACH_FIELD = [
    dict(field_type="text", label="部署名", help_text="例: 営業部"),
    dict(field_type="textarea", label="ご相談内容", required=True),
    dict(field_type="radio", label="ご希望の連絡手段", choices=["メール", "電話", "Google Chat"]),
    dict(field_type="checkbox", label="ご興味のある機能",
         choices=["日程調整", "CRM連携", "分析レポート"]),
    dict(field_type="dropdown", label="従業員規模", choices=["1-10名", "11-50名", "51-200名"]),
    dict(field_type="hidden", label="流入元", hidden_value="website"),
    dict(field_type="date", label="導入希望日"),
]


def make_public_page(members: int = 2, fields: list[dict] | None = None, **kw) -> BookingPage:
    """A published team page whose members work around the clock (public-flow tests).

    Around-the-clock hours keep tests independent of the time of day they run at.
    """
    org = make_org(timezone=kw.pop("org_timezone", "Asia/Tokyo"))
    people = [make_member(org, working_hours=ALWAYS_WORKING) for _ in range(members)]
    return make_page(org, people, fields=fields if fields is not None else ONE_OF_EACH_FIELD,
                     **kw)


def commit_and_enqueue() -> int:
    """What a booking view does after its service calls: stamp the tracked work, commit once,
    queue it by the ids held (services/outbox.py); returns how many jobs were queued."""
    from webapp import jobs
    from webapp.services import outbox

    work = outbox.stamp_tracked(db.session)
    db.session.commit()
    return jobs.enqueue_after_commit(work)


def run_calendar_writes(booking_id: int) -> None:
    """Run the booking's open calendar writes now, in this process, as the worker's jobs
    would (K4); a retry scheduled for later stays pending."""
    from sqlalchemy import select

    from webapp.jobs.calendars import run_calendar_write
    from webapp.models import CalendarWrite

    ids = db.session.scalars(select(CalendarWrite.id).where(
        CalendarWrite.booking_id == booking_id,
        CalendarWrite.status.in_(("pending", "running"))).order_by(CalendarWrite.id)).all()
    db.session.commit()
    for write_id in ids:
        run_calendar_write(write_id)
    db.session.expire_all()
