"""The Graph emulator's fidelity items, over plain HTTP: delta in function form, JSON errors,
attendee status and answers, the create answer's time zone, conditional writes (K10), Teams
meetings (V1, V3), the calendar page, persistence and the demo names.

Sources are in graph_emulator/README.md next to each behaviour.
"""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from graph_emulator import seed
from tests.fixtures_graph import CALLBACK, SATO, SUZUKI, start_graph_emulator

WINDOW = {"startDateTime": "2026-12-01T00:00:00Z", "endDateTime": "2026-12-08T00:00:00Z"}
OUTSIDER = "customer@example.org"


def _body(subject="Apo booking", start="2026-12-01T10:00:00", end="2026-12-01T10:30:00",
          tz="Tokyo Standard Time", **extra):
    return {"subject": subject, "start": {"dateTime": start, "timeZone": tz},
            "end": {"dateTime": end, "timeZone": tz}, **extra}


def _invite(*addresses):
    return [{"emailAddress": {"address": a, "name": a.split("@")[0]}, "type": "required"}
            for a in addresses]


def _view(graph, api, path="me/calendarView"):
    return api.get(graph.url(path), params=WINDOW, timeout=10).json()["value"]


def _drain(api, url, params=None, page_size=2):
    """Every item of a delta round and the deltaLink; the pages walked."""
    items, pages = [], 0
    response = api.get(url, params=params, timeout=10,
                       headers={"Prefer": f"odata.maxpagesize={page_size}"})
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        pages += 1
        items += body["value"]
        assert not ("@odata.nextLink" in body and "@odata.deltaLink" in body)
        if "@odata.deltaLink" in body:
            return items, body["@odata.deltaLink"], pages
        response = api.get(body["@odata.nextLink"], timeout=10,
                           headers={"Prefer": f"odata.maxpagesize={page_size}"})


# ----- item 1: delta in OData function form --------------------------------------------------
@pytest.mark.parametrize("path", ["me/calendarView/delta()", "me/calendar/calendarView/delta()",
                                  "users/{user}/calendarView/delta()",
                                  "me/calendars/{calendar}/calendarView/delta()"])
def test_delta_in_function_form_pages_and_resumes_like_the_path_form(graph, path):
    api = graph.api()
    for hour in (9, 10, 11):
        graph.seed_event(SATO, **_body(subject=f"h{hour}", start=f"2026-12-02T{hour:02d}:00:00",
                                       end=f"2026-12-02T{hour:02d}:30:00"))
    me = api.get(graph.url("me"), timeout=10).json()
    calendar = api.get(graph.url("me/calendar"), timeout=10).json()
    url = graph.url(path.format(user=me["id"], calendar=calendar["id"]))
    items, link, pages = _drain(api, url, WINDOW)
    assert sorted(i["subject"] for i in items) == ["h10", "h11", "h9"] and pages == 2
    graph.seed_event(SATO, **_body(subject="later", start="2026-12-03T09:00:00",
                                   end="2026-12-03T10:00:00"))
    changed, _link, _pages = _drain(api, link)
    assert [i["subject"] for i in changed] == ["later"]


# ----- item 2: every error in Graph's JSON shape ---------------------------------------------
@pytest.mark.parametrize("method,path,status,code", [
    ("GET", "/v1.0/me/nothingHere", 400, "BadRequest"),
    ("GET", "/v1.0/nothingHere", 400, "BadRequest"),
    ("PUT", "/v1.0/me/events/AAMk", 405, "BadRequest"),
    ("GET", "/beta-not-served/me", 404, "ResourceNotFound"),
])
def test_unknown_paths_and_methods_answer_graph_error_json(graph, method, path, status, code):
    api = graph.api()
    response = api.request(method, graph.graph_url + path, timeout=10,
                           headers={"client-request-id": "cid-1"})
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    assert set(error["innerError"]) == {"date", "request-id", "client-request-id"}
    assert error["innerError"]["client-request-id"] == "cid-1"
    assert response.headers["request-id"] == error["innerError"]["request-id"]


