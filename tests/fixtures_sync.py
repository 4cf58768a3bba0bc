"""Helpers for the sync-engine tests: a connected org's team page and bookings, emulator reads.

Builds on tests/fixtures_salesforce (the OAuth connect fixture, C4), a pytest plugin of
conftest; test modules import the helpers they use from this file.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from tests.factories import make_booking, make_member, make_page, make_sync
from webapp.extensions import db
from webapp.models import Booking, Member, SyncRecord

# Emulator seed users (salesforce_emulator/seed.py): sato and suzuki active, takahashi inactive.
SATO, SUZUKI, TAKAHASHI = "sato@example.com", "suzuki@example.com", "takahashi@example.com"


def team_page(org, member_emails=(SATO,), **settings):
    """A team page of `org` whose members have these emails (page order = tuple order)."""
    members = [db.session.scalar(select(Member).where(Member.organization_id == org.id,
                                                      Member.email == email))
               or make_member(org, email=email) for email in member_emails]
    settings.setdefault("sf_create_lead", True)
    settings.setdefault("sf_create_event", True)
    return make_page(org, members, title=settings.pop("title", "製品デモ"), **settings)


_starts = iter(range(10_000))


def booking_with_sync(page, email="new.customer@example.com", members=None, **kw):
    """A confirmed booking (unique start time) and its pending create sync, committed."""
    start = kw.pop("start", None) or datetime(2030, 1, 7, 1, 0, tzinfo=UTC) + timedelta(
        hours=next(_starts))
    kw.setdefault("name", "山田 太郎")
    booking = make_booking(page, members, start=start, email=email, **kw)
    record = make_sync(booking)
    db.session.commit()
    return booking, record


def reload(record: SyncRecord) -> SyncRecord:
    db.session.expire_all()
    return db.session.get(SyncRecord, record.id)


def reload_booking(booking: Booking) -> Booking:
    db.session.expire_all()
    return db.session.get(Booking, booking.id)


def live(emulator, sobject: str, **match) -> list[dict]:
    """Records of a type that are not deleted and match every field given (case-insensitive)."""
    def same(a, b):
        return str(a).casefold() == str(b).casefold()

    return [r for r in emulator.records(sobject) if not r.get("IsDeleted")
            and all(same(r.get(k), v) for k, v in match.items())]


def calls(emulator) -> int:
    return emulator.usage()["total"]
