"""Time zone names as Graph accepts them: Windows names (a small table) and IANA names."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WINDOWS_TO_IANA = {
    "UTC": "UTC", "Coordinated Universal Time": "UTC",
    "Tokyo Standard Time": "Asia/Tokyo", "Korea Standard Time": "Asia/Seoul",
    "China Standard Time": "Asia/Shanghai", "India Standard Time": "Asia/Kolkata",
    "Singapore Standard Time": "Asia/Singapore", "AUS Eastern Standard Time": "Australia/Sydney",
    "GMT Standard Time": "Europe/London", "W. Europe Standard Time": "Europe/Berlin",
    "Romance Standard Time": "Europe/Paris", "Eastern Standard Time": "America/New_York",
    "Central Standard Time": "America/Chicago", "Mountain Standard Time": "America/Denver",
    "Pacific Standard Time": "America/Los_Angeles", "Hawaiian Standard Time": "Pacific/Honolulu",
}


def zone(name: str | None) -> ZoneInfo | None:
    """The zone for a Windows or IANA name; None when unknown."""
    name = (name or "").strip().strip('"')
    if not name:
        return None
    try:
        return ZoneInfo(WINDOWS_TO_IANA.get(name, name))
    except (ZoneInfoNotFoundError, ValueError):
        return None


def parse_local(value: str, tz_name: str) -> dt.datetime:
    """``{"dateTime": value, "timeZone": tz_name}`` as an aware UTC datetime.

    Raises ValueError for a bad date or an unknown zone.
    """
    tzinfo = zone(tz_name)
    if tzinfo is None:
        raise ValueError(f"unknown time zone {tz_name!r}")
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1]
    if "." in text:
        head, frac = text.split(".", 1)
        text = head + "." + frac[:6]
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tzinfo)
    return moment.astimezone(dt.UTC)


def format_local(moment: dt.datetime, tz_name: str) -> dict:
    """Graph's dateTimeTimeZone with seven fractional digits, as the docs' samples show."""
    local = moment.astimezone(zone(tz_name)).replace(tzinfo=None)
    return {"dateTime": local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond:06d}0",
            "timeZone": tz_name}


def parse_query_datetime(value: str) -> dt.datetime:
    """startDateTime/endDateTime of a calendarView: ISO 8601; no offset means UTC."""
    text = value.strip().replace(" ", "+")
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)
