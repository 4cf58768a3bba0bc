"""The demo tenant: users whose addresses match the product's demo members, and one app."""

from __future__ import annotations

TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"
DEMO_PASSWORD = "apo-demo"  # noqa: S105 - a public demo credential
DEMO_CLIENT_ID = "6731de76-14a6-49ae-97bc-6eba6914391e"
DEMO_CLIENT_SECRET = "apo-demo-secret~graph"  # noqa: S105 - the demo app's

# (id, displayName, mail, time zone of the mailbox)
DEMO_USERS = (
    ("48d31887-5fad-4d73-a9f5-3c356e68a038", "佐藤 花子", "sato@example.com", "Asia/Tokyo"),
    ("87d349ed-44d7-43e1-9a83-5f2406dee5bd", "鈴木 一郎", "suzuki@example.com", "Asia/Tokyo"),
    ("5bde3e51-d13b-4db1-9948-fe4b109d11a7", "田中 健", "tanaka@example.com", "Asia/Tokyo"),
    ("626cbf8c-5dde-46b0-8385-9e40d64736fe", "Megan Bowen", "meganb@example.com",
     "America/Los_Angeles"),
)
