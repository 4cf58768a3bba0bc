"""K8 at the emulator: Graph subscriptions and change notifications, over plain HTTP.

Sources: learn.microsoft.com/graph/api/subscription-post-subscriptions, /subscription-update,
/subscription-delete, learn.microsoft.com/graph/change-notifications-delivery-webhooks,
/change-notifications-lifecycle-events, /outlook-change-notifications-overview (README).
"""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest

from tests.fixtures_graph import SATO, SUZUKI

BODY = {"subject": "busy", "start": {"dateTime": "2026-12-01T10:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-01T11:00:00", "timeZone": "UTC"}}


def _expires(graph, minutes: float) -> str:
    now = dt.datetime.fromisoformat(graph.control("GET", "clock")["now"])
    return (now + dt.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _deliveries(graph, count: int) -> list[dict]:
    """The emulator's delivery log once it holds ``count`` attempts (it records an attempt
    after the receiver answered, so a receiver-side wait alone is not enough)."""
    deadline = time.monotonic() + 5
    while True:
        found = graph.control("GET", "notifications")["deliveries"]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def _subscribe(graph, api, webhook, minutes=60, lifecycle=True, **extra):
    body = {"changeType": "created,updated,deleted", "resource": "me/events",
            "notificationUrl": webhook.url + "/notify", "clientState": "secret-42",
            "expirationDateTime": _expires(graph, minutes), **extra}
    if lifecycle:
        body["lifecycleNotificationUrl"] = webhook.url + "/lifecycle"
    return api.post(graph.url("subscriptions"), json=body, timeout=15)


def test_K8_subscription_is_created_after_the_validation_handshake(graph, webhook):
    api = graph.api()
    response = _subscribe(graph, api, webhook)
    assert response.status_code == 201, response.text
    sub = response.json()
    assert sub["resource"] == "me/events" and sub["clientState"] == "secret-42"
    assert sub["changeType"] == "created,updated,deleted"
    assert sub["lifecycleNotificationUrl"] == webhook.url + "/lifecycle"
    # Both URLs were validated with a decoded token carrying spaces and a colon.
    assert len(webhook.validations) == 2
    assert all(t.startswith("Validation: ") and " " in t for t in webhook.validations)
    listed = api.get(graph.url("subscriptions"), timeout=10).json()["value"]
    assert [s["id"] for s in listed] == [sub["id"]]


@pytest.mark.parametrize("mode,message", [
    ("wrong", "Response must exactly match validationToken query parameter."),
    ("error", "Notification endpoint must respond with 200 OK to validation request."),
])
def test_K8_failed_validation_is_400_and_creates_nothing(graph, webhook, mode, message):
    webhook.mode = mode
    api = graph.api()
    response = _subscribe(graph, api, webhook)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "InvalidRequest"
    assert message in response.json()["error"]["message"]
    assert api.get(graph.url("subscriptions"), timeout=10).json()["value"] == []


def test_K8_expiry_beyond_the_outlook_maximum_is_refused(graph, webhook):
    api = graph.api()
    too_long = _subscribe(graph, api, webhook, minutes=4231)
    assert too_long.status_code == 400
    assert too_long.json()["error"] == {**too_long.json()["error"], "code": "ExtensionError",
                                        "message": "Subscription expiration can only be 4230 "
                                                   "minutes in the future."}
    assert _subscribe(graph, api, webhook, minutes=4229).status_code == 201
    missing = api.post(graph.url("subscriptions"), json={
        "changeType": "created", "resource": "me/events",
        "notificationUrl": webhook.url + "/notify"}, timeout=10)
    assert missing.status_code == 400


def test_K8_another_users_events_cannot_be_subscribed_with_delegated_access(graph, webhook):
    api = graph.api(SATO)
    suzuki_id = graph.api(SUZUKI).get(graph.url("me"), timeout=10).json()["id"]
    me_id = api.get(graph.url("me"), timeout=10).json()["id"]
    assert _subscribe(graph, api, webhook, resource=f"/users/{me_id}/events").status_code == 201
    refused = _subscribe(graph, api, webhook, resource=f"/users/{suzuki_id}/events")
    assert refused.status_code == 403
    unsupported = _subscribe(graph, api, webhook, resource="me/messages")
    assert unsupported.status_code == 400


def test_K8_api_control_and_page_changes_are_notified_with_graphs_shape(graph, webhook):
    api = graph.api()
    sub = _subscribe(graph, api, webhook).json()
    event = api.post(graph.url("me/events"), json=BODY, timeout=10).json()
    [created] = webhook.wait_for(1)
    user_id = api.get(graph.url("me"), timeout=10).json()["id"]
    path = f"Users/{user_id}/Events/{event['id']}"
    assert created["subscriptionId"] == sub["id"] and created["clientState"] == "secret-42"
    assert created["changeType"] == "created" and created["resource"] == path
    assert created["resourceData"] == {"@odata.type": "#Microsoft.Graph.Event",
                                       "@odata.id": path, "@odata.etag": event["@odata.etag"],
                                       "id": event["id"]}
    assert created["subscriptionExpirationDateTime"] == sub["expirationDateTime"]
    assert created["tenantId"]
    graph.control("PATCH", f"events/{event['id']}", {"subject": "moved in Outlook"})
    graph.control("DELETE", f"events/{event['id']}")
    kinds = [n["changeType"] for n in webhook.wait_for(3)]
    assert kinds == ["created", "updated", "deleted"]


def test_K8_only_the_subscribed_change_types_and_mailbox_are_notified(graph, webhook):
    api = graph.api(SATO)
    _subscribe(graph, api, webhook, changeType="deleted")
    event = api.post(graph.url("me/events"), json=BODY, timeout=10).json()
    graph.api(SUZUKI).post(graph.url("me/events"), json=BODY, timeout=10)
    api.delete(graph.url(f"me/events/{event['id']}"), timeout=10)
    assert [n["changeType"] for n in webhook.wait_for(1)] == ["deleted"]
    assert len(webhook.notifications()) == 1


def test_K8_delivery_runs_in_the_background_while_the_receiver_is_stuck(graph, webhook):
    api = graph.api()
    _subscribe(graph, api, webhook)
    release = threading.Event()
    original = webhook.server.RequestHandlerClass.do_POST

    def stuck(handler):
        release.wait(10)
        original(handler)

    webhook.server.RequestHandlerClass.do_POST = stuck
    try:
        # The write answers although the notification endpoint has not answered yet.
        response = api.post(graph.url("me/events"), json=BODY, timeout=2)
        assert response.status_code == 201
        assert webhook.notifications() == []
    finally:
        release.set()
    assert len(webhook.wait_for(1)) == 1


def test_K8_failed_delivery_is_retried_by_the_tenant_clock(graph, webhook):
    api = graph.api()
    _subscribe(graph, api, webhook, minutes=4000)
    webhook.status = 500
    api.post(graph.url("me/events"), json=BODY, timeout=10)
    _deliveries(graph, 1)
    webhook.status = 202
    graph.control("POST", "clock", {"advance_seconds": 601})
    notes = webhook.wait_for(2)
    assert notes[0]["id"] == notes[1]["id"]
    attempts = [(d["attempt"], d["status"]) for d in _deliveries(graph, 2)]
    assert attempts == [(1, 500), (2, 202)]


def test_K8_a_delivery_failing_for_four_hours_is_dropped_with_a_missed_notification(graph,
                                                                                   webhook):
    api = graph.api()
    graph.control("POST", "settings", {"reauthorization_before_seconds": 0})
    _subscribe(graph, api, webhook, minutes=4000)
    webhook.path_status["/notify"] = 500
    api.post(graph.url("me/events"), json=BODY, timeout=10)
    _deliveries(graph, 1)
    graph.control("POST", "clock", {"advance_seconds": 4 * 3600 + 1})
    [missed] = webhook.wait_for(1, path="/lifecycle")
    assert missed["lifecycleEvent"] == "missed" and missed["clientState"] == "secret-42"
    assert graph.control("GET", "notifications")["pending"] == []


def test_K8_renewal_extends_and_expiry_by_the_clock_removes_the_subscription(graph, webhook):
    api = graph.api()
    sub = _subscribe(graph, api, webhook, minutes=60, lifecycle=False).json()
    renewed = api.patch(graph.url(f"subscriptions/{sub['id']}"),
                        json={"expirationDateTime": _expires(graph, 120)}, timeout=10)
    assert renewed.status_code == 200
    assert renewed.json()["expirationDateTime"] > sub["expirationDateTime"]
    graph.control("POST", "clock", {"advance_seconds": 121 * 60})
    api = graph.api()  # the first access token expired with the clock
    assert api.get(graph.url(f"subscriptions/{sub['id']}"), timeout=10).status_code == 404
    _subscribe(graph, api, webhook, lifecycle=False, notificationUrl=webhook.url + "/other")
    api.post(graph.url("me/events"), json=BODY, timeout=10)
    webhook.wait_for(1, path="/other")
    assert webhook.notifications() == []


def test_K8_reauthorization_required_before_expiry_then_renewal_stops_it(graph, webhook):
    api = graph.api()
    sub = _subscribe(graph, api, webhook, minutes=90).json()
    graph.control("POST", "clock", {"advance_seconds": 31 * 60})  # 59 minutes left
    [challenge] = webhook.wait_for(1, path="/lifecycle")
    assert challenge == {"subscriptionId": sub["id"], "lifecycleEvent": "reauthorizationRequired",
                         "subscriptionExpirationDateTime": sub["expirationDateTime"],
                         "tenantId": challenge["tenantId"], "clientState": "secret-42"}
    assert api.post(graph.url(f"subscriptions/{sub['id']}/reauthorize"),
                    timeout=10).status_code == 204
    api.patch(graph.url(f"subscriptions/{sub['id']}"),
              json={"expirationDateTime": _expires(graph, 600)}, timeout=10)
    graph.control("POST", "clock", {"advance_seconds": 16 * 60})
    # A change notification goes out in the same pass that would send a due challenge,
    # after it: once it arrived, no further challenge is on its way.
    graph.api().post(graph.url("me/events"), json=BODY, timeout=10)
    webhook.wait_for(1)
    assert len(webhook.notifications("/lifecycle")) == 1


def test_K8_delete_stops_notifications_and_lifecycle_removal_is_announced(graph, webhook):
    api = graph.api()
    first = _subscribe(graph, api, webhook).json()
    assert api.delete(graph.url(f"subscriptions/{first['id']}"), timeout=10).status_code == 204
    assert api.delete(graph.url(f"subscriptions/{first['id']}"), timeout=10).status_code == 404
    second = _subscribe(graph, api, webhook).json()
    graph.control("POST", f"subscriptions/{second['id']}/lifecycle",
                  {"lifecycleEvent": "subscriptionRemoved"})
    [removed] = webhook.wait_for(1, path="/lifecycle")
    assert removed["lifecycleEvent"] == "subscriptionRemoved"
    assert api.get(graph.url("subscriptions"), timeout=10).json()["value"] == []
    _subscribe(graph, api, webhook, lifecycle=False, notificationUrl=webhook.url + "/other")
    api.post(graph.url("me/events"), json=BODY, timeout=10)
    webhook.wait_for(1, path="/other")
    assert webhook.notifications() == []


def test_K8_an_invitees_answer_notifies_the_organizers_subscription(graph, webhook):
    sato, suzuki = graph.api(SATO), graph.api(SUZUKI)
    event = sato.post(graph.url("me/events"), json={
        **BODY, "attendees": [{"emailAddress": {"address": SUZUKI}}]}, timeout=10).json()
    _subscribe(graph, sato, webhook)
    [copy] = suzuki.get(graph.url("me/calendarView"), timeout=10, params={
        "startDateTime": "2026-12-01T00:00:00Z", "endDateTime": "2026-12-02T00:00:00Z"}
    ).json()["value"]
    suzuki.post(graph.url(f"me/events/{copy['id']}/decline"), json={}, timeout=10)
    [note] = webhook.wait_for(1)
    assert note["changeType"] == "updated" and note["resourceData"]["id"] == event["id"]


def test_K8_an_event_added_on_the_calendar_page_is_notified(graph, webhook):
    import re

    from graph_emulator.seed import DEMO_PASSWORD

    _subscribe(graph, graph.api(), webhook)
    browser = graph.new_session()
    page = browser.post(f"{graph.login_url}/calendar/login",
                        data={"login": SATO, "passwd": DEMO_PASSWORD}, timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    browser.post(f"{graph.login_url}/calendar/events", data={
        "csrf_token": token, "subject": "外出", "day": "2026-12-02", "start": "13:00",
        "end": "14:00", "showAs": "busy"}, timeout=10)
    [note] = webhook.wait_for(1)
    assert note["changeType"] == "created"
