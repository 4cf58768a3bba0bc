"""Where the meeting happens (V1-V5): a page's location, the booking's online meeting and how
its link reaches everyone.

- Google Meet and Microsoft Teams live on the host's own calendar event. The host's calendar
  write (services/calendars/writeback.py) is that event: it goes to the host's receiving
  calendar when that calendar is on the provider's account, else to the account's primary
  calendar *instead of* the receiving one, so the host never gets two events for one booking.
  The write's answer fills the link in here (``conference_written``).
- Zoom meetings are made through the Zoom API with the host's own Zoom connection; the
  Meeting row is its own outbox row (``run_zoom``, jobs/meetings.py). Zoom has no
  idempotency key: the meeting's agenda carries the booking's UID, and a run that may follow
  an earlier try reaching Zoom looks for it before it creates one.
- Everything else (a phone number, an address, a fixed URL) is text shown everywhere.

The host is the booking's first attending member (the round-robin pick, or the page's first
free member). A reschedule moves the same meeting; a new host gets a new one and the old one
is deleted; a cancel deletes it (V3). A failure never touches the booking (V4): the
confirmation waits a short while for the link, then says it follows, and the link goes out
as an update (N3) once it exists.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select, update

from webapp.extensions import db
from webapp.integrations import calendar_port, zoom
from webapp.models import (
    Booking,
    BookingPage,
    CalendarConnection,
    CalendarStatus,
    Meeting,
    MeetingAccount,
    MeetingStatus,
    Member,
    MemberCalendar,
    MessageKind,
    MessageStatus,
    OutboxMessage,
    RecipientRole,
    SyncAction,
    SyncRecord,
    utcnow,
)
from webapp.services import outbox
from webapp.services.ical_uid import booking_uid

log = logging.getLogger(__name__)

GOOGLE_MEET, TEAMS, ZOOM = "google_meet", "teams", "zoom"
PHONE_CUSTOMER, PHONE_HOST, ADDRESS, URL = "phone_customer", "phone_host", "address", "url"
LOCATION_LABELS = {
    "": _l("指定しない"),
    GOOGLE_MEET: _l("Google Meet"),
    TEAMS: _l("Microsoft Teams"),
    ZOOM: _l("Zoom"),
    PHONE_CUSTOMER: _l("電話（お客様の番号に担当者からお掛けします）"),
    PHONE_HOST: _l("電話（担当者の番号にお掛けください）"),
    ADDRESS: _l("住所（対面）"),
    URL: _l("固定のURL"),
}
# The account an online location needs: the calendar connection's provider, or "zoom".
ACCOUNT_OF = {GOOGLE_MEET: "google", TEAMS: "microsoft", ZOOM: "zoom"}
ONLINE = frozenset(ACCOUNT_OF)
NEEDS_VALUE = frozenset({PHONE_HOST, ADDRESS, URL})
PROVIDER_NAMES = {GOOGLE_MEET: "Google Meet", TEAMS: "Microsoft Teams", ZOOM: "Zoom"}
LIVE = (MeetingStatus.PENDING.value, MeetingStatus.RUNNING.value, MeetingStatus.READY.value,
        MeetingStatus.WAITING.value)
PENDING, RUNNING = MeetingStatus.PENDING.value, MeetingStatus.RUNNING.value


# --- what the customer, the mails and the calendars show (V2) ---------------------------------

@dataclass(frozen=True)
class Where:
    """The meeting's place as every surface shows it."""

    kind: str
    label: object = ""  # a lazy translated string
    join_url: str = ""  # an online meeting's link, or the fixed URL
    text: str = ""  # one line: the link, the address, the phone number
    dial_in: tuple[dict, ...] = field(default_factory=tuple)
    passcode: str = ""
    follows: bool = False  # an online meeting whose link is not there yet (V4)
    provider: str = ""

    @property
    def shown(self) -> bool:
        return bool(self.kind)


