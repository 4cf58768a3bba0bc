"""Members service: working-hours parsing, email uniqueness and removal (O2, O4)."""

import pytest

from tests.factories import make_admin, make_booking, make_member, make_org, make_page
from webapp.extensions import db
from webapp.models import Member
from webapp.services import members as svc
from webapp.services.members import WorkingHoursError, format_day_ranges, parse_day_ranges


@pytest.fixture
def request_ctx(app):
    """A request context, so lazy (translated) messages can be read."""
    with app.test_request_context("/"):
        yield


def test_O4_parse_day_ranges_reads_and_sorts_ranges():
    assert parse_day_ranges("13:00-18:00, 09:00-12:00") == [
        ["09:00", "12:00"], ["13:00", "18:00"]]


def test_O4_parse_day_ranges_accepts_japanese_separators_and_midnight_end():
    assert parse_day_ranges("9:00〜12:00、13:05~24:00") == [
        ["09:00", "12:00"], ["13:05", "24:00"]]


def test_O4_blank_day_is_a_day_off():
    assert parse_day_ranges("  ") == []
    assert format_day_ranges([]) == ""


@pytest.mark.parametrize("text, message", [
    ("9-12", "の形式で入力してください"),
    ("09:03-12:00", "5分単位"),
    ("12:00-09:00", "開始時刻は終了時刻より前"),
    ("10:00-10:00", "開始時刻は終了時刻より前"),
    ("09:00-12:00, 11:00-13:00", "重なっています"),
    ("24:00-24:00", "時刻が正しくありません"),
    ("09:75-10:00", "時刻が正しくありません"),
])
def test_O4_parse_day_ranges_rejects_bad_input_with_a_clear_message(request_ctx, text, message):
    with pytest.raises(WorkingHoursError) as error:
        parse_day_ranges(text)
    assert message in str(error.value.args[0])


def test_O4_format_round_trips():
    ranges = [["09:00", "12:00"], ["13:00", "18:00"]]
    assert parse_day_ranges(format_day_ranges(ranges)) == ranges


def test_O4_timezones_are_validated_with_zoneinfo():
    assert svc.is_valid_timezone("Asia/Tokyo")
    assert svc.is_valid_timezone("America/New_York")
    assert not svc.is_valid_timezone("Mars/Olympus")
    assert not svc.is_valid_timezone("")


def test_O2_email_taken_is_case_insensitive_and_per_organization(app):
    org, other = make_org(), make_org()
    member = make_member(org, email="Taro@Example.com")
    assert svc.email_taken(org.id, " taro@example.COM ")
    assert not svc.email_taken(org.id, "taro@example.com", exclude_id=member.id)
    assert not svc.email_taken(other.id, "taro@example.com")


def test_O4_create_member_stores_every_weekday(app):
    org = make_org()
    member = svc.create_member(org.id, {
        "name": " 山田 太郎 ", "email": "taro@example.com", "timezone": "Asia/Tokyo",
        "working_hours": {"mon": [["09:00", "18:00"]]},
    })
    db.session.commit()
    stored = db.session.get(Member, member.id)
    assert stored.name == "山田 太郎"
    assert stored.working_hours["mon"] == [["09:00", "18:00"]]
    assert stored.working_hours["sun"] == []
    assert set(stored.working_hours) == set(svc.WEEKDAYS)


def test_O3_remove_member_takes_them_off_team_pages_and_renumbers(app):
    org = make_org()
    a, b, c = make_member(org), make_member(org), make_member(org)
    page = make_page(org, [a, b, c])
    admin = make_admin(org, member_id=b.id)
    db.session.commit()
    svc.remove_member(b)
    db.session.commit()
    assert db.session.get(Member, b.id) is None
    assert page.members == [a, c]
    assert [pm.position for pm in page.page_members] == [0, 1]
    assert admin.member_id is None


def test_O5_remove_member_with_bookings_is_refused(app):
    org = make_org()
    a, b = make_member(org), make_member(org)
    page = make_page(org, [a, b])
    make_booking(page, [b])
    db.session.commit()
    with pytest.raises(svc.MemberInUse):
        svc.remove_member(b)


def test_O3_remove_sole_member_of_a_page_is_refused(app):
    org = make_org()
    a = make_member(org)
    make_page(org, [a], kind="personal")
    db.session.commit()
    with pytest.raises(svc.MemberInUse):
        svc.remove_member(a)
    assert db.session.get(Member, a.id) is not None
