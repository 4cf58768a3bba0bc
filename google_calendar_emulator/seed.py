"""The demo seed: three Workspace accounts of one domain and a pre-registered OAuth client."""

from __future__ import annotations

DEMO_PASSWORD = "apo-demo"
DEMO_CLIENT_ID = "100000000001-apodemo.apps.googleusercontent.com"
DEMO_CLIENT_SECRET = "GOCSPX-apo-demo-secret"
USERS = (
    ("sato@example.com", "佐藤 花子"),
    ("suzuki@example.com", "鈴木 一郎"),
    ("tanaka@example.com", "田中 健"),
)
TEAM_CALENDAR = "c_team0123456789@group.calendar.google.com"


def seed_demo(store) -> None:
    for email, name in USERS:
        store.add_user(email, name, DEMO_PASSWORD)
    # A secondary calendar sato owns, so calendarList has more than the primary.
    store.add_calendar(TEAM_CALENDAR, "営業チーム", "sato@example.com")
    store.calendars[TEAM_CALENDAR]["acl"]["suzuki@example.com"] = "reader"
