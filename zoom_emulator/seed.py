"""The demo seed: Apo's demo members (webapp/services/demo.py, same names and e-mails) as Zoom
users of one account, and a pre-registered user-managed OAuth app."""

from __future__ import annotations

DEMO_PASSWORD = "apo-demo"
DEMO_CLIENT_ID = "ApoDemoZoomClient01"
DEMO_CLIENT_SECRET = "apo-demo-zoom-secret"
DEMO_ACCOUNT_ID = "ApoDemoAccount0001"
# The scopes a Zoom app is configured with on the Marketplace; the authorize request names
# none (Zoom grants the app's configured scopes). Granular names, as new apps have them.
DEMO_SCOPES = ("meeting:write:meeting meeting:read:meeting meeting:read:list_meetings "
               "meeting:update:meeting meeting:delete:meeting user:read:user")
# (user id, family name, given name, e-mail): the id is Zoom's 22-character form.
USERS = (
    ("KdYKjnimT4KPd8FFgQt9FQ", "佐藤", "花子", "sato@example.com"),
    ("z8yBXksmRBKn4Qm2nSAdbw", "鈴木", "一郎", "suzuki@example.com"),
    ("Ht3pLqNfS0yWvA1c9dE2xg", "田中", "健", "tanaka@example.com"),
)


def seed_demo(store) -> None:
    for user_id, family, given, email in USERS:
        store.add_user(email, family, given, DEMO_PASSWORD, user_id=user_id)