def test_unknown_segment_is_named_in_the_message(graph):
    response = graph.api().get(graph.url("me/calendarz"), timeout=10)
    assert response.json()["error"]["message"] == "Resource not found for the segment " \
                                                  "'calendarz'."


# ----- item 3: attendee status ---------------------------------------------------------------
def test_attendees_carry_status_none_until_they_answer_and_organizer_for_the_organizer(graph):
    api = graph.api()
    event = api.post(graph.url("me/events"), json=_body(attendees=_invite(OUTSIDER, SATO)),
                     timeout=10).json()
    statuses = {a["emailAddress"]["address"]: a["status"] for a in event["attendees"]}
    assert statuses == {OUTSIDER: {"response": "none", "time": "0001-01-01T00:00:00Z"},
                        SATO: {"response": "organizer", "time": "0001-01-01T00:00:00Z"}}
    assert event["responseStatus"]["response"] == "organizer" and event["isOrganizer"] is True
    # A client cannot answer for an attendee: a status in the request is ignored.
    forged = _invite(OUTSIDER)
    forged[0]["status"] = {"response": "accepted", "time": "2026-01-01T00:00:00Z"}
    patched = api.patch(graph.url(f"me/events/{event['id']}"), json={"attendees": forged},
                        timeout=10).json()
    assert patched["attendees"][0]["status"]["response"] == "none"


def test_a_bad_attendee_address_is_refused_and_changes_nothing(graph):
    api = graph.api()
    response = api.post(graph.url("me/events"),
                        json=_body(attendees=[{"emailAddress": {"address": "nobody"}}]),
                        timeout=10)
    assert response.status_code == 400
    assert _view(graph, api) == []


# ----- item 9: answers (K9) ------------------------------------------------------------------
def test_K9_invitee_sees_the_meeting_and_accepts_it_through_graph(graph):
    sato, suzuki = graph.api(SATO), graph.api(SUZUKI)
    event = sato.post(graph.url("me/events"), json=_body(attendees=_invite(SUZUKI)),
                      timeout=10).json()
    _items, sato_link, _pages = _drain(sato, graph.url("me/calendarView/delta"), WINDOW)
    [copy] = _view(graph, suzuki)
    assert copy["iCalUId"] == event["iCalUId"] and copy["isOrganizer"] is False
    assert copy["responseStatus"]["response"] == "notResponded"
    assert copy["showAs"] == "tentative"
    assert copy["organizer"]["emailAddress"]["address"] == SATO
    answer = suzuki.post(graph.url(f"me/events/{copy['id']}/accept"),
                         json={"comment": "OK", "sendResponse": True}, timeout=10)
    assert answer.status_code == 202 and answer.content == b""
    [mine] = _view(graph, suzuki)
    assert mine["responseStatus"]["response"] == "accepted" and mine["showAs"] == "busy"
    organizer = sato.get(graph.url(f"me/events/{event['id']}"), timeout=10).json()
    [attendee] = organizer["attendees"]
    assert attendee["status"]["response"] == "accepted"
    assert attendee["status"]["time"] != "0001-01-01T00:00:00Z"
    assert organizer["changeKey"] != event["changeKey"]
    changed, _link, _pages = _drain(sato, sato_link)
    assert [c["attendees"][0]["status"]["response"] for c in changed] == ["accepted"]


def test_K9_a_declined_invitation_stays_but_is_free_and_not_busy_in_get_schedule(graph):
    sato, suzuki = graph.api(SATO), graph.api(SUZUKI)
    sato.post(graph.url("me/events"), json=_body(attendees=_invite(SUZUKI)), timeout=10)
    [copy] = _view(graph, suzuki)

    def schedule():
        return sato.post(graph.url("me/calendar/getSchedule"), json={
            "schedules": [SUZUKI], "availabilityViewInterval": 30,
            "startTime": {"dateTime": "2026-12-01T10:00:00", "timeZone": "Tokyo Standard Time"},
            "endTime": {"dateTime": "2026-12-01T11:00:00", "timeZone": "Tokyo Standard Time"}},
            timeout=10).json()["value"][0]

    unanswered = schedule()
    assert unanswered["availabilityView"] == "10"
    assert unanswered["scheduleItems"] == [{"status": "tentative", "start": {
        "dateTime": "2026-12-01T01:00:00.0000000", "timeZone": "UTC"}, "end": {
        "dateTime": "2026-12-01T01:30:00.0000000", "timeZone": "UTC"}}]
    assert suzuki.post(graph.url(f"me/events/{copy['id']}/decline"), json={},
                       timeout=10).status_code == 202
    [declined] = _view(graph, suzuki)
    assert declined["responseStatus"]["response"] == "declined" and declined["showAs"] == "free"
    assert schedule()["availabilityView"] == "00"