def where(booking: Booking, page: BookingPage | None = None) -> Where:
    """The booking's location now: its page's kind, and the current meeting's link."""
    page = page or booking.page
    kind = getattr(page, "location_kind", "") or ""
    label = LOCATION_LABELS.get(kind, "")  # lazy: a template renders it in its language
    if kind in ONLINE:
        meeting = current(booking.id)
        if meeting is not None and meeting.join_url:
            details = meeting.details or {}
            return Where(kind, label, meeting.join_url, meeting.join_url,
                         tuple(details.get("dial_in") or ()), details.get("passcode", ""),
                         provider=PROVIDER_NAMES[kind])
        return Where(kind, label, follows=not booking.is_cancelled,
                     provider=PROVIDER_NAMES[kind])
    if kind == PHONE_CUSTOMER:
        return Where(kind, label, text=booking.phone)
    if kind == URL:
        return Where(kind, label, join_url=page.location_value, text=page.location_value)
    if kind in (PHONE_HOST, ADDRESS):
        return Where(kind, label, text=page.location_value)
    return Where("")


# Data written outside a request (invitations, calendar events, Salesforce): plain words in
# the booking's language, like the Salesforce texts (services/sync/plan.py).
DATA_WORDS = {
    "ja": {"place": "場所", "follows": "会議のURLは準備ができ次第お知らせします",
           "passcode": "パスコード", "dial": "電話で参加", "phone_customer": "お客様の電話番号",
           "phone_host": "担当者の電話番号", "address": "住所", "url": "URL"},
    "en": {"place": "Location", "follows": "the meeting link will follow",
           "passcode": "Passcode", "dial": "Dial-in", "phone_customer": "Your phone number",
           "phone_host": "Call us at", "address": "Address", "url": "URL"},
}


def description_lines(place: Where, locale: str = "ja") -> list[str]:
    """Plain-text lines for an .ics DESCRIPTION, a calendar event or a Salesforce Event."""
    if not place.shown:
        return []
    words = DATA_WORDS.get(locale, DATA_WORDS["ja"])
    if place.follows:
        return [f"{place.provider}: {words['follows']}"]
    name = place.provider or words.get(place.kind, words["place"])
    lines = [f"{name}: {place.text}"]
    if place.passcode:
        lines.append(f"{words['passcode']}: {place.passcode}")
    for dial in place.dial_in:
        pin = f" (ID/PIN {dial['pin']})" if dial.get("pin") else ""
        lines.append(f"{words['dial']}: {dial.get('number', '')}{pin}")
    return lines


def current(booking_id: int) -> Meeting | None:
    """The booking's live meeting (the newest not deleted)."""
    return db.session.scalar(select(Meeting).where(
        Meeting.booking_id == booking_id, Meeting.status.in_(
            LIVE + (MeetingStatus.FAILED.value,))).order_by(Meeting.id.desc()).limit(1))


def host_of(booking: Booking) -> Member | None:
    members = booking.members
    return members[0] if members else None


# --- accounts (V1) -----------------------------------------------------------------------------

def accounts_by_member(org_id: int) -> dict[int, set[str]]:
    """member id -> the online accounts they have that work: "google", "microsoft", "zoom"."""
    found: dict[int, set[str]] = {}
    for member_id, provider in db.session.execute(
            select(CalendarConnection.member_id, CalendarConnection.provider).where(
                CalendarConnection.organization_id == org_id,
                CalendarConnection.provider.in_(("google", "microsoft")),
                CalendarConnection.status != CalendarStatus.BROKEN.value)):
        found.setdefault(member_id, set()).add(provider)
    for member_id in db.session.scalars(select(MeetingAccount.member_id).where(
            MeetingAccount.organization_id == org_id, MeetingAccount.status == "ok")):
        found.setdefault(member_id, set()).add("zoom")
    return found


def members_missing_account(page: BookingPage) -> list[Member]:
    """Members of the page who could host and lack the account its location needs (V1)."""
    needed = ACCOUNT_OF.get(page.location_kind or "")
    if needed is None:
        return []
    have = accounts_by_member(page.organization_id)
    return [pm.member for pm in page.page_members if needed not in have.get(pm.member_id, ())]


def zoom_account(member_id: int) -> MeetingAccount | None:
    return db.session.scalar(select(MeetingAccount).where(
        MeetingAccount.member_id == member_id, MeetingAccount.provider == ZOOM)
        .order_by(MeetingAccount.id.desc()).limit(1))


