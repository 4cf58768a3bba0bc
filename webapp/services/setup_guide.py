"""The guided setup on ホーム: the seed's steps from sign-in to the first synced booking, each
ticked from what the database already says (no Salesforce call, no stored checklist).

Rules chosen here (the spec is silent on them):

- 事前確認 counts as done once it has run for the current connection: the check screen is the
  only one that caches the Event describe (autocomplete caches only the Lead).
- The test booking and the synced row count from the moment of the current connection, so a
  reconnect does not show old bookings as proof.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, or_, select

from webapp.extensions import db
from webapp.models import (
    Booking,
    BookingPage,
    DescribeCache,
    PageKind,
    SalesforceConnection,
    SyncRecord,
    SyncStatus,
)

STEPS = ("connect", "checks", "page", "booking", "synced")


@dataclass(frozen=True)
class SetupStep:
    """One step of the guide: `key` selects its wording and link in the template."""

    key: str
    done: bool


def setup_steps(org_id: int, conn: SalesforceConnection | None) -> list[SetupStep]:
    """The five steps in order, each done or not, for the organization and its connection."""
    connected = conn is not None and not conn.is_broken
    done = {"connect": connected}
    done["checks"] = connected and db.session.scalar(select(exists().where(
        DescribeCache.connection_id == conn.id, DescribeCache.sobject == "Event")))
    done["page"] = db.session.scalar(select(exists().where(
        BookingPage.organization_id == org_id, BookingPage.kind == PageKind.TEAM.value,
        BookingPage.sf_create_lead.is_(True), BookingPage.sf_create_event.is_(True))))
    since = conn.connected_at if conn is not None else None
    booked = (select(Booking.id).join(BookingPage)
              .where(Booking.organization_id == org_id,
                     or_(BookingPage.sf_create_lead.is_(True),
                         BookingPage.sf_create_event.is_(True))))
    if since is not None:
        booked = booked.where(Booking.created_at >= since)
    done["booking"] = connected and db.session.scalar(select(exists(booked)))
    done["synced"] = connected and db.session.scalar(select(exists().where(
        SyncRecord.organization_id == org_id,
        SyncRecord.status.in_((SyncStatus.SUCCEEDED.value, SyncStatus.PARTIAL.value)),
        SyncRecord.booking_id.in_(booked))))
    return [SetupStep(key, bool(done[key])) for key in STEPS]


def guide_page(org_id: int) -> BookingPage | None:
    """The team page the guide points at: the first with ② or ③ ticked, else the first."""
    pages = db.session.scalars(
        select(BookingPage).where(BookingPage.organization_id == org_id,
                                  BookingPage.kind == PageKind.TEAM.value)
        .order_by(BookingPage.id)).all()
    ticked = [p for p in pages if p.sf_create_lead or p.sf_create_event]
    return (ticked or pages or [None])[0]
