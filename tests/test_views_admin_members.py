"""社員 screens: list, add, edit, remove (O2, O4)."""

from sqlalchemy import select

from tests.factories import make_booking, make_member, make_org, make_page
from webapp.extensions import db
from webapp.models import Member

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def member_data(**overrides):
    data = {"name": "山田 太郎", "email": "taro@example.com", "timezone": "Asia/Tokyo",
            "mon": "09:00-12:00, 13:00-18:00", "tue": "10:00-17:00"}
    data.update({day: data.get(day, "") for day in DAYS})
    data.update(overrides)
    return data


def members_of(org):
    return db.session.scalars(select(Member).where(Member.organization_id == org.id)).all()


def test_O4_add_member_with_working_hours(admin_client, org):
    response = admin_client.post_form("/admin/members/new", member_data())
    assert response.status_code == 302
    [member] = members_of(org)
    assert member.working_hours["mon"] == [["09:00", "12:00"], ["13:00", "18:00"]]
    assert member.working_hours["sat"] == []
    html = admin_client.get("/admin/members").get_data(as_text=True)
    assert "山田 太郎" in html and "09:00-12:00, 13:00-18:00" in html


def test_O4_new_member_form_starts_with_weekday_hours_and_org_zone(admin_client):
    html = admin_client.get("/admin/members/new").get_data(as_text=True)
    assert 'value="09:00-18:00"' in html
    assert '<option selected value="Asia/Tokyo">' in html


def test_O4_bad_working_hours_show_a_message_and_store_nothing(admin_client, org):
    response = admin_client.post_form("/admin/members/new",
                                      member_data(wed="09:00-12:00, 11:00-13:00"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "時間帯が重なっています。" in html
    assert members_of(org) == []


def test_O2_duplicate_email_is_refused_case_insensitively(admin_client, org):
    make_member(org, email="Taro@Example.com")
    db.session.commit()
    response = admin_client.post_form("/admin/members/new",
                                      member_data(email="taro@EXAMPLE.com"))
    assert "このメールアドレスの社員は既に登録されています。" in response.get_data(as_text=True)
    assert len(members_of(org)) == 1


def test_O2_same_email_in_another_organization_is_fine(admin_client, org):
    make_member(make_org(), email="taro@example.com")
    db.session.commit()
    assert admin_client.post_form("/admin/members/new", member_data()).status_code == 302


def test_O4_edit_member(admin_client, org):
    member = make_member(org, email="a@example.com")
    db.session.commit()
    url = f"/admin/members/{member.id}/edit"
    assert 'value="09:00-18:00"' in admin_client.get(url).get_data(as_text=True)
    response = admin_client.post_form(url, member_data(email="a@example.com",
                                                       timezone="Europe/Paris", mon=""))
    assert response.status_code == 302
    db.session.expire_all()
    assert member.timezone == "Europe/Paris" and member.working_hours["mon"] == []


def test_remove_member_confirms_then_removes_from_pages(admin_client, org):
    a, b = make_member(org, name="残る人"), make_member(org, name="辞める人")
    page = make_page(org, [a, b], title="営業チーム")
    db.session.commit()
    url = f"/admin/members/{b.id}/remove"
    html = admin_client.get(url).get_data(as_text=True)
    assert "営業チーム" in html and "次の予約ページのメンバーからも外れます。" in html
    assert db.session.get(Member, b.id) is not None  # GET changes nothing
    assert admin_client.post_form(url, {}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Member, b.id) is None
    assert page.members == [a]


def test_O5_remove_member_with_bookings_is_refused_with_a_message(admin_client, org):
    a = make_member(org)
    make_booking(make_page(org, [a]), [a])
    db.session.commit()
    url = f"/admin/members/{a.id}/remove"
    assert "件の予約に参加しているため削除できません" in admin_client.get(url).get_data(
        as_text=True)
    response = admin_client.post_form(url, {}, follow_redirects=True)
    assert "予約の履歴があるため削除できません" in response.get_data(as_text=True)
    assert db.session.get(Member, a.id) is not None
