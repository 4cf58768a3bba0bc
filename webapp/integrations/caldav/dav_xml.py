"""WebDAV/CalDAV request bodies and response parsing (RFC 4918, 4791, 6578), with defusedxml:
the server is whatever URL a member typed."""

from __future__ import annotations

from defusedxml import ElementTree

from webapp.integrations.calendar_port import ProviderError

NS = {"d": "DAV:", "c": "urn:ietf:params:xml:ns:caldav", "cs": "http://calendarserver.org/ns/"}
MULTIGET_BATCH = 100
MAX_REDIRECTS = 3

PROPFIND_PRINCIPAL = """<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop>
<d:current-user-principal/><d:resourcetype/><c:calendar-home-set/></d:prop></d:propfind>"""
PROPFIND_CALENDARS = """<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop>
<d:resourcetype/><d:displayname/><c:supported-calendar-component-set/>
<d:current-user-privilege-set/></d:prop></d:propfind>"""
SYNC_COLLECTION = """<?xml version="1.0" encoding="utf-8"?>
<d:sync-collection xmlns:d="DAV:"><d:sync-token>{token}</d:sync-token>
<d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>"""
MULTIGET = """<?xml version="1.0" encoding="utf-8"?>
<c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop>
<d:getetag/><c:calendar-data/></d:prop>{hrefs}</c:calendar-multiget>"""
PROPFIND_ETAGS = """<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:cs="http://calendarserver.org/ns/"><d:prop>
<d:getetag/><cs:getctag/><d:resourcetype/></d:prop></d:propfind>"""
TIME_RANGE_QUERY = """<?xml version="1.0" encoding="utf-8"?>
<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop>
<c:calendar-data/></d:prop><c:filter><c:comp-filter name="VCALENDAR">
<c:comp-filter name="VEVENT"><c:time-range start="{start}" end="{end}"/></c:comp-filter>
</c:comp-filter></c:filter></c:calendar-query>"""
UID_QUERY = """<?xml version="1.0" encoding="utf-8"?>
<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/>
</d:prop><c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT">
<c:prop-filter name="UID"><c:text-match collation="i;octet">{uid}</c:text-match>
</c:prop-filter></c:comp-filter></c:comp-filter></c:filter></c:calendar-query>"""


def uid_conflict_href(response) -> str | None:
    """For a refusal carrying the no-uid-conflict precondition (RFC 4791 5.3.2.1): the existing
    resource's href, or "" when the server does not name it. None for any other answer.

    Known by its body, whatever the status: the RFC's examples answer 403 or 409, Xandikos
    answers 412 without an href, Radicale without an href, and Nextcloud answered a plain 400.
    """
    if response.status_code < 400 or b"no-uid-conflict" not in response.content:
        return None
    try:
        root = ElementTree.fromstring(response.content)
    except ElementTree.ParseError:
        return ""  # the precondition's name in a broken body: look the UID up instead
    condition = root.find("c:no-uid-conflict", NS)
    if root.tag != "{DAV:}error" or condition is None:
        return None  # the words elsewhere (a description, another element) are no refusal
    href = condition.findtext("d:href", None, NS)
    return href.strip() if href else ""


def parse(response):
    try:
        return ElementTree.fromstring(response.content)
    except ElementTree.ParseError:
        raise ProviderError("the calendar server sent an unreadable answer") from None


def escape_xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def ical_utc(moment) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


def parent_href(href: str) -> str:
    return href.rstrip("/").rsplit("/", 1)[0] + "/"


def last_segment(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]