def test_K9_answer_without_send_response_does_not_reach_the_organizer(graph):
    sato, suzuki = graph.api(SATO), graph.api(SUZUKI)
    event = sato.post(graph.url("me/events"), json=_body(attendees=_invite(SUZUKI)),
                      timeout=10).json()
    [copy] = _view(graph, suzuki)
    suzuki.post(graph.url(f"me/events/{copy['id']}/tentativelyAccept"),
                json={"sendResponse": False}, timeout=10)
    assert _view(graph, suzuki)[0]["responseStatus"]["response"] == "tentativelyAccepted"
    organizer = sato.get(graph.url(f"me/events/{event['id']}"), timeout=10).json()
    assert organizer["attendees"][0]["status"]["response"] == "none"
    assert organizer["changeKey"] == event["changeKey"]


def test_organizer_cannot_answer_their_own_meeting(graph):
    api = graph.api()
    event = api.post(graph.url("me/events"), json=_body(), timeout=10).json()
    response = api.post(graph.url(f"me/events/{event['id']}/accept"), json={}, timeout=10)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "ErrorInvalidRequest"


def test_K9_control_api_answers_for_an_outside_attendee_and_for_an_invitee(graph):
    api = graph.api()
    event = api.post(graph.url("me/events"), json=_body(attendees=_invite(OUTSIDER)),
                     timeout=10).json()
    after = graph.control("POST", f"events/{event['id']}/respond",
                          {"attendee": OUTSIDER, "response": "declined"})
    assert after["attendees"][0]["status"]["response"] == "declined"
    assert after["changeKey"] != event["changeKey"]
    # An invitation from outside the tenant, answered by its owner.
    invitation = graph.seed_event(SATO, organizer={"name": "Customer", "address": OUTSIDER},
                                  **_body(subject="their meeting", start="2026-12-02T10:00:00",
                                          end="2026-12-02T11:00:00"))
    assert invitation["isOrganizer"] is False
    assert invitation["responseStatus"]["response"] == "notResponded"
    answered = graph.control("POST", f"events/{invitation['id']}/respond",
                             {"response": "declined"})
    assert answered["responseStatus"]["response"] == "declined"
    with pytest.raises(Exception, match="400"):
        graph.control("POST", f"events/{invitation['id']}/respond", {"response": "maybe"})


def test_organizer_deleting_the_meeting_cancels_the_invitees_copy(graph):
    sato, suzuki = graph.api(SATO), graph.api(SUZUKI)
    event = sato.post(graph.url("me/events"), json=_body(attendees=_invite(SUZUKI)),
                      timeout=10).json()
    assert sato.delete(graph.url(f"me/events/{event['id']}"), timeout=10).status_code == 204
    [copy] = _view(graph, suzuki)
    assert copy["isCancelled"] is True


# ----- item 4: the create answer's time zone -------------------------------------------------
def test_create_answers_in_the_request_zone_without_prefer_and_utc_on_reads(graph):
    api = graph.api()
    created = api.post(graph.url("me/events"), json=_body(
        start="2026-12-01T12:00:00", end="2026-12-01T14:00:00", tz="Pacific Standard Time"),
        timeout=10).json()
    assert created["start"] == {"dateTime": "2026-12-01T12:00:00.0000000",
                                "timeZone": "Pacific Standard Time"}
    assert created["end"]["timeZone"] == "Pacific Standard Time"
    read = api.get(graph.url(f"me/events/{created['id']}"), timeout=10).json()
    assert read["start"] == {"dateTime": "2026-12-01T20:00:00.0000000", "timeZone": "UTC"}
    patched = api.patch(graph.url(f"me/events/{created['id']}"), json={"subject": "x"},
                        timeout=10).json()
    assert patched["start"]["timeZone"] == "UTC"
    preferred = api.post(graph.url("me/events"), json=_body(tz="Pacific Standard Time"),
                         headers={"Prefer": 'outlook.timezone="Tokyo Standard Time"'},
                         timeout=10)
    assert preferred.json()["start"] == {"dateTime": "2026-12-02T03:00:00.0000000",
                                         "timeZone": "Tokyo Standard Time"}
    assert preferred.headers["Preference-Applied"] == 'outlook.timezone="Tokyo Standard Time"'


