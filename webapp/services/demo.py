"""The demo organization that `make run` loads: premium plan, three members, a team page."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.config import DEFAULT_TIMEZONE
from webapp.models import (
    Admin,
    AttendMode,
    BookingPage,
    FieldType,
    FormField,
    Member,
    Organization,
    PageKind,
    PageMember,
    Plan,
)

DEMO_ADMIN_EMAIL = "admin@example.com"
DEMO_ADMIN_PASSWORD = "apo-demo"  # noqa: S105 - published demo credentials
DEMO_TEAM_SLUG = "demo-team"
DEMO_PERSONAL_SLUG = "demo-sato"

# Emails match the sales reps of the Salesforce emulator's demo org, except Tanaka's, who has
# no Salesforce user (so the Event owner falls through to the next member, rule E3).
DEMO_MEMBERS = [
    ("佐藤 花子", "sato@example.com"),
    ("鈴木 一郎", "suzuki@example.com"),
    ("田中 健", "tanaka@example.com"),
]

DEMO_FIELDS = [
    dict(field_type=FieldType.TEXT, label="部署名", help_text="例: 営業部"),
    dict(field_type=FieldType.TEXTAREA, label="ご相談内容", required=True),
    dict(field_type=FieldType.RADIO, label="ご希望の連絡手段",
         choices=["メール", "電話", "Google Chat"]),
    dict(field_type=FieldType.CHECKBOX, label="ご興味のある機能",
         choices=["日程調整", "CRM連携", "分析レポート"]),
    dict(field_type=FieldType.DROPDOWN, label="従業員規模",
         choices=["1-10名", "11-50名", "51-200名", "201名以上"]),
    dict(field_type=FieldType.HIDDEN, label="流入元", hidden_value="website"),
    dict(field_type=FieldType.DATE, label="導入希望日"),
]


def seed(session: Session) -> bool:
    """Create the demo data unless the demo admin exists. Returns True when it created it."""
    if session.scalar(select(Admin).where(Admin.email == DEMO_ADMIN_EMAIL)) is not None:
        return False
    org = Organization(name="Apo デモ株式会社", timezone=DEFAULT_TIMEZONE, plan=Plan.PREMIUM.value)
    org.logo_png, org.logo_version = _demo_logo()
    session.add(org)
    members = [Member(organization=org, name=name, email=email) for name, email in DEMO_MEMBERS]
    session.add_all(members)
    admin = Admin(organization=org, email=DEMO_ADMIN_EMAIL, name="管理者 デモ")
    admin.set_password(DEMO_ADMIN_PASSWORD)
    session.add(admin)

    team = BookingPage(
        organization=org, kind=PageKind.TEAM.value, slug=DEMO_TEAM_SLUG,
        title="製品デモのご予約", description="Apo の製品デモ（30分）をオンラインでご案内します。",
        duration_minutes=30, window_days=14, buffer_minutes=10,
        attend_mode=AttendMode.ALL.value,
        location_kind="zoom",  # V1: a Zoom meeting through the host's own Zoom account
    )
    team.page_members = [PageMember(member=m, position=i) for i, m in enumerate(members[:2])]
    team.fields = [FormField(position=i, **_field(spec)) for i, spec in enumerate(DEMO_FIELDS)]
    personal = BookingPage(
        organization=org, kind=PageKind.PERSONAL.value, slug=DEMO_PERSONAL_SLUG,
        title="佐藤との個別相談", description="", duration_minutes=45, window_days=21,
        location_kind="address", location_value="東京都千代田区丸の内1-1-1 Apoビル 5F",
    )
    personal.page_members = [PageMember(member=members[0], position=0)]
    session.add_all([team, personal])
    session.flush()
    return True


def _field(spec: dict) -> dict:
    values = dict(spec)
    values["field_type"] = spec["field_type"].value
    return values


# CalDAV accounts of the demo's Radicale (scripts/radicale_server.py DEMO_ACCOUNTS): the
# members whose calendar `make run` connects, by email.
DEMO_CALDAV = {"sato@example.com": ("sato", "sato-caldav-demo"),
               "suzuki@example.com": ("suzuki", "suzuki-caldav-demo")}


def connect_demo_calendars(session: Session, caldav_url: str, options) -> int:
    """Connect the demo members' Radicale calendars (K1) and read them once, unless they are
    connected already. Returns how many were connected."""
    from webapp.models import CalendarConnection
    from webapp.services.calendars import connections, sync

    count = 0
    for email, (user, password) in DEMO_CALDAV.items():
        member = session.scalar(select(Member).where(Member.email == email))
        if member is None or session.scalar(select(CalendarConnection).where(
                CalendarConnection.member_id == member.id)) is not None:
            continue
        connection = connections.connect_caldav(member, caldav_url, user, password, options)
        sync.sync_connection(connection, options)
        count += 1
    session.flush()
    return count


def _demo_logo() -> tuple[bytes, str]:
    """A logo for the demo organization, drawn here and taken through the upload's own path."""
    import io

    from PIL import Image, ImageDraw, ImageFont

    from webapp.services import org_logo

    image = Image.new("RGBA", (120, 120), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, 119, 119), radius=26, fill=(27, 106, 201, 255))
    draw.text((60, 62), "A", font=ImageFont.load_default(size=78), fill="white", anchor="mm")
    out = io.BytesIO()
    image.save(out, "PNG")
    return org_logo.process(out.getvalue())
