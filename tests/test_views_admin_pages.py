"""予約ページ screens: list, create, edit, delete and the member order (O3, O5)."""

from sqlalchemy import select

from tests.factories import make_booking, make_member, make_org, make_page
from webapp.extensions import db
from webapp.models import BookingPage


def page_data(**overrides):
    data = {"title": "導入相談", "description": "30分のオンライン相談です。", "slug": "intro-call",
            "duration_minutes": "30", "window_days": "14", "buffer_minutes": "10",
            "attend_mode": "all", "is_published": "y"}
    data.update(overrides)
    return data


def pages_of(org):
    query = select(BookingPage).where(BookingPage.organization_id == org.id)
    return db.session.scalars(query).all()


def test_O3_O5_create_team_page_with_members_and_attend_mode(admin_client, org):
    a, b = make_member(org), make_member(org)
    db.session.commit()
    response = admin_client.post_form("/admin/pages/new", page_data(
        kind="team", members=[str(b.id), str(a.id)], attend_mode="round_robin"))
    assert response.status_code == 302
    [page] = pages_of(org)
    assert page.is_team and page.attend_mode == "round_robin" and page.buffer_minutes == 10
    assert set(page.members) == {a, b}
    html = admin_client.get("/admin/pages").get_data(as_text=True)
    assert "導入相談" in html and "/p/intro-call" in html and "チーム用" in html


def test_O3_personal_page_needs_exactly_one_member(admin_client, org):
    a, b = make_member(org), make_member(org)
    db.session.commit()
    response = admin_client.post_form("/admin/pages/new", page_data(
        kind="personal", members=[str(a.id), str(b.id)]))
    assert "個人用の予約ページには社員を1人だけ選んでください。" in response.get_data(as_text=True)
    assert pages_of(org) == []
    response = admin_client.post_form("/admin/pages/new", page_data(
        kind="personal", members=[str(a.id)], attend_mode="round_robin"))
    [page] = pages_of(org)
    assert page.members == [a] and page.attend_mode == "all"


def test_slug_must_be_unique_across_organizations(admin_client, org):
    member = make_member(org)
    make_page(make_org(), slug="intro-call")
    db.session.commit()
    response = admin_client.post_form("/admin/pages/new", page_data(
        kind="team", members=[str(member.id)]))
    assert "この公開URLは既に使われています。" in response.get_data(as_text=True)
    assert pages_of(org) == []


def test_O4_bad_settings_show_messages_and_store_nothing(admin_client, org):
    member = make_member(org)
    db.session.commit()
    response = admin_client.post_form("/admin/pages/new", page_data(
        kind="team", members=[str(member.id)], slug="Bad Slug!", duration_minutes="7",
        window_days="400", buffer_minutes="-5"))
    html = response.get_data(as_text=True)
    assert "半角英小文字・数字・ハイフンだけを使ってください。" in html
    assert "5分単位で入力してください。" in html
    assert html.count("has-error") >= 4
    assert pages_of(org) == []


def test_edit_page_settings_and_unpublish(admin_client, org):
    page = make_page(org, [make_member(org)], slug="old-slug")
    db.session.commit()
    url = f"/admin/pages/{page.id}"
    for tab in ("基本設定", "予約フォーム設定", "詳細設定"):
        assert tab in admin_client.get(url).get_data(as_text=True)
    response = admin_client.post_form(url, page_data(slug="new-slug", duration_minutes="60"))
    assert response.status_code == 302
    db.session.expire_all()
    assert (page.slug, page.duration_minutes, page.is_published) == ("new-slug", 60, True)
    admin_client.post_form(url, {k: v for k, v in page_data().items() if k != "is_published"})
    db.session.expire_all()
    assert page.is_published is False


def test_O3_personal_page_edit_changes_its_member(admin_client, org):
    a, b = make_member(org), make_member(org)
    page = make_page(org, [a], kind="personal")
    db.session.commit()
    admin_client.post_form(f"/admin/pages/{page.id}", page_data(member_id=str(b.id)))
    db.session.expire_all()
    assert page.members == [b]


def test_O3_reorder_members_without_js(admin_client, org):
    a, b, c = make_member(org), make_member(org), make_member(org)
    page = make_page(org, [a, b, c])
    db.session.commit()
    url = f"/admin/pages/{page.id}/members/{c.id}/move"
    response = admin_client.post_form(url, {"direction": "up"},
                                      token_from=f"/admin/pages/{page.id}")
    assert response.status_code == 302
    db.session.expire_all()
    assert page.members == [a, c, b]


def test_O3_reorder_members_with_htmx_returns_the_partial(admin_client, org):
    a, b = make_member(org, name="一番目"), make_member(org, name="二番目")
    page = make_page(org, [a, b])
    db.session.commit()
    response = admin_client.post_form(
        f"/admin/pages/{page.id}/members/{a.id}/move", {"direction": "down"},
        token_from=f"/admin/pages/{page.id}", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<div id="page-members-{page.id}"')
    assert html.index("二番目") < html.index("一番目")
    assert "saved" in response.headers["HX-Trigger"]


def test_O3_add_and_remove_members(admin_client, org):
    a, b = make_member(org), make_member(org)
    page = make_page(org, [a])
    db.session.commit()
    edit = f"/admin/pages/{page.id}"
    admin_client.post_form(f"{edit}/members", {"member_id": str(b.id)}, token_from=edit)
    db.session.expire_all()
    assert page.members == [a, b]
    admin_client.post_form(f"{edit}/members/{a.id}/remove", {}, token_from=edit)
    db.session.expire_all()
    assert page.members == [b]


def test_O3_last_member_cannot_be_removed(admin_client, org):
    a = make_member(org)
    page = make_page(org, [a])
    db.session.commit()
    edit = f"/admin/pages/{page.id}"
    response = admin_client.post_form(f"{edit}/members/{a.id}/remove", {}, token_from=edit,
                                      headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert "予約ページにはメンバーが1人以上必要です。" in response.get_data(as_text=True)
    db.session.expire_all()
    assert page.members == [a]


def test_delete_page_confirms_and_refuses_pages_with_bookings(admin_client, org):
    member = make_member(org)
    used, unused = make_page(org, [member]), make_page(org, [member])
    make_booking(used)
    db.session.commit()
    response = admin_client.post_form(f"/admin/pages/{used.id}/delete", {}, follow_redirects=True)
    assert "予約があるため削除できません" in response.get_data(as_text=True)
    assert admin_client.post_form(f"/admin/pages/{unused.id}/delete", {}).status_code == 302
    db.session.expire_all()
    assert [p.id for p in pages_of(org)] == [used.id]


def test_advanced_tab_explains_salesforce_needs_a_connection(admin_client, org):
    page = make_page(org, [make_member(org)])
    db.session.commit()
    html = admin_client.get(f"/admin/pages/{page.id}/advanced").get_data(as_text=True)
    assert "Salesforceと連携すると" in html