# ----- K10: conditional writes ---------------------------------------------------------------
def test_K10_stale_if_match_is_412_irresolvable_conflict_and_changes_nothing(graph):
    api = graph.api()
    event = api.post(graph.url("me/events"), json=_body(), timeout=10).json()
    fresh = api.patch(graph.url(f"me/events/{event['id']}"), json={"subject": "v2"},
                      headers={"If-Match": event["@odata.etag"]}, timeout=10)
    assert fresh.status_code == 200 and fresh.json()["changeKey"] != event["changeKey"]
    stale = api.patch(graph.url(f"me/events/{event['id']}"), json={"subject": "v3"},
                      headers={"If-Match": event["@odata.etag"]}, timeout=10)
    assert stale.status_code == 412
    assert stale.json()["error"]["code"] == "ErrorIrresolvableConflict"
    assert api.get(graph.url(f"me/events/{event['id']}"), timeout=10).json()["subject"] == "v2"
    assert api.delete(graph.url(f"me/events/{event['id']}"), timeout=10,
                      headers={"If-Match": event["@odata.etag"]}).status_code == 412
    assert api.delete(graph.url(f"me/events/{event['id']}"), timeout=10,
                      headers={"If-Match": fresh.json()["@odata.etag"]}).status_code == 204


def test_K10_an_answer_or_an_outlook_edit_makes_the_old_etag_stale(graph):
    api = graph.api()
    event = api.post(graph.url("me/events"), json=_body(attendees=_invite(OUTSIDER)),
                     timeout=10).json()
    graph.control("POST", f"events/{event['id']}/respond",
                  {"attendee": OUTSIDER, "response": "accepted"})
    stale = api.patch(graph.url(f"me/events/{event['id']}"), json={"subject": "mine"},
                      headers={"If-Match": event["@odata.etag"]}, timeout=10)
    assert stale.status_code == 412


# ----- V1 / V3: Teams meetings ---------------------------------------------------------------
def test_V1_online_meeting_has_a_join_url_dial_in_and_a_body_block(graph):
    api = graph.api()
    event = api.post(graph.url("me/events"), json=_body(
        isOnlineMeeting=True, onlineMeetingProvider="teamsForBusiness"), timeout=10).json()
    meeting = event["onlineMeeting"]
    assert meeting["joinUrl"].startswith("https://teams.microsoft.com/l/meetup-join/19%3ameeting_")
    assert re.fullmatch(r"\d{9}", meeting["conferenceId"]) and meeting["tollNumber"]
    assert event["isOnlineMeeting"] is True
    assert event["onlineMeetingProvider"] == "teamsForBusiness"
    assert unescape(meeting["joinUrl"]) in unescape(event["body"]["content"])
    assert [m["joinUrl"] for m in graph.control("GET", "meetings")] == [meeting["joinUrl"]]
    refused = api.patch(graph.url(f"me/events/{event['id']}"), json={"isOnlineMeeting": False},
                        timeout=10)
    assert refused.status_code == 400


def test_V1_patch_enables_a_meeting_on_an_existing_event(graph):
    api = graph.api()
    event = api.post(graph.url("me/events"), json=_body(), timeout=10).json()
    assert event["onlineMeeting"] is None and event["isOnlineMeeting"] is False
    patched = api.patch(graph.url(f"me/events/{event['id']}"), json={
        "isOnlineMeeting": True, "onlineMeetingProvider": "teamsForBusiness"},
        timeout=10).json()
    assert patched["onlineMeeting"]["joinUrl"]


