"""Booking-pages service: pages, member order and custom fields (O3, O5, F1, F2)."""

import pytest

from tests.factories import make_booking, make_member, make_org, make_page
from webapp.extensions import db
from webapp.models import BookingPage, FormField
from webapp.services import booking_pages as svc
from webapp.services.booking_pages import BookingPageError

SETTINGS = {"title": "打ち合わせ", "description": "", "slug": "meet-us", "duration_minutes": 30,
            "window_days": 14, "buffer_minutes": 0, "attend_mode": "round_robin",
            "is_published": True}


@pytest.fixture
def request_ctx(app):
    """A request context, so lazy (translated) messages can be read."""
    with app.test_request_context("/"):
        yield


def test_O3_create_team_page_keeps_member_order(app):
    org = make_org()
    a, b, c = make_member(org), make_member(org), make_member(org)
    page = svc.create_page(org.id, "team", SETTINGS, [c, a, b])
    db.session.commit()
    assert db.session.get(BookingPage, page.id).members == [c, a, b]
    assert page.attend_mode == "round_robin"


def test_O3_personal_page_needs_exactly_one_member_and_attends_all(app):
    org = make_org()
    a, b = make_member(org), make_member(org)
    with pytest.raises(BookingPageError):
        svc.create_page(org.id, "personal", SETTINGS, [a, b])
    page = svc.create_page(org.id, "personal", SETTINGS, [a])
    assert page.members == [a]
    # O5: round-robin only means something on team pages.
    assert page.attend_mode == "all"


def test_O3_team_page_needs_a_member(app):
    with pytest.raises(BookingPageError):
        svc.create_page(make_org().id, "team", SETTINGS, [])


def test_slug_taken_spans_organizations(app):
    make_page(make_org(), slug="taken-slug")
    page = make_page(make_org(), slug="mine")
    assert svc.slug_taken("taken-slug")
    assert not svc.slug_taken("mine", exclude_id=page.id)
    assert not svc.slug_taken("free-slug")


def test_O3_move_member_up_and_down(app):
    org = make_org()
    a, b, c = make_member(org), make_member(org), make_member(org)
    page = make_page(org, [a, b, c])
    svc.move_page_member(page, c, "up")
    assert page.members == [a, c, b]
    svc.move_page_member(page, a, "up")  # already first: no change
    svc.move_page_member(page, a, "down")
    db.session.commit()
    db.session.expire_all()
    assert page.members == [c, a, b]
    assert [pm.position for pm in page.page_members] == [0, 1, 2]


def test_O3_add_and_remove_members(app):
    org = make_org()
    a, b = make_member(org), make_member(org)
    page = make_page(org, [a])
    svc.add_page_member(page, b)
    assert page.members == [a, b]
    with pytest.raises(BookingPageError):
        svc.add_page_member(page, b)
    svc.remove_page_member(page, a)
    assert page.members == [b]
    with pytest.raises(BookingPageError):
        svc.remove_page_member(page, b)  # the last member stays


def test_O3_personal_pages_take_no_extra_members(app):
    org = make_org()
    a, b = make_member(org), make_member(org)
    page = make_page(org, [a], kind="personal")
    with pytest.raises(BookingPageError):
        svc.add_page_member(page, b)
    svc.set_personal_member(page, b)
    assert page.members == [b]


def test_delete_page_with_bookings_is_refused(app):
    org = make_org()
    page = make_page(org, [make_member(org)])
    make_booking(page)
    with pytest.raises(BookingPageError):
        svc.delete_page(page)
    empty = make_page(org, [make_member(org)], fields=[{"field_type": "text", "label": "x"}])
    svc.delete_page(empty)
    db.session.commit()
    assert db.session.get(BookingPage, empty.id) is None
    assert db.session.query(FormField).count() == 0


def test_F1_default_fields_follow_split_name(request_ctx):
    page = make_page(make_org())
    labels = [str(label) for label, _ in svc.default_fields(page)]
    assert labels == ["氏名", "会社名", "メールアドレス"]
    page.sf_split_name = True
    labels = [(str(label), req) for label, req in svc.default_fields(page)]
    assert labels == [("氏名(姓)", False), ("氏名(名)", False), ("会社名", False),
                      ("メールアドレス", True)]


def test_F2_changing_type_discards_what_no_longer_applies(app):
    page = make_page(make_org())
    field = svc.add_field(page, {"field_type": "radio", "label": "連絡手段", "required": True,
                                 "choices": ["メール", "電話"], "hidden_value": "x"})
    assert field.choices == ["メール", "電話"] and field.hidden_value == ""
    svc.update_field(field, {"field_type": "hidden", "label": "流入元", "required": True,
                             "choices": ["メール"], "hidden_value": "web"})
    assert field.choices == [] and field.hidden_value == "web"
    assert field.required is False  # hidden fields are never required
    svc.update_field(field, {"field_type": "text", "label": "部署", "hidden_value": "web"})
    assert field.hidden_value == "" and field.field_type == "text"


def test_F2_fields_keep_their_order_through_moves_and_deletes(app):
    page = make_page(make_org())
    a, b, c = (svc.add_field(page, {"field_type": "text", "label": n}) for n in "abc")
    svc.move_field(c, "up")
    assert [f.label for f in page.fields] == ["a", "c", "b"]
    svc.delete_field(a)
    db.session.commit()
    db.session.expire_all()
    assert [(f.label, f.position) for f in page.fields] == [("c", 0), ("b", 1)]
