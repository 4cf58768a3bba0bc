"""Conformance of the Graph emulator's calendar reads with plain HTTP: /me, calendars,
calendarView, recurring series, time zones and calendarView delta.

Sources: learn.microsoft.com/graph/api/user-get, /calendar-list-calendarview,
/graph/api/event-delta, /graph/delta-query-events, /graph/delta-query-overview,
/graph/api/resources/event, /graph/errors.
"""

from __future__ import annotations

import pytest

from tests.fixtures_graph import SATO, SUZUKI

WINDOW = {"startDateTime": "2026-12-01T00:00:00Z", "endDateTime": "2026-12-08T00:00:00Z"}


def _event(subject, start, end, tz="UTC", **extra):
    return {"subject": subject, "start": {"dateTime": start, "timeZone": tz},
            "end": {"dateTime": end, "timeZone": tz}, **extra}


def _seed(graph, user=SATO, **event):
    subject = event.pop("subject", "busy")
    start = event.pop("start", "2026-12-01T01:00:00")
    end = event.pop("end", "2026-12-01T02:00:00")
    tz = event.pop("tz", "UTC")
    exceptions = event.pop("exceptions", None)
    return graph.seed_event(user, exceptions=exceptions, **_event(subject, start, end, tz,
                                                                  **event))


def _drain(api, url, headers=None):
    """Follow nextLinks; returns (items, deltaLink, number of pages)."""
    items, pages = [], 0
    while True:
        page = api.get(url, headers=headers or {}, timeout=10)
        assert page.status_code == 200, page.text
        pages += 1
        body = page.json()
        items += body["value"]
        if "@odata.nextLink" in body:
            assert "@odata.deltaLink" not in body
            url = body["@odata.nextLink"]
            continue
        return items, body["@odata.deltaLink"], pages


def _assert_graph_error(response, status, code):
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    assert error["innerError"]["request-id"] and error["innerError"]["date"]


def test_me_returns_the_signed_in_user(graph):
    me = graph.api().get(graph.url("me"), timeout=10).json()
    assert me["mail"] == SATO and me["userPrincipalName"] == SATO
    assert me["id"] and me["displayName"] == "佐藤 花子"


def test_me_without_user_read_is_403(graph):
    api = graph.api(scope="offline_access Calendars.Read")
    _assert_graph_error(api.get(graph.url("me"), timeout=10), 403,
                        "Authorization_RequestDenied")


def test_write_with_calendars_read_only_is_403_access_denied(graph):
    api = graph.api(scope="offline_access User.Read Calendars.Read")
    response = api.post(graph.url("me/events"), json=_event(
        "x", "2026-12-01T01:00:00", "2026-12-01T02:00:00"), timeout=10)
    _assert_graph_error(response, 403, "ErrorAccessDenied")


def test_calendars_lists_the_default_calendar(graph):
    body = graph.api().get(graph.url("me/calendars"), timeout=10).json()
    default = [c for c in body["value"] if c["isDefaultCalendar"]]
    assert len(default) == 1 and default[0]["owner"]["address"] == SATO
    assert default[0]["canEdit"] is True


def test_calendar_view_needs_a_window(graph):
    response = graph.api().get(graph.url("me/calendarView"), timeout=10)
    _assert_graph_error(response, 400, "ErrorInvalidParameter")


def test_calendar_view_times_are_utc_by_default_with_seven_digits(graph):
    _seed(graph, start="2026-12-01T10:00:00", end="2026-12-01T11:00:00",
          tz="Tokyo Standard Time")
    body = graph.api().get(graph.url("me/calendarView"), params=WINDOW, timeout=10).json()
    (event,) = body["value"]
    assert event["start"] == {"dateTime": "2026-12-01T01:00:00.0000000", "timeZone": "UTC"}
    assert event["originalStartTimeZone"] == "Tokyo Standard Time"


def test_prefer_outlook_timezone_converts_and_is_applied(graph):
    _seed(graph, start="2026-12-01T01:00:00", end="2026-12-01T02:00:00")
    response = graph.api().get(graph.url("me/calendarView"), params=WINDOW, headers={
        "Prefer": 'outlook.timezone="Tokyo Standard Time"'}, timeout=10)
    (event,) = response.json()["value"]
    assert event["start"] == {"dateTime": "2026-12-01T10:00:00.0000000",
                              "timeZone": "Tokyo Standard Time"}
    assert 'outlook.timezone="Tokyo Standard Time"' in response.headers["Preference-Applied"]