def conference_calendar(member_id: int, kind: str) -> MemberCalendar | None:
    """Where the host's Meet or Teams event goes: the receiving calendar when it is on the
    provider's account, else that account's primary calendar (Google: the calendar named by
    the account's address; Microsoft: the first one listed, the default)."""
    provider = ACCOUNT_OF[kind]
    rows = list(db.session.execute(
        select(MemberCalendar, CalendarConnection.username)
        .join(CalendarConnection, CalendarConnection.id == MemberCalendar.connection_id)
        .where(MemberCalendar.member_id == member_id, CalendarConnection.provider == provider)
        .order_by(MemberCalendar.id)))
    for calendar, _username in rows:
        if calendar.receives_bookings:
            return calendar
    for calendar, username in rows:
        if provider == "google" and calendar.remote_id == username:
            return calendar
    return rows[0][0] if rows else None


# --- planning, in the booking's transaction ----------------------------------------------------

def plan(booking: Booking, now: datetime | None = None) -> None:
    """Bring the booking's meetings in line with its state (V3): a meeting for the host, the
    same one moved on reschedule, the old host's deleted, all deleted on cancel. Adds and
    flushes; Zoom rows are tracked for enqueue-after-commit like the other outboxes."""
    now = now or utcnow()
    db.session.flush()
    kind = booking.page.location_kind or ""
    rows = list(db.session.scalars(select(Meeting).where(
        Meeting.booking_id == booking.id, Meeting.status.in_(LIVE + (
            MeetingStatus.FAILED.value,))).order_by(Meeting.id)))
    host = None if booking.is_cancelled else host_of(booking)
    keep = None
    for row in rows:
        if host is not None and row.member_id == host.id and row.provider == kind and \
                keep is None:
            keep = row
        else:
            _retire(row, now)
    if host is None or kind not in ONLINE:
        _track(rows)
        return
    if keep is None:
        keep = Meeting(organization_id=booking.organization_id, booking_id=booking.id,
                       member_id=host.id, provider=kind, action="put",
                       status=PENDING, details={})
        db.session.add(keep)
        rows.append(keep)
        if kind != ZOOM and conference_calendar(host.id, kind) is None:
            keep.status = MeetingStatus.FAILED.value
            keep.detail = f"{host.name}: no {ACCOUNT_OF[kind]} account connected"
        elif kind == ZOOM and zoom_account(host.id) is None:
            keep.status = MeetingStatus.FAILED.value
            keep.detail = f"{host.name}: Zoom is not connected"
    elif kind == ZOOM and keep.status != MeetingStatus.FAILED.value:
        # Moved: the same meeting gets the new time (its link stays).
        # A run still holding the old lease cannot settle over this (its token is gone);
        # ``attempts`` stays, so the next run looks for what that run may have made.
        keep.action, keep.status, keep.next_attempt_at = "put", PENDING, None
        keep.lease_token = keep.lease_until = None
    db.session.flush()
    _track(rows)


def _retire(row: Meeting, now: datetime) -> None:
    """A meeting that no longer belongs: Zoom's is deleted through the outbox; a Meet or Teams
    conference goes with its calendar event (the calendar write deletes it)."""
    if row.provider == ZOOM and (row.remote_id or row.attempts):
        # Made, or it may have been (an uncertain create): the delete run finds it by its tag.
        row.action, row.status, row.next_attempt_at = "delete", PENDING, None
        row.lease_token = row.lease_until = None
    else:
        row.status, row.detail = MeetingStatus.DELETED.value, "no longer needed"
    row.updated_at = now


def _track(rows: list[Meeting]) -> None:
    zoom_rows = [r for r in rows if r.provider == ZOOM and r.status == PENDING]
    if zoom_rows:
        db.session.flush()
        outbox.track(db.session, outbox.Kind.MEETING, zoom_rows)


# V4: how long a new confirmation or update waits for a link being made before it goes
# without one (it then says the link follows). The link usually takes a second or two.
MAIL_WAIT = timedelta(seconds=30)


def hold_mail(booking: Booking, messages: list[OutboxMessage],
              wait: timedelta = MAIL_WAIT, now: datetime | None = None) -> None:
    """V4: the booking's new confirmation or update waits up to ``wait`` for a link that is
    being made, so the customer gets one message with the link, not two."""
    meeting = current(booking.id)
    if meeting is None or meeting.join_url or meeting.status not in (PENDING, RUNNING):
        return
    due = (now or utcnow()) + wait
    for message in messages:
        if message.kind in (MessageKind.CONFIRMATION.value, MessageKind.UPDATE.value) and \
                message.status == MessageStatus.PENDING.value:
            message.send_after = max(message.send_after or due, due)


