"""Small typed records of Graph answers, and the dateTimeTimeZone parsing they need."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

# showAs values that leave the member available: free, and workingElsewhere, which Graph's own
# availabilityView also reports as free ("0") (resources/scheduleinformation).
NOT_BLOCKING = ("free", "workingElsewhere")


@dataclass(frozen=True)
class GraphUser:
    id: str
    mail: str
    display_name: str


@dataclass(frozen=True)
class Calendar:
    id: str
    name: str
    is_default: bool
    can_edit: bool


@dataclass(frozen=True)
class GraphEvent:
    """One event instance (single, occurrence or exception); times are aware UTC.

    For an all-day event (``is_all_day``) ``start``/``end`` are midnights of floating dates:
    use ``start.date()``/``end.date()`` in the member's own time zone.
    """

    id: str
    start: dt.datetime
    end: dt.datetime
    is_all_day: bool
    show_as: str
    type: str
    subject: str
    ical_uid: str
    series_master_id: str | None = None
    transaction_id: str | None = None
    is_cancelled: bool = False
    response: str = "none"  # the calendar owner's own answer (responseStatus.response)
    change_key: str = ""  # the version, for conditional writes (K10)
    body_preview: str = ""
    location: str = ""
    # V1: the Teams meeting of an online event (onlineMeeting.joinUrl, tollNumber).
    join_url: str = ""
    toll_number: str = ""
    conference_id: str = ""

    @property
    def blocks(self) -> bool:
        """Not cancelled, not shown as free, and not declined by the owner (K9): a declined
        invitation kept in the calendar says "I will not be there"."""
        return (not self.is_cancelled and self.show_as not in NOT_BLOCKING
                and self.response != "declined")


@dataclass(frozen=True)
class SyncResult:
    """One calendarView delta round. ``full`` means ``events`` is the whole window: replace
    the stored copy; otherwise apply ``events`` (upserts) and ``removed`` (ids)."""

    events: list[GraphEvent]
    removed: list[str]
    delta_link: str
    full: bool


@dataclass(frozen=True)
class BusyBlock:
    start: dt.datetime
    end: dt.datetime
    status: str


def parse_time(value: dict) -> dt.datetime:
    """A Graph dateTimeTimeZone answered in UTC (seven fractional digits) as aware UTC."""
    text = value["dateTime"]
    head, _, frac = text.partition(".")
    moment = dt.datetime.fromisoformat(head + ("." + frac[:6] if frac else ""))
    return moment.replace(tzinfo=dt.UTC)


def format_time(moment: dt.datetime) -> dict:
    return {"dateTime": moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S"),
            "timeZone": "UTC"}


def parse_event(item: dict) -> GraphEvent:
    return GraphEvent(id=item["id"], start=parse_time(item["start"]), end=parse_time(item["end"]),
                      is_all_day=bool(item.get("isAllDay")), show_as=item.get("showAs") or "busy",
                      type=item.get("type") or "singleInstance", subject=item.get("subject") or "",
                      ical_uid=item.get("iCalUId") or "",
                      series_master_id=item.get("seriesMasterId"),
                      transaction_id=item.get("transactionId"),
                      is_cancelled=bool(item.get("isCancelled")),
                      response=(item.get("responseStatus") or {}).get("response") or "none",
                      change_key=item.get("changeKey") or "",
                      body_preview=item.get("bodyPreview") or "",
                      location=(item.get("location") or {}).get("displayName") or "",
                      join_url=(item.get("onlineMeeting") or {}).get("joinUrl") or "",
                      toll_number=(item.get("onlineMeeting") or {}).get("tollNumber") or "",
                      conference_id=(item.get("onlineMeeting") or {}).get("conferenceId")
                      or "")