def test_show_as_and_all_day_are_reported(graph):
    for show_as in ("free", "tentative", "busy", "oof", "workingElsewhere"):
        _seed(graph, subject=show_as, showAs=show_as)
    _seed(graph, subject="holiday", start="2026-12-02T00:00:00", end="2026-12-03T00:00:00",
          tz="Tokyo Standard Time", isAllDay=True)
    body = graph.api().get(graph.url("me/calendarView"), params=WINDOW, headers={
        "Prefer": "odata.maxpagesize=50"}, timeout=10).json()
    by_subject = {e["subject"]: e for e in body["value"]}
    assert {s: by_subject[s]["showAs"] for s in ("free", "tentative", "busy", "oof",
                                                 "workingElsewhere")} == {
        "free": "free", "tentative": "tentative", "busy": "busy", "oof": "oof",
        "workingElsewhere": "workingElsewhere"}
    holiday = by_subject["holiday"]
    assert holiday["isAllDay"] is True
    assert holiday["start"]["dateTime"] == "2026-12-02T00:00:00.0000000"
    assert holiday["end"]["dateTime"] == "2026-12-03T00:00:00.0000000"


def test_recurring_series_occurrences_exceptions_and_cancellations(graph):
    master = _seed(graph, subject="standup", start="2026-12-01T09:00:00",
                   end="2026-12-01T09:30:00", tz="Tokyo Standard Time", recurrence={
                       "pattern": {"type": "daily", "interval": 1},
                       "range": {"type": "numbered", "startDate": "2026-12-01",
                                 "numberOfOccurrences": 5}},
                   exceptions=[{"originalStart": "2026-12-02T00:00:00Z", "cancelled": True},
                               {"originalStart": "2026-12-03T00:00:00Z", "changes": {
                                   "start": {"dateTime": "2026-12-03T14:00:00",
                                             "timeZone": "Tokyo Standard Time"},
                                   "end": {"dateTime": "2026-12-03T15:00:00",
                                           "timeZone": "Tokyo Standard Time"}}}])
    body = graph.api().get(graph.url("me/calendarView"), params=WINDOW, timeout=10).json()
    found = body["value"]
    assert all(e["type"] != "seriesMaster" for e in found)
    assert [e["start"]["dateTime"][:16] for e in found] == [
        "2026-12-01T00:00", "2026-12-03T05:00", "2026-12-04T00:00", "2026-12-05T00:00"]
    assert [e["type"] for e in found] == ["occurrence", "exception", "occurrence", "occurrence"]
    assert {e["seriesMasterId"] for e in found} == {master["id"]}
    assert master["type"] == "seriesMaster"


def test_weekly_series_keeps_local_time_across_dst(graph):
    _seed(graph, user="meganb@example.com", subject="weekly", start="2027-03-08T09:00:00",
          end="2027-03-08T10:00:00", tz="Pacific Standard Time", recurrence={
              "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]},
              "range": {"type": "endDate", "startDate": "2027-03-08", "endDate": "2027-03-15"}})
    api = graph.api(user="meganb@example.com")
    body = api.get(graph.url("me/calendarView"), params={
        "startDateTime": "2027-03-01T00:00:00Z", "endDateTime": "2027-03-31T00:00:00Z"},
        timeout=10).json()
    # PST (UTC-8) before 14 March 2027, PDT (UTC-7) after.
    assert [e["start"]["dateTime"][:16] for e in body["value"]] == [
        "2027-03-08T17:00", "2027-03-15T16:00"]


def test_delta_pages_with_maxpagesize_then_delta_link(graph):
    for hour in range(5):
        _seed(graph, subject=f"e{hour}", start=f"2026-12-01T0{hour}:00:00",
              end=f"2026-12-01T0{hour}:30:00")
    api = graph.api()
    items, delta_link, pages = _drain(api, graph.url("me/calendarView/delta") + "?" +
                                      "startDateTime=2026-12-01T00:00:00Z&endDateTime="
                                      "2026-12-08T00:00:00Z",
                                      headers={"Prefer": "odata.maxpagesize=2"})
    assert pages == 3 and len(items) == 5
    assert "$deltatoken=" in delta_link


def test_delta_link_with_no_change_returns_nothing_in_one_call(graph):
    _seed(graph)
    api = graph.api()
    _items, delta_link, _ = _drain(api, _delta_url(graph))
    graph.control("DELETE", "usage")
    items, next_delta, pages = _drain(api, delta_link)
    assert items == [] and pages == 1 and next_delta
    assert graph.usage()["total"] == 1


def _delta_url(graph, calendar_id=None):
    base = f"me/calendars/{calendar_id}/calendarView/delta" if calendar_id else \
        "me/calendarView/delta"
    return graph.url(base) + "?startDateTime=2026-12-01T00:00:00Z&endDateTime=" \
        "2026-12-08T00:00:00Z"