# --- outcomes -----------------------------------------------------------------------------------

def link_ready(meeting: Meeting, join_url: str, details: dict) -> None:
    """The meeting exists with ``join_url``: store it and tell everyone who should know."""
    meeting.status, meeting.join_url, meeting.details = (
        MeetingStatus.READY.value, join_url, details)
    meeting.detail = ""
    db.session.flush()
    _announce(meeting)


def link_missing(meeting: Meeting, status: MeetingStatus, reason: str) -> None:
    """The link cannot be made now (waiting for a reconnect, or given up): the held mail goes
    out at once, saying that the link follows (V4)."""
    meeting.status, meeting.detail = status.value, (reason or "")[:1000]
    db.session.flush()
    _release_held(meeting.booking_id)


def _announce(meeting: Meeting) -> None:
    """A new link (the first one, or a new host's): held messages go now and carry it; if the
    customer was already written to without it, an update (N3) brings it; the other members'
    calendar events and the Salesforce Event get it too (V2)."""
    booking = db.session.get(Booking, meeting.booking_id)
    if booking is None or booking.is_cancelled or meeting.join_url == meeting.announced_url:
        return
    meeting.announced_url = meeting.join_url
    if not _release_held(booking.id):
        from webapp.services.notifications import plan as mail_plan

        mail_plan.record_booking_change(booking, MessageKind.UPDATE, note="meeting_link")
    from webapp.services.calendars import writeback

    # The host's Meet or Teams event carries the meeting itself; every other event (and a
    # Zoom host's) gets the link as its location.
    carried = meeting.member_id if meeting.provider in (GOOGLE_MEET, TEAMS) else None
    writeback.plan_writes(booking, members=[m.id for m in booking.members if m.id != carried])
    if booking.page.sf_create_event:
        record = SyncRecord(organization_id=booking.organization_id,
                            action=SyncAction.MEETING.value)
        booking.syncs.append(record)
        db.session.flush()
        outbox.track(db.session, outbox.Kind.SYNC, [record])


def _release_held(booking_id: int) -> bool:
    """Send the booking's waiting confirmation or update now; False when none was waiting
    (the customer has had the latest version already)."""
    from webapp.services.notifications import plan as mail_plan

    sequence = mail_plan.current_sequence(booking_id)
    held = list(db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.booking_id == booking_id, OutboxMessage.sequence == sequence,
        OutboxMessage.kind.in_((MessageKind.CONFIRMATION.value, MessageKind.UPDATE.value)),
        OutboxMessage.status == MessageStatus.PENDING.value)))
    if not any(m.recipient_role == RecipientRole.CUSTOMER.value for m in held):
        return False
    now = utcnow()
    for message in held:
        message.send_after = now
    db.session.flush()
    outbox.track(db.session, outbox.Kind.MAIL, held)
    return True


def conference_written(booking_id: int, member_id: int,
                       conference: calendar_port.Conference | None) -> bool:
    """The host's Meet or Teams event was written: the link is ready, or still being made
    (True: write again shortly), or the provider could not make one."""
    meeting = db.session.scalar(select(Meeting).where(
        Meeting.booking_id == booking_id, Meeting.member_id == member_id,
        Meeting.provider.in_((GOOGLE_MEET, TEAMS)), Meeting.status.in_(LIVE))
        .order_by(Meeting.id.desc()).limit(1))
    if meeting is None:
        return False
    if conference is not None and conference.join_url:
        if meeting.join_url != conference.join_url or meeting.status != \
                MeetingStatus.READY.value:
            link_ready(meeting, conference.join_url, {
                "dial_in": [dict(d) for d in conference.dial_in],
                "passcode": conference.passcode})
        return False
    if conference is not None and conference.pending:
        return True
    link_missing(meeting, MeetingStatus.FAILED, "the provider did not create the meeting")
    return False


