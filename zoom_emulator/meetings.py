"""Meeting records: validation of create/update bodies, and the shapes Zoom answers with."""

from __future__ import annotations

import base64
import datetime as dt
import re
import secrets
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import ZoomError, invalid
from .state import digits, passcode

TOPIC_MAX = 200
AGENDA_MAX = 2000
PASSWORD = re.compile(r"^[A-Za-z0-9@\-_*]{1,10}$")
SUPPORTED_TYPES = (1, 2)  # instant, scheduled; recurring (3, 8) is not emulated
DEFAULT_SETTINGS = {
    "host_video": False, "participant_video": False, "cn_meeting": False, "in_meeting": False,
    "join_before_host": False, "jbh_time": 0, "mute_upon_entry": False, "watermark": False,
    "use_pmi": False, "approval_type": 2, "audio": "voip", "auto_recording": "none",
    "enforce_login": False, "enforce_login_domains": "", "alternative_hosts": "",
    "waiting_room": True, "meeting_authentication": False, "encryption_type": "enhanced_encryption",
    "approved_or_denied_countries_or_regions": {"enable": False},
    "breakout_room": {"enable": False}, "host_save_video_order": False,
    "email_notification": True, "device_testing": False, "focus_mode": False,
    "private_meeting": False, "continuous_meeting_chat": {"enable": False},
    "participant_focused_meeting": False, "push_change_to_calendar": False,
}
# Dial-in numbers (fictional digits, Zoom's field names): what the invitation's "Dial by your
# location" block lists. The account's countries are Japan and the United States.
DIAL_IN = [
    {"country_name": "Japan", "city": "Tokyo", "number": "+81 3 0000 1488", "type": "toll",
     "country": "JP"},
    {"country_name": "Japan", "city": "Osaka", "number": "+81 6 0000 2488", "type": "toll",
     "country": "JP"},
    {"country_name": "US", "city": "San Jose", "number": "+1 000 011 1000", "type": "toll",
     "country": "US"},
]
WRITABLE = ("topic", "type", "start_time", "timezone", "duration", "agenda", "password",
            "settings")


def body_of(request) -> dict:
    data = request.get_json(silent=True) if request.data else None
    if not isinstance(data, dict):
        raise ZoomError(400, 300, "Request Body should be a valid JSON object.")
    return data


def _zone(name) -> str:
    if not isinstance(name, str) or not name:
        raise invalid("timezone")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise invalid("timezone") from None
    return name


def _start(value, zone: str) -> str:
    """Zoom's two forms: "yyyy-MM-ddTHH:mm:ssZ" (GMT) or "yyyy-MM-ddTHH:mm:ss" read in the
    meeting's time zone. Answers always carry GMT."""
    if not isinstance(value, str):
        raise invalid("start_time")
    text = value.strip()
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise invalid("start_time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(zone))
    return moment.astimezone(dt.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def apply(meeting: dict, data: dict, creating: bool) -> None:
    """Validate `data` and write it into `meeting`; raises ZoomError and changes nothing."""
    changes = {}
    if "type" in data or creating:
        kind = data.get("type", 2)
        if kind not in SUPPORTED_TYPES or isinstance(kind, bool):
            raise invalid("type")
        changes["type"] = kind
    if "topic" in data:
        if not isinstance(data["topic"], str) or len(data["topic"]) > TOPIC_MAX:
            raise invalid("topic")
        changes["topic"] = data["topic"]
    if "agenda" in data:
        if not isinstance(data["agenda"], str) or len(data["agenda"]) > AGENDA_MAX:
            raise invalid("agenda")
        changes["agenda"] = data["agenda"]
    if "duration" in data:
        value = data["duration"]
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise invalid("duration")
        changes["duration"] = value
    zone = _zone(data["timezone"]) if "timezone" in data else meeting["timezone"]
    changes["timezone"] = zone
    if "start_time" in data:
        changes["start_time"] = _start(data["start_time"], zone)
    elif creating and changes.get("type") == 2:
        raise invalid("start_time")
    if "password" in data:
        if not isinstance(data["password"], str) or not PASSWORD.match(data["password"]):
            raise invalid("password", "Invalid password.")
        changes["password"] = data["password"]
    if "settings" in data:
        if not isinstance(data["settings"], dict):
            raise invalid("settings")
        changes["settings"] = {**meeting["settings"], **data["settings"]}
    if "password" in changes:
        changes["encrypted_password"] = _encrypted(changes["password"])
    meeting.update(changes)


def new_meeting(store, user: dict) -> dict:
    """A blank record for `user`, before the request body is applied."""
    number = store.new_meeting_id()
    secret = passcode()
    return {"id": number, "uuid": base64.b64encode(secrets.token_bytes(16)).decode(),
            "host_id": user["id"], "host_email": user["email"], "topic": "Zoom Meeting",
            "type": 2, "status": "waiting", "start_time": None, "duration": 60,
            "timezone": user["timezone"], "agenda": "", "created_at": store.stamp(),
            "password": secret, "encrypted_password": _encrypted(secret),
            "h323_password": digits(6), "pstn_password": digits(6),
            "zak": secrets.token_urlsafe(24), "settings": dict(DEFAULT_SETTINGS),
            "pre_schedule": False, "deleted": False}


def _encrypted(password: str) -> str:
    # Zoom's pwd= value is an opaque token standing for the passcode; it changes with it.
    return secrets.token_urlsafe(24).replace("-", "x").replace("_", "y")[:32] + ".1"


def join_url(store, meeting: dict) -> str:
    return f"{store.public_url}/j/{meeting['id']}?pwd={meeting['encrypted_password']}"


def public(store, meeting: dict) -> dict:
    """The create / get answer."""
    start = meeting["start_time"] or meeting["created_at"]
    settings = dict(meeting["settings"], global_dial_in_countries=["JP", "US"],
                    global_dial_in_numbers=DIAL_IN)
    return {"uuid": meeting["uuid"], "id": meeting["id"], "host_id": meeting["host_id"],
            "host_email": meeting["host_email"], "topic": meeting["topic"],
            "type": meeting["type"], "status": meeting["status"], "start_time": start,
            "duration": meeting["duration"], "timezone": meeting["timezone"],
            "agenda": meeting["agenda"], "created_at": meeting["created_at"],
            "start_url": f"{store.public_url}/s/{meeting['id']}?zak={meeting['zak']}",
            "join_url": join_url(store, meeting), "password": meeting["password"],
            "h323_password": meeting["h323_password"],
            "pstn_password": meeting["pstn_password"],
            "encrypted_password": meeting["encrypted_password"], "settings": settings,
            "pre_schedule": meeting["pre_schedule"]}


def listed(store, meeting: dict) -> dict:
    """One item of List meetings."""
    return {"uuid": meeting["uuid"], "id": meeting["id"], "host_id": meeting["host_id"],
            "topic": meeting["topic"], "type": meeting["type"],
            "start_time": meeting["start_time"] or meeting["created_at"],
            "duration": meeting["duration"], "timezone": meeting["timezone"],
            "agenda": meeting["agenda"], "created_at": meeting["created_at"],
            "join_url": join_url(store, meeting)}


def ends_at(meeting: dict) -> dt.datetime:
    start = dt.datetime.fromisoformat((meeting["start_time"] or meeting["created_at"])
                                      .replace("Z", "+00:00"))
    return start + dt.timedelta(minutes=meeting["duration"])
