"""Conformance of the Google emulator's Calendar API v3 with a plain HTTP client; one test per
behaviour listed in google_calendar_emulator/README.md (Calendar API section)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.fixtures_google_calendar_emulator import AUTH

pytestmark = pytest.mark.timeout(30)
SATO, SUZUKI = "sato@example.com", "suzuki@example.com"
TEAM = "c_team0123456789@group.calendar.google.com"
EVENTS = "calendars/primary/events"


def timed(day: str, start: str, end: str, **extra) -> dict:
    return {"summary": extra.pop("summary", "会議"),
            "start": {"dateTime": f"{day}T{start}:00+09:00", "timeZone": "Asia/Tokyo"},
            "end": {"dateTime": f"{day}T{end}:00+09:00", "timeZone": "Asia/Tokyo"}, **extra}


def error_of(response) -> tuple[int, str]:
    body = response.json()["error"]
    assert body["code"] == response.status_code and body["message"]
    return response.status_code, body["errors"][0]["reason"]


@pytest.fixture
def api(gcal):
    return gcal.api(SATO)


def test_calendar_list_has_primary_and_secondary_with_access_roles(gcal, api):
    items = api.get(gcal.cal("users/me/calendarList")).json()["items"]
    by_id = {i["id"]: i for i in items}
    assert by_id[SATO]["primary"] is True and by_id[SATO]["accessRole"] == "owner"
    assert by_id[TEAM]["summary"] == "営業チーム" and "primary" not in by_id[TEAM]
    reader = gcal.api(SUZUKI)
    owned = reader.get(gcal.cal("users/me/calendarList"),
                       params={"minAccessRole": "owner"}).json()["items"]
    assert [i["id"] for i in owned] == [SUZUKI]


def test_missing_token_is_401_login_required_in_the_current_wording(gcal):
    answer = gcal.http.get(gcal.cal(EVENTS))
    assert error_of(answer) == (401, "required")
    body = answer.json()["error"]
    assert body["status"] == "UNAUTHENTICATED"
    assert body["message"].startswith("Request is missing required authentication credential")
    assert body["errors"][0] == {"domain": "global", "reason": "required",
                                 "message": "Login Required.", "locationType": "header",
                                 "location": "Authorization"}


def test_refused_token_is_401_auth_error_in_the_current_wording(gcal):
    answer = gcal.http.get(gcal.cal(EVENTS), headers={"Authorization": "Bearer ya29.nope"})
    assert error_of(answer) == (401, "authError")
    body = answer.json()["error"]
    assert body["status"] == "UNAUTHENTICATED" and body["errors"][0]["message"] == (
        "Invalid Credentials")
    assert body["message"].startswith("Request had invalid authentication credentials.")
    assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]


def test_scope_without_event_access_is_403_insufficient_permissions(gcal):
    api = gcal.api(SATO, scope=AUTH + "calendar.freebusy")
    answer = api.get(gcal.cal(EVENTS))
    assert error_of(answer) == (403, "insufficientPermissions")
    body = answer.json()["error"]
    assert body["status"] == "PERMISSION_DENIED"
    assert body["message"] == "Request had insufficient authentication scopes."
    assert body["details"][0]["reason"] == "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
    assert body["details"][0]["metadata"]["method"] == "calendar.v3.Events.List"
    assert 'error="insufficient_scope"' in answer.headers["WWW-Authenticate"]


def test_events_owned_scope_cannot_read_a_colleagues_calendar(gcal, api):
    assert error_of(api.get(gcal.cal(f"calendars/{SUZUKI}/events"))) == (404, "notFound")


def test_timed_and_all_day_events_keep_their_shapes(gcal, api):
    gcal.seed_event(SATO, **timed("2026-12-01", "10:00", "11:00"))
    gcal.seed_event(SATO, summary="休暇", start={"date": "2026-12-02"},
                    end={"date": "2026-12-03"})
    items = api.get(gcal.cal(EVENTS), params={"singleEvents": "true",
                                              "orderBy": "startTime"}).json()["items"]
    assert items[0]["start"] == {"dateTime": "2026-12-01T10:00:00+09:00",
                                 "timeZone": "Asia/Tokyo"}
    assert items[1]["start"] == {"date": "2026-12-02"} and items[1]["end"] == {
        "date": "2026-12-03"}
    assert all(i["kind"] == "calendar#event" and i["status"] == "confirmed" for i in items)


def test_time_min_and_time_max_are_exclusive_bounds(gcal, api):
    gcal.seed_event(SATO, **timed("2026-12-01", "10:00", "11:00", summary="A"))
    gcal.seed_event(SATO, **timed("2026-12-01", "11:00", "12:00", summary="B"))
    items = api.get(gcal.cal(EVENTS), params={"timeMin": "2026-12-01T02:00:00Z",
                                              "timeMax": "2026-12-01T03:00:00Z"}).json()
    assert [i["summary"] for i in items["items"]] == ["B"]


def test_empty_time_range_is_400_time_range_empty(gcal, api):
    answer = api.get(gcal.cal(EVENTS), params={"timeMin": "2026-12-02T00:00:00Z",
                                               "timeMax": "2026-12-01T00:00:00Z"})
    assert error_of(answer) == (400, "timeRangeEmpty")
    assert answer.json()["error"]["errors"][0]["domain"] == "calendar"


def test_order_by_start_time_needs_single_events(gcal, api):
    assert error_of(api.get(gcal.cal(EVENTS), params={"orderBy": "startTime"}))[0] == 400


def test_paging_with_next_page_token_and_sync_token_only_on_last_page(gcal, api):
    for hour in range(10, 15):
        gcal.seed_event(SATO, **timed("2026-12-01", f"{hour}:00", f"{hour}:30"))
    seen, params, pages = [], {"maxResults": 2}, []
    while True:
        page = api.get(gcal.cal(EVENTS), params=params).json()
        pages.append(page)
        seen += [i["id"] for i in page["items"]]
        if "nextPageToken" not in page:
            break
        assert "nextSyncToken" not in page
        params = {"maxResults": 2, "pageToken": page["nextPageToken"]}
    assert len(pages) == 3 and len(set(seen)) == 5 and "nextSyncToken" in pages[-1]


def _full_sync(gcal, api, **params):
    page = api.get(gcal.cal(EVENTS), params=params).json()
    return page["nextSyncToken"]


def test_incremental_sync_returns_only_changes_with_deletions_as_cancelled(gcal, api):
    keep = gcal.seed_event(SATO, **timed("2026-12-01", "10:00", "11:00"))
    gone = gcal.seed_event(SATO, **timed("2026-12-01", "12:00", "13:00"))
    token = _full_sync(gcal, api)
    quiet = api.get(gcal.cal(EVENTS), params={"syncToken": token}).json()
    assert quiet["items"] == [] and quiet["nextSyncToken"]
    gcal.control("DELETE", f"calendars/{SATO}/events/{gone['id']}")
    new = gcal.seed_event(SATO, **timed("2026-12-02", "10:00", "11:00"))
    changed = api.get(gcal.cal(EVENTS), params={"syncToken": quiet["nextSyncToken"]}).json()
    by_id = {i["id"]: i for i in changed["items"]}
    assert set(by_id) == {gone["id"], new["id"]} and keep["id"] not in by_id
    assert by_id[gone["id"]] == {"kind": "calendar#event", "etag": by_id[gone["id"]]["etag"],
                                 "id": gone["id"], "status": "cancelled"}


def test_sync_token_with_time_min_is_400(gcal, api):
    token = _full_sync(gcal, api)
    answer = api.get(gcal.cal(EVENTS), params={"syncToken": token,
                                               "timeMin": "2026-12-01T00:00:00Z"})
    assert answer.status_code == 400


def test_expired_sync_token_is_410_full_sync_required(gcal, api):
    token = _full_sync(gcal, api)
    gcal.control("POST", "sync-tokens/expire", {})
    answer = api.get(gcal.cal(EVENTS), params={"syncToken": token})
    assert error_of(answer) == (410, "fullSyncRequired")
    assert answer.json()["error"]["message"] == \
        "Sync token is no longer valid, a full sync is required."


def test_sync_token_lifetime_runs_out_with_the_clock(gcal, api):
    token = _full_sync(gcal, api)
    gcal.control("POST", "clock", {"advance_seconds": 8 * 24 * 3600})
    fresh = gcal.api(SATO)  # the clock also expired the old access token
    assert error_of(fresh.get(gcal.cal(EVENTS), params={"syncToken": token}))[0] == 410


WEEKLY = dict(timed("2026-12-01", "10:00", "11:00", summary="定例"),
              recurrence=["RRULE:FREQ=WEEKLY;COUNT=4"])


def test_recurring_series_lists_as_one_event_or_expands_to_instances(gcal, api):
    series = gcal.seed_event(SATO, **WEEKLY)
    single = api.get(gcal.cal(EVENTS)).json()["items"]
    assert [i["recurrence"] for i in single] == [["RRULE:FREQ=WEEKLY;COUNT=4"]]
    items = api.get(gcal.cal(EVENTS), params={"singleEvents": "true"}).json()["items"]
    assert [i["id"] for i in items] == [f"{series['id']}_2026{d}T010000Z"
                                        for d in ("1201", "1208", "1215", "1222")]
    assert all(i["recurringEventId"] == series["id"] for i in items)
    assert items[1]["originalStartTime"] == {"dateTime": "2026-12-08T10:00:00+09:00",
                                             "timeZone": "Asia/Tokyo"}


def test_exception_and_cancelled_instance(gcal, api):
    series = gcal.seed_event(SATO, **WEEKLY)
    second, third = f"{series['id']}_20261208T010000Z", f"{series['id']}_20261215T010000Z"
    moved = api.patch(gcal.cal(f"{EVENTS}/{second}"), json={
        "start": {"dateTime": "2026-12-08T15:00:00+09:00", "timeZone": "Asia/Tokyo"},
        "end": {"dateTime": "2026-12-08T16:00:00+09:00", "timeZone": "Asia/Tokyo"}}).json()
    assert moved["recurringEventId"] == series["id"]
    assert moved["originalStartTime"]["dateTime"] == "2026-12-08T10:00:00+09:00"
    assert api.delete(gcal.cal(f"{EVENTS}/{third}")).status_code == 204
    items = api.get(gcal.cal(EVENTS), params={"singleEvents": "true",
                                              "orderBy": "startTime"}).json()["items"]
    assert [i["start"]["dateTime"][:16] for i in items] == [
        "2026-12-01T10:00", "2026-12-08T15:00", "2026-12-22T10:00"]
    raw = api.get(gcal.cal(EVENTS)).json()["items"]
    cancelled = [i for i in raw if i["status"] == "cancelled"]
    assert [(c["id"], c["recurringEventId"]) for c in cancelled] == [(third, series["id"])]
    shown = api.get(gcal.cal(EVENTS), params={"singleEvents": "true",
                                              "showDeleted": "true"}).json()["items"]
    assert {i["id"] for i in shown if i["status"] == "cancelled"} == {third}


def test_recurring_all_day_and_dst_keep_wall_clock(gcal, api):
    gcal.control("POST", "calendars", {"id": "ny@example.com", "owner": SATO,
                                       "timeZone": "America/New_York"})
    gcal.seed_event("ny@example.com", summary="standup",
                    start={"dateTime": "2026-10-30T09:00:00", "timeZone": "America/New_York"},
                    end={"dateTime": "2026-10-30T09:15:00", "timeZone": "America/New_York"},
                    recurrence=["RRULE:FREQ=WEEKLY;COUNT=2"])
    items = api.get(gcal.cal("calendars/ny@example.com/events"),
                    params={"singleEvents": "true"}).json()["items"]
    assert [i["start"]["dateTime"] for i in items] == ["2026-10-30T09:00:00-04:00",
                                                       "2026-11-06T09:00:00-05:00"]
    gcal.seed_event(SATO, summary="月末", start={"date": "2026-12-31"},
                    end={"date": "2027-01-01"}, recurrence=["RRULE:FREQ=DAILY;COUNT=2"])
    days = api.get(gcal.cal(EVENTS), params={"singleEvents": "true"}).json()["items"]
    assert [i["id"].rsplit("_", 1)[1] for i in days] == ["20261231", "20270101"]


def test_recurring_timed_event_needs_a_time_zone(gcal, api):
    body = dict(timed("2026-12-01", "10:00", "11:00"), recurrence=["RRULE:FREQ=DAILY"])
    body["start"] = {"dateTime": "2026-12-01T10:00:00+09:00"}
    assert api.post(gcal.cal(EVENTS), json=body).status_code == 400


def test_insert_with_ical_uid_then_list_by_ical_uid_and_duplicate_is_409(gcal, api):
    body = timed("2026-12-03", "10:00", "11:00", iCalUID="booking-42@apo.example")
    created = api.post(gcal.cal(EVENTS), json=body).json()
    assert created["iCalUID"] == "booking-42@apo.example"
    found = api.get(gcal.cal(EVENTS), params={"iCalUID": "booking-42@apo.example"}).json()
    assert [i["id"] for i in found["items"]] == [created["id"]]
    assert error_of(api.post(gcal.cal(EVENTS), json=body)) == (409, "duplicate")


def test_insert_with_a_bad_id_is_400(gcal, api):
    body = timed("2026-12-03", "10:00", "11:00", id="UPPER-case!")
    assert error_of(api.post(gcal.cal(EVENTS), json=body)) == (400, "invalid")


def test_import_requires_ical_uid_and_updates_the_same_event(gcal, api):
    missing = api.post(gcal.cal(f"{EVENTS}/import"), json=timed("2026-12-03", "10:00", "11:00"))
    assert missing.status_code == 400
    body = timed("2026-12-03", "10:00", "11:00", iCalUID="imp-1@apo.example")
    first = api.post(gcal.cal(f"{EVENTS}/import"), json=body).json()
    body["summary"] = "変更"
    second = api.post(gcal.cal(f"{EVENTS}/import"), json=body).json()
    assert second["id"] == first["id"] and second["summary"] == "変更"


def test_patch_changes_fields_etag_and_sequence(gcal, api):
    created = api.post(gcal.cal(EVENTS), json=timed("2026-12-03", "10:00", "11:00")).json()
    renamed = api.patch(gcal.cal(f"{EVENTS}/{created['id']}"), json={"summary": "改名"}).json()
    assert renamed["summary"] == "改名" and renamed["etag"] != created["etag"]
    assert renamed["sequence"] == 0 and renamed["start"] == created["start"]
    moved = api.patch(gcal.cal(f"{EVENTS}/{created['id']}"),
                      json=timed("2026-12-04", "10:00", "11:00")).json()
    assert moved["sequence"] == 1


def test_delete_is_204_then_get_shows_cancelled_and_second_delete_is_410(gcal, api):
    created = api.post(gcal.cal(EVENTS), json=timed("2026-12-03", "10:00", "11:00")).json()
    assert api.delete(gcal.cal(f"{EVENTS}/{created['id']}")).status_code == 204
    assert api.get(gcal.cal(f"{EVENTS}/{created['id']}")).json()["status"] == "cancelled"
    assert error_of(api.delete(gcal.cal(f"{EVENTS}/{created['id']}"))) == (410, "deleted")


def test_unknown_event_is_404_not_found(gcal, api):
    assert error_of(api.get(gcal.cal(f"{EVENTS}/abcdefg"))) == (404, "notFound")


def test_writing_with_reader_access_is_403(gcal):
    api = gcal.api(SUZUKI, scope=AUTH + "calendar.events")
    answer = api.post(gcal.cal(f"calendars/{TEAM}/events"),
                      json=timed("2026-12-03", "10:00", "11:00"))
    assert error_of(answer) == (403, "requiredAccessLevel")


def test_free_busy_across_calendars_skips_transparent_and_merges(gcal, api):
    gcal.seed_event(SATO, **timed("2026-12-01", "10:00", "11:00"))
    gcal.seed_event(SATO, **timed("2026-12-01", "10:30", "11:30"))
    gcal.seed_event(SATO, **timed("2026-12-01", "13:00", "14:00", transparency="transparent"))
    gcal.seed_event(SUZUKI, **timed("2026-12-01", "09:00", "09:30"))
    body = {"timeMin": "2026-12-01T00:00:00Z", "timeMax": "2026-12-02T00:00:00Z",
            "items": [{"id": SATO}, {"id": SUZUKI}, {"id": "stranger@other.example"}]}
    answer = api.post(gcal.cal("freeBusy"), json=body).json()
    assert answer["kind"] == "calendar#freeBusy"
    assert answer["calendars"][SATO] == {"busy": [{"start": "2026-12-01T01:00:00Z",
                                                   "end": "2026-12-01T02:30:00Z"}]}
    assert answer["calendars"][SUZUKI]["busy"] == [{"start": "2026-12-01T00:00:00Z",
                                                    "end": "2026-12-01T00:30:00Z"}]
    assert answer["calendars"]["stranger@other.example"] == {
        "errors": [{"domain": "global", "reason": "notFound"}], "busy": []}
    local = api.post(gcal.cal("freeBusy"), json=dict(body, timeZone="Asia/Tokyo")).json()
    assert local["calendars"][SATO]["busy"][0]["start"] == "2026-12-01T10:00:00+09:00"


def test_free_busy_scope_reaches_only_own_calendars(gcal):
    gcal.seed_event(SUZUKI, **timed("2026-12-01", "09:00", "09:30"))
    own = gcal.api(SATO, scope=AUTH + "calendar.freebusy")
    answer = own.post(gcal.cal("freeBusy"), json={
        "timeMin": "2026-12-01T00:00:00Z", "timeMax": "2026-12-02T00:00:00Z",
        "items": [{"id": SATO}, {"id": SUZUKI}]}).json()["calendars"]
    assert answer[SATO] == {"busy": []}
    assert answer[SUZUKI]["errors"][0]["reason"] == "notFound"


def test_free_busy_expands_recurring_events_and_skips_cancelled_instances(gcal, api):
    series = gcal.seed_event(SATO, **WEEKLY)
    api.delete(gcal.cal(f"{EVENTS}/{series['id']}_20261208T010000Z"))
    answer = api.post(gcal.cal("freeBusy"), json={
        "timeMin": "2026-12-01T00:00:00Z", "timeMax": "2026-12-16T00:00:00Z",
        "items": [{"id": "primary"}]}).json()
    assert [p["start"] for p in answer["calendars"]["primary"]["busy"]] == [
        "2026-12-01T01:00:00Z", "2026-12-15T01:00:00Z"]


@pytest.mark.parametrize("status,reason,domain", [
    (403, "rateLimitExceeded", "usageLimits"), (403, "userRateLimitExceeded", "usageLimits"),
    (429, "rateLimitExceeded", "usageLimits"), (403, "quotaExceeded", "usageLimits"),
    (500, "backendError", "global")])
def test_faults_answer_in_googles_error_shape_then_clear(gcal, api, status, reason, domain):
    gcal.control("POST", "faults", {"endpoint": "GET /calendar/v3/calendars/{calendarId}/events",
                                    "status": status, "reason": reason, "times": 1,
                                    "retry_after": 2})
    answer = api.get(gcal.cal(EVENTS))
    assert error_of(answer) == (status, reason)
    assert answer.json()["error"]["errors"][0]["domain"] == domain
    assert answer.headers["Retry-After"] == "2"
    assert api.get(gcal.cal(EVENTS)).status_code == 200


def test_latency_delays_api_answers(gcal, api):
    gcal.control("POST", "latency", {"ms": 300})
    started = time.monotonic()
    api.get(gcal.cal(EVENTS))
    assert time.monotonic() - started >= 0.3


def test_usage_counts_per_endpoint_and_per_user(gcal, api):
    gcal.control("DELETE", "usage")
    api.get(gcal.cal(EVENTS))
    api.get(gcal.cal(EVENTS))
    api.post(gcal.cal("freeBusy"), json={"timeMin": "2026-12-01T00:00:00Z",
                                         "timeMax": "2026-12-02T00:00:00Z", "items": []})
    usage = gcal.usage()
    assert usage["by_endpoint"] == {"GET /calendar/v3/calendars/{calendarId}/events": 2,
                                    "POST /calendar/v3/freeBusy": 1}
    assert usage["by_user"] == {SATO: 3} and usage["total"] == 3


def test_answers_carry_offsets_in_the_events_time_zone(gcal, api):
    created = api.post(gcal.cal(EVENTS), json={
        "start": {"dateTime": "2026-12-03T09:00:00", "timeZone": "America/Los_Angeles"},
        "end": {"dateTime": "2026-12-03T17:00:00Z", "timeZone": "America/Los_Angeles"}}).json()
    assert created["start"]["dateTime"] == "2026-12-03T09:00:00-08:00"
    assert created["end"]["dateTime"] == "2026-12-03T09:00:00-08:00"
    bare = api.post(gcal.cal(EVENTS), json={"start": {"dateTime": "2026-12-03T09:00:00"},
                                            "end": {"dateTime": "2026-12-03T10:00:00"}})
    assert bare.status_code == 400  # neither an offset nor a timeZone


def test_unknown_sync_token_is_410_and_filtered_listings_give_no_sync_token(gcal, api):
    assert error_of(api.get(gcal.cal(EVENTS), params={"syncToken": "CPDnope"}))[0] == 410
    gcal.seed_event(SATO, **timed("2026-12-01", "10:00", "11:00", iCalUID="x@apo.example"))
    page = api.get(gcal.cal(EVENTS), params={"iCalUID": "x@apo.example"}).json()
    assert len(page["items"]) == 1 and "nextSyncToken" not in page


def test_deleting_a_series_cancels_its_exceptions(gcal, api):
    series = gcal.seed_event(SATO, **WEEKLY)
    instance = f"{series['id']}_20261208T010000Z"
    api.patch(gcal.cal(f"{EVENTS}/{instance}"), json={"summary": "特別回"})
    assert api.delete(gcal.cal(f"{EVENTS}/{series['id']}")).status_code == 204
    stored = gcal.control("GET", f"calendars/{SATO}/events")
    assert {e["id"]: e["status"] for e in stored} == {series["id"]: "cancelled",
                                                      instance: "cancelled"}


def test_patch_ignores_id_and_ical_uid(gcal, api):
    created = api.post(gcal.cal(EVENTS), json=timed("2026-12-03", "10:00", "11:00")).json()
    patched = api.patch(gcal.cal(f"{EVENTS}/{created['id']}"),
                        json={"id": "abcdefgh", "iCalUID": "other@x", "summary": "s"}).json()
    assert (patched["id"], patched["iCalUID"]) == (created["id"], created["iCalUID"])


def test_free_busy_past_fifty_calendars_reports_too_many(gcal, api):
    items = [{"id": SATO}] + [{"id": f"m{i}@example.com"} for i in range(55)]
    answer = api.post(gcal.cal("freeBusy"), json={"timeMin": "2026-12-01T00:00:00Z",
                                                  "timeMax": "2026-12-02T00:00:00Z",
                                                  "items": items}).json()["calendars"]
    assert answer["m49@example.com"]["errors"][0]["reason"] == "tooManyCalendarsRequested"
    assert answer["m48@example.com"]["errors"][0]["reason"] == "notFound"


def test_unknown_path_is_404_in_the_error_envelope(gcal, api):
    assert error_of(api.get(gcal.cal("users/me/settings"))) == (404, "notFound")


def test_agenda_page_shows_the_signed_in_accounts_events(gcal):
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    gcal.seed_event(SATO, **timed(tomorrow, "10:00", "11:00", summary="予定A"))
    browser = gcal.new_session()
    client_id, _secret = gcal.register_client()
    gcal.authorize(gcal.authorize_url(client_id), SATO, session=browser)
    page = browser.get(f"{gcal.url}/calendar/r")
    assert page.status_code == 200 and "予定A" in page.text and "10:00–11:00" in page.text
    assert gcal.new_session().get(f"{gcal.url}/calendar/r").status_code == 401


def test_open_ended_series_expand_two_years_ahead_without_time_max(gcal, api):
    today = datetime.now(UTC).date().isoformat()
    gcal.seed_event(SATO, **dict(timed(today, "10:00", "10:30"),
                                 recurrence=["RRULE:FREQ=DAILY"]))
    items = api.get(gcal.cal(EVENTS), params={"singleEvents": "true",
                                              "maxResults": 2500}).json()["items"]
    assert 728 <= len(items) <= 732


# ----- fields Google sets, conditional reads, conferences, channel requests -------------------
def test_organizer_of_a_secondary_calendar_is_the_calendar_with_its_name(gcal, api):
    created = api.post(gcal.cal(f"calendars/{TEAM}/events"),
                       json=timed("2030-05-01", "10:00", "11:00")).json()
    assert created["organizer"] == {"email": TEAM, "displayName": "営業チーム", "self": True}
    assert created["creator"] == {"email": SATO}  # sato is not the team calendar
    entry = {i["id"]: i for i in api.get(gcal.cal("users/me/calendarList")).json()["items"]}
    assert entry[TEAM]["conferenceProperties"] == {
        "allowedConferenceSolutionTypes": ["hangoutsMeet"]}


def test_attendee_without_or_with_a_malformed_email_is_400(gcal, api):
    for attendee, reason in (({"displayName": "名無し"}, "required"),
                             ({"email": "not an address"}, "invalid")):
        answer = api.post(gcal.cal(EVENTS), json=timed("2030-05-02", "10:00", "11:00",
                                                       attendees=[attendee]))
        assert error_of(answer) == (400, reason)
    many = [{"method": "popup", "minutes": n} for n in range(6)]
    answer = api.post(gcal.cal(EVENTS), json=timed("2030-05-02", "10:00", "11:00", reminders={
        "useDefault": False, "overrides": many}))
    assert error_of(answer) == (400, "tooManyReminders")


def test_if_none_match_with_the_current_etag_is_304(gcal, api):
    created = api.post(gcal.cal(EVENTS), json=timed("2030-05-03", "10:00", "11:00")).json()
    path = gcal.cal(f"{EVENTS}/{created['id']}")
    assert api.get(path, headers={"If-None-Match": created["etag"]}).status_code == 304
    api.patch(path, json={"summary": "変更"})
    assert api.get(path, headers={"If-None-Match": created["etag"]}).status_code == 200


def test_invitees_personal_fields_change_only_their_copy(gcal, api):
    created = gcal.seed_event(SATO, **timed("2030-05-04", "10:00", "11:00",
                                            attendees=[{"email": SUZUKI}]))
    suzuki = gcal.api(SUZUKI)
    path = f"{EVENTS}/{created['id']}"
    mine = suzuki.patch(gcal.cal(path), json={"transparency": "transparent", "reminders": {
        "useDefault": False, "overrides": [{"method": "email", "minutes": 30}]}}).json()
    assert mine["transparency"] == "transparent" and not mine["reminders"]["useDefault"]
    organizer = api.get(gcal.cal(path)).json()
    assert "transparency" not in organizer and organizer["reminders"] == {"useDefault": True}
    gcal.control("PATCH", f"calendars/{SATO}/events/{created['id']}", {"summary": "移動"})
    kept = suzuki.get(gcal.cal(path)).json()
    assert kept["summary"] == "移動" and kept["transparency"] == "transparent"


MEET = {"createRequest": {"requestId": "r-1", "conferenceSolutionKey": {"type": "hangoutsMeet"}}}


def test_conference_removed_dropped_copied_refused_and_failed(gcal, api):
    created = api.post(gcal.cal(EVENTS), params={"conferenceDataVersion": 1}, json=timed(
        "2030-05-05", "10:00", "11:00", conferenceData=MEET)).json()
    path = gcal.cal(f"{EVENTS}/{created['id']}")
    removed = api.patch(path, params={"conferenceDataVersion": 1},
                        json={"conferenceData": None}).json()
    assert "conferenceData" not in removed and "hangoutLink" not in removed
    copied = api.patch(path, params={"conferenceDataVersion": 1}, json={
        "conferenceData": created["conferenceData"]}).json()
    assert copied["hangoutLink"] == created["hangoutLink"]
    dropped = api.put(path, params={"conferenceDataVersion": 1},
                      json=timed("2030-05-05", "10:00", "11:00")).json()
    assert "conferenceData" not in dropped
    refused = api.post(gcal.cal(EVENTS), params={"conferenceDataVersion": 1}, json=timed(
        "2030-05-05", "12:00", "13:00", conferenceData={"createRequest": {
            "requestId": "r-2", "conferenceSolutionKey": {"type": "eventHangout"}}}))
    assert error_of(refused) == (400, "invalid")
    assert error_of(api.post(gcal.cal(EVENTS), params={"conferenceDataVersion": 2},
                             json=timed("2030-05-05", "12:00", "13:00"))) == (400, "invalid")
    gcal.control("POST", "conferences", {"status": "failure"})
    failed = api.post(gcal.cal(EVENTS), params={"conferenceDataVersion": 1}, json=timed(
        "2030-05-05", "14:00", "15:00", conferenceData=MEET)).json()
    assert failed["conferenceData"] == {"createRequest": dict(
        MEET["createRequest"], status={"statusCode": "failure"})}
    assert "hangoutLink" not in failed


def test_watch_request_checks_and_an_earlier_expiration(gcal, api):
    base = {"id": "c1", "type": "web_hook", "address": "https://apo.example/hook"}
    watch = gcal.cal(f"{EVENTS}/watch")
    assert error_of(api.post(watch, json=dict(base, id=""))) == (400, "required")
    assert error_of(api.post(watch, json=dict(base, id="x" * 65))) == (400, "invalid")
    assert error_of(api.post(watch, json=dict(base, type="email"))) == (400, "invalid")
    soon = int(time.time() * 1000) + 120_000
    channel = api.post(watch, json=dict(base, expiration=str(soon))).json()
    assert abs(int(channel["expiration"]) - soon) < 5_000  # asked earlier than the default
    stop = gcal.cal("channels/stop")
    assert error_of(api.post(stop, json={"id": "c1", "resourceId": "wrong"})) == (404,
                                                                                  "notFound")
    other = gcal.api(SUZUKI)
    assert error_of(other.post(stop, json={"id": "c1", "resourceId": channel["resourceId"]})) \
        == (404, "notFound")
    assert api.post(stop, json={"id": "c1", "resourceId": channel["resourceId"]}).status_code \
        == 204