def test_V3_retried_create_keeps_one_meeting_and_delete_removes_it(graph):
    api = graph.api()
    body = _body(transactionId="booking-uid-1", isOnlineMeeting=True,
                 onlineMeetingProvider="teamsForBusiness")
    first = api.post(graph.url("me/events"), json=body, timeout=10).json()
    again = api.post(graph.url("me/events"), json=body, timeout=10).json()
    assert again["id"] == first["id"]
    assert again["onlineMeeting"]["joinUrl"] == first["onlineMeeting"]["joinUrl"]
    assert len(graph.control("GET", "meetings")) == 1
    # A reschedule moves the same meeting.
    moved = api.patch(graph.url(f"me/events/{first['id']}"), json={
        "start": {"dateTime": "2026-12-03T10:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-03T11:00:00", "timeZone": "UTC"}}, timeout=10).json()
    assert moved["onlineMeeting"]["joinUrl"] == first["onlineMeeting"]["joinUrl"]
    api.delete(graph.url(f"me/events/{first['id']}"), timeout=10)
    assert graph.control("GET", "meetings") == []


# ----- the calendar page (item 9, K8) ---------------------------------------------------------
def _page_session(graph, user):
    browser = graph.new_session()
    page = browser.get(f"{graph.login_url}/calendar", timeout=10)
    assert 'name="passwd"' in page.text
    signed = browser.post(f"{graph.login_url}/calendar/login", data={
        "login": user, "passwd": seed.DEMO_PASSWORD}, timeout=10)
    assert signed.status_code == 200 and 'id="calendar"' in signed.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', signed.text).group(1)
    return browser, token


def test_K9_a_person_answers_an_invitation_on_the_calendar_page(graph):
    sato = graph.api(SATO)
    event = sato.post(graph.url("me/events"), json=_body(
        start="2026-12-01T10:00:00", end="2026-12-01T11:00:00", attendees=_invite(SUZUKI)),
        timeout=10).json()
    browser, token = _page_session(graph, SUZUKI)
    page = browser.get(f"{graph.login_url}/calendar?from=2026-12-01", timeout=10).text
    copy_id = re.search(r'id="event-([^"]+)" data-response="notResponded"', page).group(1)
    refused = browser.post(f"{graph.login_url}/calendar/events/{copy_id}/respond",
                           data={"response": "accepted"}, timeout=10)
    assert refused.status_code == 403  # no form token
    done = browser.post(f"{graph.login_url}/calendar/events/{copy_id}/respond",
                        data={"response": "accepted", "csrf_token": token}, timeout=10)
    assert done.status_code == 200
    organizer = sato.get(graph.url(f"me/events/{event['id']}"), timeout=10).json()
    assert organizer["attendees"][0]["status"]["response"] == "accepted"


def test_a_person_adds_and_deletes_an_event_on_the_calendar_page(graph):
    api = graph.api(SATO)
    browser, token = _page_session(graph, SATO)
    browser.post(f"{graph.login_url}/calendar/events", data={
        "csrf_token": token, "subject": "歯医者", "day": "2026-12-02", "start": "10:00",
        "end": "11:00", "showAs": "busy"}, timeout=10)
    [event] = _view(graph, api)
    assert event["subject"] == "歯医者"
    assert event["start"]["dateTime"] == "2026-12-02T01:00:00.0000000"  # 10:00 in Tokyo
    browser.post(f"{graph.login_url}/calendar/events/{event['id']}/delete",
                 data={"csrf_token": token}, timeout=10)
    assert _view(graph, api) == []