def conference_waiting(booking_id: int, member_id: int, reason: str, failed: bool) -> None:
    """The host's event could not be written: the account is disconnected (it waits and runs
    once reconnected), or the write gave up."""
    meeting = db.session.scalar(select(Meeting).where(
        Meeting.booking_id == booking_id, Meeting.member_id == member_id,
        Meeting.provider.in_((GOOGLE_MEET, TEAMS)), Meeting.status.in_(LIVE))
        .order_by(Meeting.id.desc()).limit(1))
    if meeting is not None and not meeting.join_url:
        link_missing(meeting, MeetingStatus.FAILED if failed else MeetingStatus.WAITING,
                     reason)


def resume_waiting_zoom(member_id: int) -> list[int]:
    """The member connected Zoom again: their waiting and failed-for-no-account meetings run."""
    ids = list(db.session.scalars(select(Meeting.id).join(
        Booking, Booking.id == Meeting.booking_id).where(
        Meeting.member_id == member_id, Meeting.provider == ZOOM,
        Meeting.status.in_((MeetingStatus.WAITING.value, MeetingStatus.FAILED.value)),
        Meeting.action == "put", Booking.status == "confirmed",
        Booking.end_at > utcnow())))
    if ids:
        db.session.execute(update(Meeting).where(Meeting.id.in_(ids)).values(
            status=PENDING, next_attempt_at=None, enqueued_at=None, attempts=0, detail="")
            .execution_options(synchronize_session=False))
        rows = list(db.session.scalars(select(Meeting).where(Meeting.id.in_(ids))))
        for row in rows:
            db.session.refresh(row)
        outbox.track(db.session, outbox.Kind.MEETING, rows)
    return ids


# --- the Zoom run (V3) --------------------------------------------------------------------------

@dataclass(frozen=True)
class RunOutcome:
    status: str
    due: datetime | None = None


def _claimable(now: datetime):
    return or_(and_(Meeting.status == PENDING, or_(Meeting.next_attempt_at.is_(None),
                                                   Meeting.next_attempt_at <= now)),
               outbox.lease_expired(Meeting, running=RUNNING, now=now))


def tag_of(booking: Booking, domain: str) -> str:
    """What marks the booking's Zoom meeting as ours (its agenda): the booking's UID."""
    return f"Apo booking {booking_uid(booking.id, domain)}"