def test_delta_reports_added_updated_and_removed(graph):
    keep = _seed(graph, subject="keep")
    change = _seed(graph, subject="change")
    gone = _seed(graph, subject="gone")
    api = graph.api()
    _items, delta_link, _ = _drain(api, _delta_url(graph))
    added = _seed(graph, subject="added", start="2026-12-02T01:00:00", end="2026-12-02T02:00:00")
    graph.control("PATCH", f"events/{change['id']}", {"subject": "changed", "showAs": "free"})
    graph.control("DELETE", f"events/{gone['id']}")
    items, _next, _ = _drain(api, delta_link)
    by_id = {item["id"]: item for item in items}
    assert keep["id"] not in by_id
    assert by_id[added["id"]]["subject"] == "added"
    assert by_id[change["id"]]["subject"] == "changed" and by_id[change["id"]]["showAs"] == "free"
    assert by_id[gone["id"]]["@removed"] == {"reason": "deleted"}


def test_delta_of_another_calendar_is_separate(graph):
    other = graph.control("POST", "calendars", {"user": SATO, "name": "Team"})
    _seed(graph, subject="in default")
    graph.seed_event(SATO, calendar_id=other["id"], **_event(
        "in team", "2026-12-01T03:00:00", "2026-12-01T04:00:00"))
    items, _link, _ = _drain(graph.api(), _delta_url(graph, other["id"]))
    assert [i["subject"] for i in items] == ["in team"]


def test_expired_delta_link_is_410_sync_state_not_found(graph):
    _seed(graph)
    api = graph.api()
    _items, delta_link, _ = _drain(api, _delta_url(graph))
    assert graph.control("POST", "delta/expire")["expired"] >= 1
    response = api.get(delta_link, timeout=10)
    _assert_graph_error(response, 410, "SyncStateNotFound")
    assert "$deltatoken" not in response.headers["Location"]


def test_delta_link_outlives_its_ttl_setting_only(graph):
    graph.control("POST", "settings", {"delta_ttl_seconds": 3600})
    api = graph.api()
    _items, delta_link, _ = _drain(api, _delta_url(graph))
    assert api.get(delta_link, timeout=10).status_code == 200
    graph.control("POST", "clock", {"advance_seconds": 1800})
    refreshed = graph.api()
    graph.control("POST", "clock", {"advance_seconds": 1900})
    assert refreshed.get(delta_link, timeout=10).status_code == 410


def test_delta_link_of_another_user_is_refused(graph):
    _items, delta_link, _ = _drain(graph.api(), _delta_url(graph))
    assert graph.api(user=SUZUKI).get(delta_link, timeout=10).status_code == 410


@pytest.mark.parametrize("path", ["me/calendarView/delta", "me/calendarView"])
def test_unknown_token_is_401(graph, path):
    response = graph.http.get(graph.url(path), params=WINDOW, headers={
        "Authorization": "Bearer nope"}, timeout=10)
    _assert_graph_error(response, 401, "InvalidAuthenticationToken")


def test_calendar_view_pages_with_top_and_next_link(graph):
    for hour in range(3):
        _seed(graph, subject=f"p{hour}", start=f"2026-12-01T0{hour}:00:00",
              end=f"2026-12-01T0{hour}:30:00")
    api = graph.api()
    first = api.get(graph.url("me/calendarView"), params={**WINDOW, "$top": 2},
                    timeout=10).json()
    assert [e["subject"] for e in first["value"]] == ["p0", "p1"]
    rest = api.get(first["@odata.nextLink"], timeout=10).json()
    assert [e["subject"] for e in rest["value"]] == ["p2"] and "@odata.nextLink" not in rest


def test_monthly_series_without_end_and_default_calendar(graph):
    _seed(graph, subject="monthly", start="2026-12-10T01:00:00", end="2026-12-10T02:00:00",
          recurrence={"pattern": {"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 10},
                      "range": {"type": "noEnd", "startDate": "2026-12-10"}})
    api = graph.api()
    body = api.get(graph.url("me/calendarView"), params={
        "startDateTime": "2026-12-01T00:00:00Z", "endDateTime": "2027-03-01T00:00:00Z"},
        timeout=10).json()
    assert [e["start"]["dateTime"][:10] for e in body["value"]] == [
        "2026-12-10", "2027-01-10", "2027-02-10"]
    assert api.get(graph.url("me/calendar"), timeout=10).json()["isDefaultCalendar"] is True


def test_several_preferences_in_one_header(graph):
    for hour in range(3):
        _seed(graph, subject=f"q{hour}", start=f"2026-12-01T0{hour}:00:00",
              end=f"2026-12-01T0{hour}:30:00")
    response = graph.api().get(_delta_url(graph), headers={
        "Prefer": 'outlook.timezone="Tokyo Standard Time", odata.maxpagesize=1'}, timeout=10)
    body = response.json()
    assert len(body["value"]) == 1 and "@odata.nextLink" in body
    assert body["value"][0]["start"]["timeZone"] == "Tokyo Standard Time"
    assert "odata.maxpagesize=1" in response.headers["Preference-Applied"]
