"""X4: no input makes a server error; X6: emails Salesforce would refuse are refused at the form.

The generated-input test walks every route of the app (public and admin) and sends generated
values for every query and form parameter the route reads, with a valid CSRF token so the
values reach the view code, and asserts that nothing answers 5xx (TESTING propagates
exceptions, so an unhandled one fails the test with its traceback).
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.factories import (
    ALWAYS_WORKING,
    ONE_OF_EACH_FIELD,
    bookable_slots,
    login,
    make_booking,
    make_member,
    make_page,
    make_public_page,
    make_sync,
)
from webapp import create_app
from webapp.extensions import db
from webapp.forms.public import largest_booking_body
from webapp.models import Booking, BookingPage, FieldType, SyncRecord
from webapp.services.slots import format_start

EDGE_STARTS = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00",
               "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z"]


@pytest.fixture
def world(app, admin):
    return _make_world(admin)


@pytest.mark.parametrize("start", EDGE_STARTS)
def test_X4_out_of_range_starts_on_book_and_reschedule_answer_409(client, world, start):
    slug, token = world["slug"], world["token"]
    assert client.get(f"/p/{slug}/book", query_string={"start": start}).status_code == 409
    assert client.get(f"/b/{token}/reschedule", query_string={"start": start}).status_code == 409
    posted = client.post_form(f"/p/{slug}/book", {"start": start, "name": "a",
                                                  "email": "a@example.com"},
                              token_from=f"/p/{slug}")
    assert posted.status_code == 409
    moved = client.post_form(f"/b/{token}/reschedule", {"start": start},
                             token_from=f"/b/{token}")
    assert moved.status_code == 409


@pytest.mark.parametrize("query", [{"to": "9999-12-31"}, {"from": "0001-01-01"},
                                   {"page": "9" * 40}, {"page": "2147483648"},
                                   {"page": "\u0663"}])
def test_X4_sync_log_filters_out_of_range_answer_200(admin_client, world, query):
    assert admin_client.get("/admin/syncs", query_string=query).status_code == 200


def test_X4_huge_ids_in_paths_are_404(admin_client, world):
    assert admin_client.get("/admin/pages/99999999999999999999999").status_code == 404
    assert admin_client.get("/admin/syncs/2147483648/row").status_code == 404


@pytest.mark.parametrize("target", ["/\r\nSet-Cookie: x=1", "/a\rb", "/\\evil.example",
                                    "/admin/\x00", "/\tadmin"])
def test_X4_next_with_control_characters_redirects_home(client, admin, target):
    token = client.csrf_token()
    response = client.post("/login", query_string={"next": target}, data={
        "csrf_token": token, "email": admin.email, "password": "secret-pass"})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"


def test_X4_largest_booking_form_fits_the_body_limit(app, client):
    assert largest_booking_body() < app.config["MAX_CONTENT_LENGTH"]
    fields = [dict(field_type="textarea", label=f"質問{i}") for i in range(5)]
    page = make_public_page(fields=fields)
    db.session.commit()
    start = format_start(bookable_slots(page)[0].start)
    data = {"start": start, "tz": "Asia/Tokyo", "name": "山田", "email": "taro@example.com"}
    for field in page.fields:
        data[f"field_{field.id}"] = "あ" * 32000  # 288 KB percent-encoded, each
    response = client.post_form(f"/p/{page.slug}/book", data, token_from=f"/p/{page.slug}")
    assert response.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 1


@pytest.mark.parametrize(("lang", "text"), [("ja", "送信内容が大きすぎる"),
                                            ("en", "too large to accept")])
def test_X4_oversize_body_gets_a_413_page_in_the_ui_language(app, client, lang, text):
    page = make_public_page(fields=[])
    db.session.commit()
    client.get(f"/p/{page.slug}?lang={lang}")
    token = client.csrf_token(f"/p/{page.slug}")
    response = client.post(f"/p/{page.slug}/book", data={
        "csrf_token": token, "email": "a@example.com",
        "x": "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)})
    assert response.status_code == 413
    assert text in response.get_data(as_text=True)


def test_X4_a_page_holds_no_more_text_areas_than_the_body_limit_fits(admin_client, world):
    path = f"/admin/pages/{world['page_id']}/fields/new"
    answers = [admin_client.post_form(path, {"field_type": "textarea", "label": f"t{i}"})
               for i in range(5)]
    assert [a.status_code for a in answers] == [302] * 4 + [200]
    assert "複数行テキストは5個まで" in answers[-1].get_data(as_text=True)
    db.session.expire_all()
    page = db.session.get(BookingPage, world["page_id"])
    assert sum(f.field_type == FieldType.TEXTAREA.value for f in page.fields) == 5


@pytest.mark.parametrize("email", ["テスト@example.net", "tést@example.net",
                                   "taro\uff20example.net"])
def test_X6_emails_salesforce_refuses_are_refused_at_the_form(client, email):
    page = make_public_page(fields=[])
    db.session.commit()
    start = format_start(bookable_slots(page)[0].start)
    response = client.post_form(f"/p/{page.slug}/book", {
        "start": start, "tz": "Asia/Tokyo", "name": "山田", "email": email},
        token_from=f"/p/{page.slug}")
    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 0
    if not email.split("@")[0].isascii() and "@" in email:
        assert "半角の英数字と記号" in response.get_data(as_text=True)


def test_X6_internationalized_domains_are_stored_as_punycode(client):
    page = make_public_page(fields=[])
    db.session.commit()
    start = format_start(bookable_slots(page)[0].start)
    response = client.post_form(f"/p/{page.slug}/book", {
        "start": start, "tz": "Asia/Tokyo", "name": "山田", "email": "taro@例え.jp",
        "attendees-0-name": "次郎", "attendees-0-email": "jiro@bücher.example"},
        token_from=f"/p/{page.slug}")
    assert response.status_code == 302
    booking = db.session.scalar(select(Booking))
    assert booking.email == "taro@xn--r8jz45g.jp"
    assert [a["email"] for a in booking.attendees] == ["jiro@xn--bcher-kva.example"]


# ----- generated input over every route -------------------------------------------------------

QUERY_NAMES = ["start", "tz", "week", "lang", "next", "status", "page", "from", "to", "state",
               "code", "error", "error_description", "done", "field_type", "salesforce_field"]
NASTY = st.one_of(
    st.sampled_from([
        "", "0", "-1", "9" * 40, "2147483648", "1e309", "NaN", "\u0663", "0001-01-01",
        "9999-12-31", *EDGE_STARTS, "2030-02-30T00:00:00Z", "\r\nSet-Cookie: x=1", "%0d%0a",
        "\x00", "/\\evil.example", "//evil.example", "javascript:alert(1)", "<script>x</script>",
        "'\"\\", "up", "down", "Asia/Tokyo", "Mars/Olympus", "ja", "en", "textarea", "checkbox",
        "テスト@example.net", "a@例え.jp", "x" * 5000, "あ" * 2000]),
    st.text(max_size=40),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)


def _routes(app) -> list[tuple[str, str]]:
    return sorted((method, rule.rule) for rule in app.url_map.iter_rules()
                  for method in ("GET", "POST") if method in rule.methods
                  if rule.endpoint not in ("static", "auth.logout"))


def _url(rule: str, world: dict, ids: dict) -> str:
    def value(match):
        name = match.group(2)
        return str(ids[name] if name in ids else world.get(name, "x"))
    return re.sub(r"<(?:(\w+):)?(\w+)>", value, rule)


def _make_world(admin) -> dict:
    member = make_member(admin.organization, working_hours=ALWAYS_WORKING)
    page = make_page(admin.organization, [member], fields=ONE_OF_EACH_FIELD)
    booking = make_booking(page)
    sync = make_sync(booking)
    db.session.commit()
    return {"page_id": page.id, "member_id": member.id, "field_id": page.fields[0].id,
            "sync_id": sync.id, "slug": page.slug, "token": booking.token}


def _world_intact(world: dict) -> bool:
    db.session.expire_all()
    page = db.session.get(BookingPage, world["page_id"])
    return page is not None and bool(page.members) and any(
        f.id == world["field_id"] for f in page.fields) and db.session.get(
        SyncRecord, world["sync_id"]) is not None


# Every route of the app (public and admin); names a route reads come from its rendered page
# plus the query names the views read.
ROUTES = _routes(create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"}))
_FORM_NAMES = re.compile(r'\bname="([^"]+)"')


def _harvest_names(client, world: dict) -> list[str]:
    """The parameter names the routes read: every form input they render, and QUERY_NAMES."""
    names = set(QUERY_NAMES)
    for method, rule in ROUTES:
        if method == "GET":
            names |= set(_FORM_NAMES.findall(client.get(_url(rule, world, {})).get_data(
                as_text=True)))
    return sorted(names - {"csrf_token"})


def test_X4_route_list_covers_public_and_admin_routes():
    rules = {rule for _method, rule in ROUTES}
    assert {"/p/<slug>/book", "/b/<token>/reschedule", "/admin/syncs", "/login",
            "/admin/pages/<int:page_id>/fields/<int:field_id>/edit"} <= rules
    assert len(ROUTES) >= 40


@settings(max_examples=400, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(route=st.sampled_from(ROUTES),
       params=st.dictionaries(st.integers(min_value=0, max_value=10**6), NASTY, max_size=6),
       ids=st.dictionaries(st.sampled_from(["page_id", "member_id", "field_id", "sync_id"]),
                           st.integers(min_value=0, max_value=2**70), max_size=1),
       with_token=st.booleans())
# The inputs that broke before, always tried (parameter names given by value, see _names).
@example(route=("GET", "/p/<slug>/book"), params={"start": EDGE_STARTS[0]}, ids={},
         with_token=True)
@example(route=("POST", "/b/<token>/reschedule"), params={"start": EDGE_STARTS[1]}, ids={},
         with_token=True)
@example(route=("GET", "/admin/syncs"), params={"to": "9999-12-31"}, ids={}, with_token=True)
@example(route=("GET", "/admin/syncs"), params={"page": "9" * 30}, ids={}, with_token=True)
@example(route=("GET", "/p/<slug>"), params={"slug": "x", "_external": "1"}, ids={},
         with_token=True)
@example(route=("GET", "/admin/pages/<int:page_id>"), params={}, ids={"page_id": 2**70},
         with_token=True)
def test_X4_generated_input_on_every_route_never_answers_5xx(app, admin, route, params, ids,
                                                             with_token):
    method, rule = route
    state = app.extensions.setdefault("x4_generated", {})  # one app per test, many examples
    if "client" not in state:
        state["client"] = app.test_client()
        login(state["client"], admin)
        state["token"] = state["client"].csrf_token("/admin/")
    if "world" not in state or not _world_intact(state["world"]):
        state["world"] = _make_world(admin)  # a generated delete removed part of it
    client, world = state["client"], state["world"]
    if "names" not in state:
        state["names"] = _harvest_names(client, world)
    names = state["names"]
    params = {key if isinstance(key, str) else names[key % len(names)]: value
              for key, value in params.items()}
    url = _url(rule, world, ids)
    if method == "GET":
        response = client.get(url, query_string=params)
    else:
        data = {**params, "csrf_token": state["token"]} if with_token else params
        response = client.post(url, data=data)
    assert response.status_code < 500, (method, url, params)

