"""The member's own connect link (K1): signed and expiring, no admin account needed.

The token names the member and its organization only; it is a capability, so it is shown to
the admin once and never logged.
"""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeTimedSerializer

from webapp.extensions import db
from webapp.models import Member

SALT = "apo-calendar-connect"


def make_token(member: Member, secret_key: str) -> str:
    return URLSafeTimedSerializer(secret_key, salt=SALT).dumps(
        {"m": member.id, "o": member.organization_id})


def member_for_token(token: str, secret_key: str, max_age: int) -> Member | None:
    """The member the link was made for, or None (bad, expired, or the member is gone)."""
    if not token or len(token) > 500:
        return None
    try:
        data = URLSafeTimedSerializer(secret_key, salt=SALT).loads(token, max_age=max_age)
    except BadSignature:  # SignatureExpired is a BadSignature
        return None
    member = db.session.get(Member, int(data.get("m", 0)))
    if member is None or member.organization_id != data.get("o"):
        return None
    return member
