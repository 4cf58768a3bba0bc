"""Routing by ownership (R1-R3): a known customer meets the member who owns them in Salesforce.

The customer gives their email first; one composite call (two SOQL queries, one round trip)
looks for an unconverted Lead, else a Contact (L1, E2), with the owner's email through the
``Owner`` relationship, so no user list is needed; with the page's "account" choice a
Contact's Account owner is taken instead. The owner must be an attending member of the page
(matched by email). Anything else (not connected, an error, the 1.5 s bound, no match, an owner
who is not on the page) falls back to the page's usual rule (O5), and the booking records
which and why (R2).

The decision travels as a signed, short-lived token (itsdangerous) in plain form posts and
links, so the step works without JavaScript; confirm checks it again (signature, page, email)
and never trusts a member id from the browser.

R3: the step answers no sooner than ``FLOOR`` after it began, whether the email is known or
not, and shows nothing but whom the customer will meet.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import asdict, dataclass, replace

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select

from webapp.extensions import db
from webapp.integrations.salesforce import SalesforceError, escape_soql
from webapp.models import BookingPage, Member
from webapp.services.salesforce import connections

TIMEOUT = 1.5  # seconds: the lookup's bound (R1)
FLOOR = 0.8  # seconds: every answer takes at least this long, known email or not (R3)
TOKEN_MAX_AGE = 2 * 3600  # a routed choice is good for the booking that follows, not forever
_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="apo-routing")


@dataclass(frozen=True)
class Decision:
    """R2: what routing found. ``member_id`` is the routed host, None on a fallback."""

    member_id: int | None = None
    matched: str = ""  # "Lead" or "Contact"
    record_id: str = ""
    owner_id: str = ""
    fallback: bool = True
    reason: str = ""  # no_match | not_member | timeout | error | not_connected | routed

    def as_dict(self) -> dict:
        return asdict(self)


def lead_soql(email: str) -> str:
    return ("SELECT Id, OwnerId, Owner.Email FROM Lead "  # noqa: S608 - escaped
            f"WHERE Email = '{escape_soql(email)}' AND IsConverted = false "
            "ORDER BY LastModifiedDate DESC LIMIT 1")


def contact_soql(email: str) -> str:
    return ("SELECT Id, OwnerId, Owner.Email, Account.OwnerId, Account.Owner.Email "  # noqa: S608
            f"FROM Contact WHERE Email = '{escape_soql(email)}' "
            "ORDER BY LastModifiedDate DESC LIMIT 1")


def decide(page: BookingPage, email: str, salesforce, timeout: float = TIMEOUT) -> Decision:
    """The routed host for ``email`` on ``page``, or a fallback with its reason."""
    try:
        client = connections.client_for(connections.get_connection(page.organization_id),
                                        replace(salesforce, timeout=timeout))
    except SalesforceError:  # not connected, disconnected or broken (C7)
        return Decision(reason="not_connected")
    subs = [client.sub_query("leads", lead_soql(email)),
            client.sub_query("contacts", contact_soql(email))]
    future = _POOL.submit(client.composite_results, subs)
    try:
        results = future.result(timeout=timeout)
    except FutureTimeout:
        return Decision(reason="timeout")
    except Exception:  # noqa: BLE001 - any failure routes as usual (R1)
        return Decision(reason="error")
    if not all(r.ok for r in results.values()):
        return Decision(reason="error")
    leads, contacts = results["leads"].records, results["contacts"].records
    if leads:
        record, matched = leads[0], "Lead"
        owner_id, owner_email = record.get("OwnerId", ""), _email(record.get("Owner"))
    elif contacts:
        record, matched = contacts[0], "Contact"
        account = record.get("Account") or {}
        if page.route_owner_source == "account" and account.get("OwnerId"):
            owner_id, owner_email = account["OwnerId"], _email(account.get("Owner"))
        else:
            owner_id, owner_email = record.get("OwnerId", ""), _email(record.get("Owner"))
    else:
        return Decision(reason="no_match")
    member = _page_member(page, owner_email)
    if member is None:
        return Decision(matched=matched, record_id=record["Id"], owner_id=owner_id,
                        reason="not_member")
    return Decision(member_id=member.id, matched=matched, record_id=record["Id"],
                    owner_id=owner_id, fallback=False, reason="routed")


def decide_evenly(page: BookingPage, email: str, salesforce) -> Decision:
    """``decide``, answered no sooner than FLOOR after it began (R3)."""
    began = time.monotonic()
    decision = decide(page, email, salesforce)
    left = FLOOR - (time.monotonic() - began)
    if left > 0:
        time.sleep(left)
    return decision


def _email(owner) -> str:
    return (owner or {}).get("Email", "").strip().lower() if isinstance(owner, dict) else ""


def _page_member(page: BookingPage, email: str) -> Member | None:
    if not email:
        return None
    for member in page.members:
        if (member.email or "").strip().lower() == email:
            return member
    return None


# --- the signed decision --------------------------------------------------------------------

def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="apo-routing")


def sign(page: BookingPage, email: str, decision: Decision, secret: str) -> str:
    return _serializer(secret).dumps({"p": page.id, "e": email.strip().lower(),
                                      "d": decision.as_dict()})


def read(token: str | None, page: BookingPage, secret: str,
         email: str | None = None) -> tuple[str, Decision] | None:
    """(email, decision) of a token made for this page (and this email when given), or None
    for a missing, forged, expired or foreign one."""
    if not token or len(token) > 2000:
        return None
    try:
        data = _serializer(secret).loads(token, max_age=TOKEN_MAX_AGE)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("p") != page.id:
        return None
    if email is not None and data.get("e") != email.strip().lower():
        return None
    try:
        decision = Decision(**data["d"])
    except (KeyError, TypeError):
        return None
    if decision.member_id is not None and decision.member_id not in {
            m.id for m in page.members}:
        return None
    return data["e"], decision


def member_name(member_id: int | None) -> str:
    if member_id is None:
        return ""
    return db.session.scalar(select(Member.name).where(Member.id == member_id)) or ""
