"""O2 and CSRF on every admin route, discovered from the URL map so later routes are covered too.

Each admin rule that takes ids is called with another organization's ids (all of them, and one
at a time next to the admin's own ids) and must answer 404 on GET and on POST with a valid CSRF
token. Every admin POST route must refuse a request without a token.
"""

import pytest

from tests.factories import make_booking, make_member, make_org, make_page, make_sync
from webapp.extensions import db
from webapp.models import (
    BookingPage,
    CalendarConnection,
    FormField,
    Member,
    MessageKind,
    MessageStatus,
    PageMember,
)
from webapp.services.notifications.plan import record_booking_change

# URL argument name -> key in the objects dict built by world(); add a line for a new id name.
ID_ARGS = {
    "page_id": "page",
    "member_id": "member",
    "field_id": "field",
    "booking_id": "booking",
    "sync_id": "sync",
    "record_id": "sync",
    "connection_id": "calendar_connection",
    "message_id": "message",
}


def world(org):
    """A consistent set of one organization's objects: page with member, field, booking, sync."""
    member = make_member(org)
    page = make_page(org, [member], fields=[{"field_type": "text", "label": "部署"}])
    booking = make_booking(page, [member])
    sync = make_sync(booking)
    calendar_connection = CalendarConnection(organization_id=org.id, member_id=member.id,
                                             provider="caldav", server_url="https://dav.invalid/")
    db.session.add(calendar_connection)
    db.session.flush()
    message = record_booking_change(booking, MessageKind.CONFIRMATION)[0]
    message.status = MessageStatus.FAILED.value  # resendable: only the scoping can refuse it
    return {"page": page, "member": member, "field": page.fields[0], "booking": booking,
            "sync": sync, "calendar_connection": calendar_connection, "message": message}


def admin_rules(app):
    return [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("admin.")]


def id_args(rule):
    unknown = [arg for arg in rule.arguments if arg not in ID_ARGS]
    assert not unknown, (
        f"route {rule.rule} ({rule.endpoint}) takes {unknown}: teach ID_ARGS in "
        f"{__file__} how to build another organization's object for it"
    )
    return sorted(rule.arguments)


def build_url(app, rule, values):
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


def foreign_combinations(rule, mine, theirs):
    """All ids foreign, then each id foreign on its own beside the admin's own ids."""
    names = id_args(rule)
    yield {name: theirs[ID_ARGS[name]].id for name in names}
    if len(names) > 1:
        for foreign in names:
            yield {name: (theirs if name == foreign else mine)[ID_ARGS[name]].id
                   for name in names}


@pytest.fixture
def two_worlds(admin, admin_client):
    mine = world(admin.organization)
    theirs = world(make_org())
    db.session.commit()
    return mine, theirs


def test_O2_every_admin_route_answers_404_for_another_organizations_ids(app, admin_client,
                                                                          two_worlds):
    mine, theirs = two_worlds
    token = admin_client.csrf_token("/admin/")
    checked = []
    for rule in admin_rules(app):
        if not rule.arguments:
            continue
        for values in foreign_combinations(rule, mine, theirs):
            url = build_url(app, rule, values)
            if "GET" in rule.methods:
                assert admin_client.get(url).status_code == 404, f"GET {url} ({rule.endpoint})"
            if "POST" in rule.methods:
                response = admin_client.post(url, data={"csrf_token": token, "direction": "up",
                                                        "member_id": mine["member"].id})
                assert response.status_code == 404, f"POST {url} ({rule.endpoint})"
            checked.append(rule.endpoint)
    # The screens of this issue are among the routes walked.
    assert {"admin.edit_page", "admin.edit_member", "admin.edit_field",
            "admin.move_page_member", "admin.delete_field"} <= set(checked)
    # Nothing of the other organization was changed or deleted.
    db.session.expire_all()
    assert db.session.get(BookingPage, theirs["page"].id).title == theirs["page"].title
    assert db.session.get(Member, theirs["member"].id) is not None
    assert db.session.get(FormField, theirs["field"].id) is not None
    assert db.session.query(PageMember).filter_by(page_id=theirs["page"].id).count() == 1
    assert theirs["message"].status == MessageStatus.FAILED.value


def test_O2_id_args_fails_loudly_for_an_unknown_id_name(app):
    class FakeRule:
        rule, endpoint, arguments = "/admin/things/<int:thing_id>", "admin.thing", {"thing_id"}

    with pytest.raises(AssertionError, match="thing_id"):
        id_args(FakeRule)


def test_every_admin_post_route_rejects_a_missing_csrf_token(app, admin_client, two_worlds):
    mine, _ = two_worlds
    posted = []
    for rule in admin_rules(app):
        if "POST" not in rule.methods:
            continue
        url = build_url(app, rule, {name: mine[ID_ARGS[name]].id for name in id_args(rule)})
        assert admin_client.post(url, data={}).status_code == 400, f"POST {url}"
        htmx = admin_client.post(url, data={}, headers={"HX-Request": "true"})
        assert htmx.headers.get("HX-Refresh") == "true", f"htmx POST {url}"
        posted.append(rule.endpoint)
    assert {"admin.edit_organization", "admin.new_member", "admin.remove_member",
            "admin.new_page", "admin.delete_page", "admin.add_page_member",
            "admin.new_field", "admin.move_field"} <= set(posted)
    # Nothing happened: the page still has its member and field, the member still exists.
    db.session.expire_all()
    page = db.session.get(BookingPage, mine["page"].id)
    assert page.members == [mine["member"]] and len(page.fields) == 1
