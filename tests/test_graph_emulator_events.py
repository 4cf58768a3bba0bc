"""Conformance of the Graph emulator's writes, getSchedule, throttling and control API.

Sources: learn.microsoft.com/graph/api/user-post-events, /event-update, /event-delete,
/graph/api/resources/event (transactionId, iCalUId), /graph/api/calendar-getschedule,
/graph/api/resources/scheduleinformation, /graph/throttling, /graph/errors.
"""

from __future__ import annotations

import time

from tests.fixtures_graph import SATO, SUZUKI

WINDOW = {"startDateTime": "2026-12-01T00:00:00Z", "endDateTime": "2026-12-08T00:00:00Z"}


def _body(subject="Apo booking", start="2026-12-01T10:00:00", end="2026-12-01T10:30:00",
          tz="Tokyo Standard Time", **extra):
    return {"subject": subject, "start": {"dateTime": start, "timeZone": tz},
            "end": {"dateTime": end, "timeZone": tz}, **extra}


def _view(graph, api):
    return api.get(graph.url("me/calendarView"), params=WINDOW, timeout=10).json()["value"]


def test_create_event_is_201_with_id_ical_uid_and_location(graph):
    api = graph.api()
    response = api.post(graph.url("me/events"), json=_body(showAs="busy"), timeout=10)
    assert response.status_code == 201
    event = response.json()
    assert event["id"] and event["iCalUId"] and event["type"] == "singleInstance"
    assert event["id"] in response.headers["Location"]
    assert [e["id"] for e in _view(graph, api)] == [event["id"]]


def test_same_transaction_id_returns_the_existing_event(graph):
    api = graph.api()
    first = api.post(graph.url("me/events"), json=_body(transactionId="apo-1"), timeout=10)
    again = api.post(graph.url("me/events"), json=_body(transactionId="apo-1"), timeout=10)
    assert again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["transactionId"] == "apo-1"
    assert len(_view(graph, api)) == 1


def test_filter_by_ical_uid_finds_the_event(graph):
    api = graph.api()
    event = api.post(graph.url("me/events"), json=_body(), timeout=10).json()
    api.post(graph.url("me/events"), json=_body(subject="other"), timeout=10)
    found = api.get(graph.url("me/events"), params={
        "$filter": f"iCalUId eq '{event['iCalUId']}'"}, timeout=10).json()["value"]
    assert [e["id"] for e in found] == [event["id"]]


def test_unknown_property_is_400_request_body_read(graph):
    response = graph.api().post(graph.url("me/events"), json=_body(colour="red"), timeout=10)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "RequestBodyRead"


def test_end_before_start_is_400_and_creates_nothing(graph):
    api = graph.api()
    response = api.post(graph.url("me/events"), json=_body(end="2026-12-01T09:00:00"),
                        timeout=10)
    assert response.status_code == 400
    assert _view(graph, api) == []


def test_update_moves_the_event_and_changes_change_key(graph):
    api = graph.api()
    event = api.post(graph.url("me/events"), json=_body(), timeout=10).json()
    moved = api.patch(graph.url(f"me/events/{event['id']}"), json={
        "start": {"dateTime": "2026-12-02T10:00:00", "timeZone": "Tokyo Standard Time"},
        "end": {"dateTime": "2026-12-02T11:00:00", "timeZone": "Tokyo Standard Time"}},
        timeout=10)
    assert moved.status_code == 200
    assert moved.json()["start"]["dateTime"] == "2026-12-02T01:00:00.0000000"
    assert moved.json()["changeKey"] != event["changeKey"]


def test_transaction_id_cannot_change_on_update(graph):
    api = graph.api()
    event = api.post(graph.url("me/events"), json=_body(transactionId="t1"), timeout=10).json()
    response = api.patch(graph.url(f"me/events/{event['id']}"), json={"transactionId": "t2"},
                         timeout=10)
    assert response.status_code == 400


def test_delete_is_204_then_404_item_not_found(graph):
    api = graph.api()
    event = api.post(graph.url("me/events"), json=_body(), timeout=10).json()
    assert api.delete(graph.url(f"me/events/{event['id']}"), timeout=10).status_code == 204
    again = api.delete(graph.url(f"me/events/{event['id']}"), timeout=10)
    assert again.status_code == 404
    assert again.json()["error"]["code"] == "ErrorItemNotFound"
    assert again.json()["error"]["innerError"]["request-id"]


def test_other_users_event_is_not_found(graph):
    event = graph.api().post(graph.url("me/events"), json=_body(), timeout=10).json()
    response = graph.api(user=SUZUKI).get(graph.url(f"me/events/{event['id']}"), timeout=10)
    assert response.status_code == 404


def test_patch_and_delete_an_occurrence(graph):
    api = graph.api()
    api.post(graph.url("me/events"), json=_body(subject="daily", recurrence={
        "pattern": {"type": "daily", "interval": 1},
        "range": {"type": "numbered", "startDate": "2026-12-01", "numberOfOccurrences": 3}}),
        timeout=10)
    first, second, third = _view(graph, api)
    patched = api.patch(graph.url(f"me/events/{second['id']}"), json={"showAs": "free"},
                        timeout=10)
    assert patched.status_code == 200 and patched.json()["type"] == "exception"
    assert api.delete(graph.url(f"me/events/{third['id']}"), timeout=10).status_code == 204
    after = _view(graph, api)
    assert [(e["id"], e["type"], e["showAs"]) for e in after] == [
        (first["id"], "occurrence", "busy"), (second["id"], "exception", "free")]


