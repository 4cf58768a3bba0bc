"""Calendar jobs through the real queue (K3): the sweeper's polling round queues each stale
calendar once, and the worker keeps the busy times fresh without any page view."""

from __future__ import annotations

from datetime import timedelta

from rq import Queue, SimpleWorker
from rq.serializers import JSONSerializer
from sqlalchemy import select

from tests.factories import ALWAYS_WORKING, make_member
from tests.fixtures_radicale import vevent
from webapp.extensions import db
from webapp.jobs.calendars import enqueue_due, options
from webapp.models import BusyInterval, MemberCalendar, utcnow
from webapp.services.calendars import connections


def test_K3_polling_round_queues_each_stale_calendar_once_and_the_worker_syncs_it(
        caldav_app, org, caldav_account, redis_conn):
    member = make_member(org, working_hours=ALWAYS_WORKING)
    connections.connect_caldav(member, caldav_account.server.url + "/", caldav_account.user,
                               caldav_account.password, options())
    db.session.commit()
    queue = Queue(caldav_app.config["RQ_QUEUE"], connection=redis_conn,
                  serializer=JSONSerializer)
    assert enqueue_due() == 1  # never synced
    assert enqueue_due() == 0  # already waiting in the queue: not queued twice
    assert len(queue) == 1
    day = (utcnow() + timedelta(days=2)).strftime("%Y%m%d")
    caldav_account.put_event("m.ics", vevent("m", f"{day}T010000Z", f"{day}T020000Z"))
    SimpleWorker([queue], connection=redis_conn, serializer=JSONSerializer).work(burst=True)
    db.session.expire_all()
    assert len(db.session.scalars(select(BusyInterval)).all()) == 1
    assert enqueue_due() == 0  # fresh now
    calendar = db.session.scalar(select(MemberCalendar))
    calendar.last_synced_at -= options().poll_interval + timedelta(seconds=1)
    db.session.commit()
    assert enqueue_due() == 1  # stale again after the poll interval


def test_K8_caldav_is_polled_every_minute_providers_with_push_every_five(app, org):
    """CalDAV (and Salesforce Events) have no push: polled at CALENDAR_FAST_POLL_INTERVAL;
    Google and Microsoft 365 keep the longer safety-net poll."""
    from webapp.models import CalendarConnection
    from webapp.services.calendars import sync

    member = make_member(org, working_hours=ALWAYS_WORKING)
    ids = {}
    for provider in ("caldav", "google"):
        connection = CalendarConnection(organization_id=org.id, member_id=member.id,
                                        provider=provider, server_url="", username="x",
                                        credentials_enc="", status="ok")
        connection.calendars = [MemberCalendar(member_id=member.id, remote_id=provider,
                                               name=provider, blocks=True,
                                               receives_bookings=False)]
        db.session.add(connection)
        db.session.flush()
        ids[provider] = connection.id
    now = utcnow()
    for calendar in db.session.scalars(select(MemberCalendar)):
        calendar.last_synced_at = now - timedelta(seconds=90)
    db.session.commit()
    assert sync.due_connection_ids(options(), now) == [ids["caldav"]]
    assert sorted(sync.due_connection_ids(options(), now + timedelta(minutes=4))) == sorted(
        ids.values())