# ----- item 10: state across restarts --------------------------------------------------------
def test_state_dir_keeps_tokens_events_delta_links_and_subscriptions_across_a_restart(
        tmp_path, webhook):
    server = start_graph_emulator("--seed", "demo", "--state-dir", str(tmp_path))
    try:
        tokens = server.tokens(SATO)
        api = server.api(SATO)
        event = api.post(server.url("me/events"), json=_body(), timeout=10).json()
        _items, link, _pages = _drain(api, server.url("me/calendarView/delta"), WINDOW)
        subscription = api.post(server.url("subscriptions"), json={
            "changeType": "created,updated,deleted", "resource": "me/events",
            "notificationUrl": webhook.url + "/notify", "clientState": "s3cret",
            "expirationDateTime": "2099-01-01T00:00:00Z"}, timeout=10)
        # Far-future expiry is refused (4230 minutes at most): use the tenant's clock.
        assert subscription.status_code == 400
        now = server.control("GET", "clock")["now"]
        expires = _plus_minutes(now, 600)
        subscription = api.post(server.url("subscriptions"), json={
            "changeType": "created,updated,deleted", "resource": "me/events",
            "notificationUrl": webhook.url + "/notify", "clientState": "s3cret",
            "expirationDateTime": expires}, timeout=10).json()
        login_url, graph_url = server.login_url, server.graph_url
    finally:
        server.stop()
    ports = (int(login_url.rsplit(":", 1)[1]), int(graph_url.rsplit(":", 1)[1]))
    again = start_graph_emulator("--seed", "demo", "--state-dir", str(tmp_path), ports=ports)
    try:
        refreshed = again.http.post(f"{again.login_url}/common/oauth2/v2.0/token", data={
            "client_id": seed.DEMO_CLIENT_ID, "client_secret": seed.DEMO_CLIENT_SECRET,
            "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
            timeout=10)
        assert refreshed.status_code == 200, refreshed.text
        api = again.new_session()
        api.headers["Authorization"] = "Bearer " + tokens["access_token"]
        assert api.get(again.url(f"me/events/{event['id']}"), timeout=10).status_code == 200
        unchanged, _link, _pages = _drain(api, link)
        assert unchanged == []
        listed = api.get(again.url("subscriptions"), timeout=10).json()["value"]
        assert [s["id"] for s in listed] == [subscription["id"]]
        api.patch(again.url(f"me/events/{event['id']}"), json={"subject": "moved"}, timeout=10)
        [note] = webhook.wait_for(1)
        assert note["subscriptionId"] == subscription["id"] and note["changeType"] == "updated"
    finally:
        again.stop()


def test_make_run_keeps_the_microsoft_tenant_in_the_instance_directory(tmp_path):
    """Item 10: `make run` (scripts/run_demo.py) starts the emulator on the instance
    directory, so a member's refresh token still works after a restart."""
    from scripts.services import free_port
    from tests.fixtures_demo import Demo

    runner = Demo(str(tmp_path), port=free_port(), environ={})
    callback = runner.base_url + "/calendar/microsoft/callback"
    server = start_graph_emulator(command=runner.graph_emulator_args())
    try:
        url = server.authorize_url(None).replace(
            "redirect_uri=" + quote(CALLBACK, safe=""), "redirect_uri=" + quote(callback, safe=""))
        code = parse_qs(urlsplit(server.authorize(url)).query)["code"][0]
        tokens = server.http.post(f"{server.login_url}/common/oauth2/v2.0/token", data={
            "client_id": seed.DEMO_CLIENT_ID, "client_secret": seed.DEMO_CLIENT_SECRET,
            "grant_type": "authorization_code", "code": code, "redirect_uri": callback},
            timeout=10).json()
    finally:
        server.stop()
    assert (tmp_path / "graph" / "graph-tenant.json").exists()
    again = start_graph_emulator(command=runner.graph_emulator_args())
    try:
        refreshed = again.http.post(f"{again.login_url}/common/oauth2/v2.0/token", data={
            "client_id": seed.DEMO_CLIENT_ID, "client_secret": seed.DEMO_CLIENT_SECRET,
            "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
            timeout=10)
        assert refreshed.status_code == 200, refreshed.text
    finally:
        again.stop()


def _plus_minutes(iso: str, minutes: int) -> str:
    import datetime as dt

    moment = dt.datetime.fromisoformat(iso) + dt.timedelta(minutes=minutes)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ----- item 11: demo names -------------------------------------------------------------------
def test_demo_users_have_the_names_apo_shows_for_the_same_addresses():
    from webapp.services.demo import DEMO_MEMBERS

    emulator = {mail: name for _id, name, mail, _tz in seed.DEMO_USERS}
    for name, mail in DEMO_MEMBERS:
        assert emulator[mail] == name