def test_get_schedule_for_several_users(graph):
    graph.seed_event(SATO, **_body(subject="busy", start="2026-12-01T10:00:00",
                                   end="2026-12-01T11:00:00", showAs="busy"))
    graph.seed_event(SATO, **_body(subject="free", start="2026-12-01T11:00:00",
                                   end="2026-12-01T12:00:00", showAs="free"))
    graph.seed_event(SUZUKI, **_body(subject="maybe", start="2026-12-01T09:30:00",
                                     end="2026-12-01T10:00:00", showAs="tentative"))
    response = graph.api().post(graph.url("me/calendar/getSchedule"), json={
        "schedules": [SATO, SUZUKI, "nobody@example.com"],
        "startTime": {"dateTime": "2026-12-01T09:00:00", "timeZone": "Tokyo Standard Time"},
        "endTime": {"dateTime": "2026-12-01T12:00:00", "timeZone": "Tokyo Standard Time"},
        "availabilityViewInterval": 30}, timeout=10)
    assert response.status_code == 200
    sato, suzuki, nobody = response.json()["value"]
    assert sato["scheduleId"] == SATO and sato["availabilityView"] == "002200"
    assert [i["status"] for i in sato["scheduleItems"]] == ["busy"]
    assert sato["scheduleItems"][0]["start"] == {"dateTime": "2026-12-01T01:00:00.0000000",
                                                 "timeZone": "UTC"}
    assert suzuki["availabilityView"] == "010000"
    assert nobody["error"]["responseCode"] and nobody["scheduleItems"] == []


def test_get_schedule_accepts_the_documented_capitalised_sample(graph):
    response = graph.api().post(graph.url("me/calendar/getSchedule"), json={
        "Schedules": [SATO],
        "StartTime": {"dateTime": "2026-12-01T09:00:00", "timeZone": "Pacific Standard Time"},
        "EndTime": {"dateTime": "2026-12-01T18:00:00", "timeZone": "Pacific Standard Time"},
        "availabilityViewInterval": "15"}, headers={
        "Prefer": 'outlook.timezone="Pacific Standard Time"'}, timeout=10)
    assert response.status_code == 200
    assert len(response.json()["value"][0]["availabilityView"]) == 36


def test_throttling_429_carries_retry_after(graph):
    api = graph.api()
    graph.control("POST", "faults", {"kind": "429", "count": 1, "retry_after": 3,
                                     "path_contains": "calendarView"})
    throttled = api.get(graph.url("me/calendarView"), params=WINDOW, timeout=10)
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "3"
    assert throttled.json()["error"]["code"] == "TooManyRequests"
    assert api.get(graph.url("me/calendarView"), params=WINDOW, timeout=10).status_code == 200


def test_usage_counts_graph_calls_per_endpoint_and_user_not_control(graph):
    api = graph.api()
    graph.control("DELETE", "usage")
    api.get(graph.url("me"), timeout=10)
    api.get(graph.url("me/calendarView"), params=WINDOW, timeout=10)
    graph.control("GET", "events?user=" + SATO)
    usage = graph.usage()
    assert usage["total"] == 2
    assert usage["by_endpoint"] == {"GET /me": 1, "GET /me/calendarView": 1}
    (per_user,) = usage["by_user"].values()
    assert per_user["total"] == 2


def test_latency_control_delays_graph_answers(graph):
    api = graph.api()
    graph.control("POST", "latency", {"ms": 300})
    try:
        started = time.monotonic()
        api.get(graph.url("me"), timeout=10)
        assert time.monotonic() - started >= 0.3
    finally:
        graph.control("POST", "latency", {"ms": 0})


def test_control_revoke_with_access_tokens_stops_graph_calls(graph):
    api = graph.api()
    graph.control("POST", "revoke", {"user": SATO, "access_tokens": True})
    response = api.get(graph.url("me"), timeout=10)
    assert response.status_code == 401


def test_filter_by_single_value_extended_property(graph):
    api = graph.api()
    prop = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name ApoBookingUid"
    event = api.post(graph.url("me/events"), json=_body(singleValueExtendedProperties=[
        {"id": prop, "value": "apo-booking-1@x"}]), timeout=10).json()
    api.post(graph.url("me/events"), json=_body(subject="other"), timeout=10)
    assert "singleValueExtendedProperties" not in event
    found = api.get(graph.url("me/events"), params={
        "$filter": f"singleValueExtendedProperties/Any(ep: ep/id eq '{prop}' and "
                   "ep/value eq 'apo-booking-1@x')"}, timeout=10).json()["value"]
    assert [e["id"] for e in found] == [event["id"]]
    bad = api.get(graph.url("me/events"), params={"$filter": "subject eq 'x'"}, timeout=10)
    assert bad.status_code == 400


def test_service_unavailable_503_carries_retry_after(graph):
    api = graph.api()
    graph.control("POST", "faults", {"kind": "503", "retry_after": 5})
    response = api.get(graph.url("me"), timeout=10)
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert response.json()["error"]["innerError"]["request-id"]


def test_delay_fault_slows_one_call(graph):
    api = graph.api()
    graph.control("POST", "faults", {"kind": "delay", "delay_ms": 400})
    started = time.monotonic()
    assert api.get(graph.url("me"), timeout=10).status_code == 200
    assert time.monotonic() - started >= 0.4


def test_disabled_user_cannot_sign_in_or_call(graph):
    api = graph.api()
    graph.control("POST", f"users/{SATO}/disable")
    assert api.get(graph.url("me"), timeout=10).status_code == 401
    browser = graph.new_session()
    page = browser.get(graph.authorize_url(None), timeout=10)
    assert 'name="passwd"' in page.text
