"""Whether the meeting happened (R7): a member or admin marks a past booking as held or
no-show, and the outcome goes to the Salesforce Event through the sync queue.

Members mark it from a signed link in their e-mail (no account needed), valid from the start
of the meeting until ``LINK_DAYS`` after its end; admins from the booking's screen, any time
after the start. Changing one's mind writes the new value: each change adds a sync record that
writes the booking's outcome *at run time* with absolute values (a checkbox, a picklist value,
or the Subject's prefix), so a retry or a late run never writes a stale answer (S4).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer

from webapp.extensions import db
from webapp.models import Booking, Member, SyncAction, SyncRecord, utcnow
from webapp.services import outbox

HELD, NO_SHOW = "held", "no_show"
OUTCOMES = (HELD, NO_SHOW)
LABELS = {HELD: _l("実施"), NO_SHOW: _l("無断欠席")}
# Subject prefixes when the page maps no Event field; data written in Japanese, like the
# rest of the Event (services/sync/plan.py).
PREFIXES = {HELD: "【実施】", NO_SHOW: "【無断欠席】"}
LINK_DAYS = 14
LINK_CLOSED = _l("このリンクで実施結果を記録できるのは、"
                 "打ち合わせの開始後から終了の14日後までです。")
NOT_YET = _l("実施結果は打ち合わせの開始後に記録できます。")


class OutcomeRefused(ValueError):
    """The outcome cannot be set now; the message is shown."""


def can_mark(booking: Booking, now: datetime | None = None, by_link: bool = False) -> bool:
    now = now or utcnow()
    if booking.is_cancelled or now < booking.start_at:
        return False
    return not by_link or now <= booking.end_at + timedelta(days=LINK_DAYS)


def set_outcome(booking: Booking, value: str, now: datetime | None = None,
                by_link: bool = False) -> SyncRecord | None:
    """Record the outcome; a sync record carries it to the Event (tracked for the caller's
    enqueue-after-commit). None when nothing changed.

    Raises:
        OutcomeRefused: an unknown value, a cancelled or future booking, an expired link.
    """
    now = now or utcnow()
    if value not in OUTCOMES:
        raise OutcomeRefused(_l("実施結果を選んでください。"))
    if not can_mark(booking, now, by_link):
        raise OutcomeRefused(LINK_CLOSED if by_link else NOT_YET)
    if booking.outcome == value:
        return None
    booking.outcome, booking.outcome_at = value, now
    if not booking.page.sf_create_event:
        db.session.flush()
        return None
    record = SyncRecord(organization_id=booking.organization_id,
                        action=SyncAction.OUTCOME.value)
    booking.syncs.append(record)
    db.session.flush()
    outbox.track(db.session, outbox.Kind.SYNC, [record])
    return record


def event_fields(booking: Booking, subject: str, field_type: str = "picklist") -> dict:
    """The Event's fields for the booking's current outcome: the mapped field (a checkbox is
    true when held; a picklist takes the page's two values), else the Subject with the
    outcome's prefix (any earlier prefix replaced)."""
    page = booking.page
    if page.sf_outcome_field:
        if field_type == "boolean":
            return {page.sf_outcome_field: booking.outcome == HELD}
        value = page.sf_outcome_held if booking.outcome == HELD else page.sf_outcome_no_show
        return {page.sf_outcome_field: value}
    base = subject
    for prefix in PREFIXES.values():
        base = base.removeprefix(prefix)
    return {"Subject": (PREFIXES[booking.outcome] + base)[:255]}


# --- the member's signed link ----------------------------------------------------------------

def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt="apo-outcome")


def link_token(booking: Booking, member: Member, secret: str) -> str:
    return _serializer(secret).dumps({"b": booking.id, "m": member.id})


def read_link(token: str, secret: str) -> tuple[Booking, Member] | None:
    """The booking and member of a link, or None for a forged one or a member no longer on
    the booking."""
    if not token or len(token) > 500:
        return None
    try:
        data = _serializer(secret).loads(token)
    except BadSignature:
        return None
    booking = db.session.get(Booking, int(data.get("b", 0)))
    if booking is None or int(data.get("m", 0)) not in {m.id for m in booking.members}:
        return None
    return booking, db.session.get(Member, int(data["m"]))