def run_zoom(meeting_id: int, app: zoom.ZoomApp | None, keyring, domain: str,
             policy: outbox.Policy, checkpoint: Callable[[], None],
             now: datetime | None = None, session=None) -> RunOutcome:
    """Create, move or delete one Zoom meeting under a lease; the caller commits.

    The lease is committed before Zoom is called: that is the recorded intent. A run after
    an earlier try (``attempts`` > 1: a retry, a lost answer, a worker killed mid-call) looks
    for the meeting tagged with the booking before it creates another, so a meeting is made
    once however often the job runs."""
    now = now or utcnow()
    token = outbox.take_lease(db.session, Meeting, meeting_id, claimable=_claimable(now),
                              running=RUNNING, policy=policy, now=now)
    if token is None:
        row = db.session.get(Meeting, meeting_id)
        if row is not None:
            db.session.refresh(row)
            if row.status == PENDING and row.next_attempt_at and row.next_attempt_at > now:
                return RunOutcome("not_due", row.next_attempt_at)
        return RunOutcome("not_claimed")
    checkpoint()
    meeting = db.session.get(Meeting, meeting_id)
    db.session.refresh(meeting)
    booking = db.session.get(Booking, meeting.booking_id)
    account = zoom_account(meeting.member_id)
    if app is None or account is None:
        reason = "Zoom is not set up" if app is None else \
            f"{meeting.member.name}: Zoom is not connected"
        if meeting.action == "delete":
            return _settle(meeting, token, MeetingStatus.DELETED, reason)
        outcome = _settle(meeting, token, MeetingStatus.FAILED, reason)
        _release_held(meeting.booking_id)
        return outcome
    if account.status != "ok":
        outcome = _settle(meeting, token, MeetingStatus.WAITING,
                          account.status_reason or "Zoom disconnected")
        _release_held(meeting.booking_id)
        return outcome

    def store(credentials: dict) -> None:
        # Zoom spent the old refresh token: the new one is durable before anything else.
        db.session.execute(update(MeetingAccount).where(MeetingAccount.id == account.id)
                           .values(credentials_enc=keyring.encrypt(json.dumps(credentials))))
        checkpoint()

    client = zoom.ZoomClient(app, json.loads(keyring.decrypt(account.credentials_enc) or "{}"),
                             on_credentials_change=store, session=session)
    tag = tag_of(booking, domain)
    topic = f"{booking.page.title}: {booking.name or booking.email}"
    minutes = max(1, int((booking.end_at - booking.start_at).total_seconds() // 60))
    checkpoint()  # no transaction stays open across Zoom's answer
    try:
        if meeting.action == "delete":
            remote = meeting.remote_id or _id_of(client.find_tagged(tag))
            if remote:
                client.delete_meeting(remote)
            return _settle(meeting, token, MeetingStatus.DELETED, "deleted at Zoom")
        found = None
        if meeting.remote_id and client.move_meeting(meeting.remote_id, topic,
                                                     booking.start_at, minutes):
            found = client.get_meeting(meeting.remote_id)
        if found is None and (meeting.attempts > 1 or meeting.remote_id):
            found = client.find_tagged(tag)
            if found is not None:
                client.move_meeting(str(found["id"]), topic, booking.start_at, minutes)
        if found is None:
            found = client.create_meeting(topic, booking.start_at, minutes, tag)
    except calendar_port.ProviderAuthError as exc:
        db.session.execute(update(MeetingAccount).where(MeetingAccount.id == account.id)
                           .values(status="broken", status_reason=str(exc)[:500]))
        outcome = _settle(meeting, token, MeetingStatus.WAITING, str(exc))
        _release_held(meeting.booking_id)
        return outcome
    except calendar_port.ProviderUnavailable as exc:
        delay = policy.retry_delay(meeting.attempts, meeting.created_at, utcnow())
        if delay is None:
            outcome = _settle(meeting, token, MeetingStatus.FAILED, f"gave up: {exc}")
            _release_held(meeting.booking_id)
            return outcome
        due = utcnow() + timedelta(seconds=delay)
        outcome = _settle(meeting, token, MeetingStatus.PENDING, str(exc), due=due)
        if meeting.attempts >= 2:  # the customer is not kept waiting through the retries
            _release_held(meeting.booking_id)
        return outcome
    except calendar_port.ProviderError as exc:
        outcome = _settle(meeting, token, MeetingStatus.FAILED, str(exc))
        _release_held(meeting.booking_id)
        return outcome
    details = {"id": str(found.get("id", "")), "passcode": str(found.get("password", "")),
               "dial_in": [{"number": d.get("number", ""), "country": d.get("country", ""),
                            "pin": str(found.get("id", ""))}
                           for d in (found.get("settings") or {}).get(
                               "global_dial_in_numbers", [])[:3]]}
    if not outbox.settled(db.session, Meeting, meeting.id, token, remote_id=details["id"],
                          updated_at=utcnow()):
        return RunOutcome("not_claimed")
    db.session.refresh(meeting)
    link_ready(meeting, str(found.get("join_url", "")), details)
    log.info("zoom meeting %s: ready", meeting.id)
    return RunOutcome(MeetingStatus.READY.value)


def _id_of(found: dict | None) -> str:
    return str(found["id"]) if found else ""


def _settle(meeting: Meeting, token: str, status: MeetingStatus, detail: str,
            due: datetime | None = None) -> RunOutcome:
    values = dict(status=status.value, detail=(detail or "")[:1000], updated_at=utcnow())
    if status == MeetingStatus.PENDING:
        values.update(next_attempt_at=due, enqueued_at=due)
    if not outbox.settled(db.session, Meeting, meeting.id, token, **values):
        return RunOutcome("not_claimed")
    db.session.refresh(meeting)
    log.info("zoom meeting %s: %s", meeting.id, status.value)
    return RunOutcome(status.value, due)


def due_ids(policy: outbox.Policy, now: datetime | None = None) -> list[int]:
    """The sweeper's query: due Zoom rows not queued recently, and runs whose worker died."""
    now = now or utcnow()
    return list(db.session.scalars(select(Meeting.id).where(or_(
        outbox.due_clause(Meeting, pending=PENDING, now=now, policy=policy),
        outbox.lease_expired(Meeting, running=RUNNING, now=now)),
        Meeting.provider == ZOOM).order_by(Meeting.id).limit(500)))
