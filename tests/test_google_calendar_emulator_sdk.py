"""Conformance of the Google emulator through Google's own Python libraries, unmodified:
google-auth-oauthlib signs in with PKCE, google-auth refreshes, google-api-python-client
builds the Calendar v3 service from the discovery document it ships (static_discovery) and
calls the emulator over HTTPS, trusting only the emulator's self-signed certificate.

Each test is one behaviour of google_calendar_emulator/README.md as the library sees it; error
shapes are asserted as the library parses them (HttpError.status_code, .reason,
.error_details)."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import google.auth.transport.requests
import google_auth_httplib2
import httplib2
import pytest
from google_auth_oauthlib.flow import Flow
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from oauthlib.oauth2.rfc6749.errors import InvalidGrantError

from tests.fixtures_google_calendar_emulator import AUTH, CALLBACK

pytestmark = pytest.mark.timeout(60)
SATO, SUZUKI, TANAKA = "sato@example.com", "suzuki@example.com", "tanaka@example.com"
SCOPES = [AUTH + "calendar.events", AUTH + "calendar.readonly"]


def timed(day: str, start: str, end: str, **extra) -> dict:
    return {"summary": extra.pop("summary", "会議"),
            "start": {"dateTime": f"{day}T{start}:00+09:00", "timeZone": "Asia/Tokyo"},
            "end": {"dateTime": f"{day}T{end}:00+09:00", "timeZone": "Asia/Tokyo"}, **extra}


def flow_for(gcal, client: tuple[str, str], scopes=SCOPES) -> Flow:
    config = {"web": {"client_id": client[0], "client_secret": client[1],
                      "auth_uri": f"{gcal.url}/o/oauth2/v2/auth",
                      "token_uri": f"{gcal.url}/token", "redirect_uris": [CALLBACK]}}
    return Flow.from_client_config(config, scopes=scopes, redirect_uri=CALLBACK)


def sign_in(gcal, email: str = SATO, scopes=SCOPES):
    """The whole PKCE sign-in as a web app does it with google-auth-oauthlib."""
    flow = flow_for(gcal, gcal.register_client(), scopes)
    url, _state = flow.authorization_url(access_type="offline", prompt="consent")
    flow.fetch_token(authorization_response=gcal.authorize(url, email),
                     verify=gcal.cert_path)
    return flow.credentials


def service_for(gcal, credentials=None):
    http = httplib2.Http(ca_certs=gcal.cert_path, proxy_info=None)
    if credentials is not None:
        http = google_auth_httplib2.AuthorizedHttp(credentials, http=http)
    return build("calendar", "v3", http=http, static_discovery=True,
                 client_options={"api_endpoint": f"{gcal.url}/calendar/v3/"})


@pytest.fixture
def gcal(gcal_https):
    return gcal_https


@pytest.fixture
def sato(gcal):
    return service_for(gcal, sign_in(gcal, SATO))


@pytest.fixture
def suzuki(gcal):
    return service_for(gcal, sign_in(gcal, SUZUKI))


def reason_of(error: HttpError) -> str:
    return error.error_details[0]["reason"]


class Receiver:
    """A webhook receiver on loopback recording each notification's headers."""

    def __init__(self):
        self.messages: list[dict] = []
        self.arrived = threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with outer.arrived:
                    outer.messages.append({k.lower(): v for k, v in self.headers.items()}
                                          | {"body": body, "at": time.monotonic()})
                    outer.arrived.notify_all()
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/notifications"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        with self.arrived:
            while len(self.messages) < count and time.monotonic() < deadline:
                self.arrived.wait(deadline - time.monotonic())
            return list(self.messages)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    listening = Receiver()
    yield listening
    listening.close()


# ----- OAuth ---------------------------------------------------------------------------------
def test_oauth_pkce_sign_in_and_refresh_with_google_auth(gcal):
    flow = flow_for(gcal, gcal.register_client())
    url, state = flow.authorization_url(access_type="offline", prompt="consent")
    assert "code_challenge_method=S256" in url and "code_challenge=" in url
    location = gcal.authorize(url, SATO)
    assert f"state={state}" in location
    flow.fetch_token(authorization_response=location, verify=gcal.cert_path)
    credentials = flow.credentials
    assert credentials.token.startswith("ya29.") and credentials.refresh_token
    first = credentials.token
    credentials.refresh(google.auth.transport.requests.Request(gcal.new_session()))
    assert credentials.token != first and credentials.valid


def test_oauth_wrong_code_verifier_is_refused_as_invalid_grant(gcal):
    flow = flow_for(gcal, gcal.register_client())
    url, _ = flow.authorization_url(access_type="offline", prompt="consent")
    location = gcal.authorize(url, SATO)
    flow.code_verifier = "x" * 64  # not the verifier the challenge was made from
    with pytest.raises(InvalidGrantError, match="Invalid code verifier"):
        flow.fetch_token(authorization_response=location, verify=gcal.cert_path)


def test_expired_access_token_is_refreshed_by_the_library_on_401(gcal, sato):
    before = sato._http.credentials.token
    gcal.control("POST", "clock", {"advance_seconds": 3600})
    items = sato.calendarList().list().execute()["items"]
    assert SATO in [i["id"] for i in items]
    assert sato._http.credentials.token != before


# ----- events --------------------------------------------------------------------------------
def test_insert_get_list_patch_update_delete(gcal, sato):
    created = sato.events().insert(calendarId="primary",
                                   body=timed("2030-03-04", "10:00", "11:00")).execute()
    got = sato.events().get(calendarId="primary", eventId=created["id"]).execute()
    assert got["etag"] == created["etag"] and got["summary"] == "会議"
    listed = sato.events().list(calendarId="primary", singleEvents=True,
                                timeMin="2030-03-04T00:00:00Z",
                                timeMax="2030-03-05T00:00:00Z").execute()
    assert [i["id"] for i in listed["items"]] == [created["id"]]
    patched = sato.events().patch(calendarId="primary", eventId=created["id"],
                                  body={"location": "会議室A"}).execute()
    assert patched["location"] == "会議室A" and patched["summary"] == "会議"
    assert patched["etag"] != created["etag"] and patched["updated"] >= created["updated"]
    updated = sato.events().update(calendarId="primary", eventId=created["id"],
                                   body=timed("2030-03-04", "13:00", "14:00",
                                              summary="移動")).execute()
    assert updated["summary"] == "移動" and "location" not in updated  # a full replacement
    assert updated["sequence"] == 1  # the time moved
    sato.events().delete(calendarId="primary", eventId=created["id"]).execute()
    gone = sato.events().get(calendarId="primary", eventId=created["id"]).execute()
    assert gone["status"] == "cancelled"
    with pytest.raises(HttpError) as again:
        sato.events().delete(calendarId="primary", eventId=created["id"]).execute()
    assert again.value.status_code == 410 and reason_of(again.value) == "deleted"


def test_incremental_sync_with_paging_and_the_expired_token_path(gcal, sato):
    for hour in range(9, 14):
        sato.events().insert(calendarId="primary", body=timed(
            "2030-03-05", f"{hour:02d}:00", f"{hour:02d}:30", summary=f"予定{hour}")).execute()
    request = sato.events().list(calendarId="primary", maxResults=2, singleEvents=True)
    pages, items = [], []
    while request is not None:
        pages.append(request.execute())
        items += pages[-1]["items"]
        request = sato.events().list_next(request, pages[-1])
    assert len(pages) == 3 and len(items) == 5
    assert ["nextSyncToken" in p for p in pages] == [False, False, True]
    previous = pages[-1]
    moved = sato.events().patch(calendarId="primary", eventId=items[0]["id"],
                                body={"summary": "変更"}).execute()
    sato.events().delete(calendarId="primary", eventId=items[1]["id"]).execute()
    changes = sato.events().list(calendarId="primary", singleEvents=True,
                                 syncToken=previous["nextSyncToken"]).execute()
    by_id = {i["id"]: i for i in changes["items"]}
    assert set(by_id) == {moved["id"], items[1]["id"]}
    assert by_id[items[1]["id"]]["status"] == "cancelled" and changes["nextSyncToken"]
    gcal.control("POST", "sync-tokens/expire", {})
    with pytest.raises(HttpError) as expired:
        sato.events().list(calendarId="primary", singleEvents=True,
                           syncToken=changes["nextSyncToken"]).execute()
    assert expired.value.status_code == 410 and reason_of(expired.value) == "fullSyncRequired"


def test_free_busy_for_one_slot_window_with_errors_per_calendar(gcal, sato):
    """K7's live check: one slot's window, several calendars, each answered or in error."""
    gcal.seed_event(SUZUKI, **timed("2030-03-06", "10:30", "11:30"))
    gcal.seed_event(SATO, **timed("2030-03-06", "09:00", "10:15"))
    gcal.control("POST", "freebusy-errors", {"calendar": TANAKA, "reason": "internalError"})
    answer = sato.freebusy().query(body={
        "timeMin": "2030-03-06T01:00:00Z", "timeMax": "2030-03-06T02:00:00Z",
        "items": [{"id": "primary"}, {"id": SUZUKI}, {"id": TANAKA},
                  {"id": "nobody@example.com"}]}).execute()
    calendars = answer["calendars"]
    assert answer["timeMin"] == "2030-03-06T01:00:00Z"
    assert calendars["primary"]["busy"] == [{"start": "2030-03-06T01:00:00Z",
                                             "end": "2030-03-06T01:15:00Z"}]
    assert calendars[SUZUKI]["busy"] == [{"start": "2030-03-06T01:30:00Z",
                                          "end": "2030-03-06T02:00:00Z"}]
    assert calendars[TANAKA] == {"errors": [{"domain": "global", "reason": "internalError"}],
                                 "busy": []}
    assert calendars["nobody@example.com"]["errors"][0]["reason"] == "notFound"
    again = sato.freebusy().query(body={"timeMin": "2030-03-06T01:00:00Z",
                                        "timeMax": "2030-03-06T02:00:00Z",
                                        "items": [{"id": TANAKA}]}).execute()
    assert again["calendars"][TANAKA] == {"busy": []}  # the injected error was used once


# ----- attendees and answers ------------------------------------------------------------------
def test_attendees_organizer_creator_and_reminders_as_google_returns_them(gcal, sato):
    created = sato.events().insert(calendarId="primary", body=timed(
        "2030-03-07", "10:00", "11:00", attendees=[{"email": SUZUKI},
                                                   {"email": "guest@example.org"},
                                                   {"email": SATO}])).execute()
    assert created["organizer"] == {"email": SATO, "self": True}
    assert created["creator"] == {"email": SATO, "self": True}
    assert created["reminders"] == {"useDefault": True}
    by_email = {a["email"]: a for a in created["attendees"]}
    assert by_email[SUZUKI] == {"email": SUZUKI, "responseStatus": "needsAction"}
    assert by_email[SATO]["self"] is True and by_email[SATO]["organizer"] is True
    own = sato.events().insert(calendarId="primary", body=timed(
        "2030-03-07", "12:00", "13:00", reminders={
            "useDefault": False, "overrides": [{"method": "popup", "minutes": 15}]})).execute()
    assert own["reminders"] == {"useDefault": False,
                                "overrides": [{"method": "popup", "minutes": 15}]}


def test_invitee_answers_through_the_api_and_the_organizer_sees_it(gcal, sato, suzuki):
    created = sato.events().insert(calendarId="primary", body=timed(
        "2030-03-08", "10:00", "11:00", attendees=[{"email": SUZUKI}])).execute()
    first = sato.events().list(calendarId="primary", singleEvents=True).execute()
    invitation = suzuki.events().get(calendarId="primary", eventId=created["id"]).execute()
    assert invitation["organizer"] == {"email": SATO}
    mine = [a for a in invitation["attendees"] if a.get("self")]
    assert mine == [{"email": SUZUKI, "self": True, "responseStatus": "needsAction"}]
    with pytest.raises(HttpError) as shared:
        suzuki.events().patch(calendarId="primary", eventId=created["id"],
                              body={"summary": "勝手に変更"}).execute()
    assert shared.value.status_code == 403
    assert reason_of(shared.value) == "forbiddenForNonOrganizer"
    mine[0]["responseStatus"] = "declined"
    suzuki.events().patch(calendarId="primary", eventId=created["id"],
                          body={"attendees": invitation["attendees"]}).execute()
    seen = sato.events().get(calendarId="primary", eventId=created["id"]).execute()
    assert [a["responseStatus"] for a in seen["attendees"]] == ["declined"]
    assert seen["etag"] != created["etag"] and seen["updated"] >= created["updated"]
    changes = sato.events().list(calendarId="primary", singleEvents=True,
                                 syncToken=first["nextSyncToken"]).execute()
    assert [i["attendees"][0]["responseStatus"] for i in changes["items"]] == ["declined"]
    busy = suzuki.freebusy().query(body={"timeMin": "2030-03-08T00:00:00Z",
                                         "timeMax": "2030-03-09T00:00:00Z",
                                         "items": [{"id": SUZUKI}]}).execute()
    assert busy["calendars"][SUZUKI]["busy"] == []  # a declined invitation leaves time free


@pytest.mark.parametrize("answer", ["accepted", "declined", "tentative"])
def test_control_api_answer_reaches_both_calendars(gcal, sato, suzuki, answer):
    created = sato.events().insert(calendarId="primary", body=timed(
        "2030-03-09", "10:00", "11:00", attendees=[{"email": SUZUKI}])).execute()
    gcal.control("POST", f"calendars/{SUZUKI}/events/{created['id']}/respond",
                 {"attendee": SUZUKI, "response": answer})
    for service in (sato, suzuki):
        event = service.events().get(calendarId="primary", eventId=created["id"]).execute()
        assert event["attendees"][0]["responseStatus"] == answer


# ----- push notifications ----------------------------------------------------------------------
def test_watch_channel_sends_sync_then_exists_and_stops(gcal, sato, receiver):
    """K8: a channel's messages reach the address within a second of the change."""
    channel = sato.events().watch(calendarId="primary", body={
        "id": "apo-channel-1", "type": "web_hook", "address": receiver.url,
        "token": "secret-token", "params": {"ttl": "3600"}}).execute()
    assert channel["kind"] == "api#channel" and channel["id"] == "apo-channel-1"
    assert channel["resourceId"] and channel["resourceUri"] and channel["token"] == (
        "secret-token")
    assert int(channel["expiration"]) > time.time() * 1000 + 3500 * 1000
    sync = receiver.wait_for(1)[0]
    assert sync["x-goog-resource-state"] == "sync" and sync["x-goog-message-number"] == "1"
    assert sync["x-goog-channel-id"] == "apo-channel-1"
    assert sync["x-goog-channel-token"] == "secret-token"
    assert sync["x-goog-resource-id"] == channel["resourceId"]
    assert sync["x-goog-resource-uri"] == channel["resourceUri"]
    assert sync["x-goog-channel-expiration"].endswith(" GMT") and sync["body"] == b""
    changed_at = time.monotonic()
    sato.events().insert(calendarId="primary", body=timed("2030-03-10", "10:00", "11:00"))\
        .execute()
    exists = receiver.wait_for(2)[1]
    assert exists["x-goog-resource-state"] == "exists"
    assert exists["at"] - changed_at < 1.0
    assert int(exists["x-goog-message-number"]) > 1
    sato.channels().stop(body={"id": channel["id"], "resourceId": channel["resourceId"]})\
        .execute()
    sato.events().insert(calendarId="primary", body=timed("2030-03-10", "12:00", "13:00"))\
        .execute()
    time.sleep(1.0)
    assert len(receiver.messages) == 2
    with pytest.raises(HttpError) as stopped:
        sato.channels().stop(body={"id": channel["id"],
                                   "resourceId": channel["resourceId"]}).execute()
    assert stopped.value.status_code == 404


def test_watch_refuses_plain_http_to_other_hosts(gcal, sato):
    with pytest.raises(HttpError) as refused:
        sato.events().watch(calendarId="primary", body={
            "id": "c2", "type": "web_hook", "address": "http://apo.example/hook"}).execute()
    assert refused.value.status_code == 400
    assert reason_of(refused.value) == "push.webhookUrlNotHttps"


def test_channel_expires_by_the_emulators_clock(gcal, sato, receiver):
    sato.events().watch(calendarId="primary", body={
        "id": "short", "type": "web_hook", "address": receiver.url,
        "params": {"ttl": "60"}}).execute()
    receiver.wait_for(1)
    gcal.control("POST", "clock", {"advance_seconds": 61})
    sato.events().insert(calendarId="primary", body=timed("2030-03-11", "10:00", "11:00"))\
        .execute()
    time.sleep(1.0)
    assert [m["x-goog-resource-state"] for m in receiver.messages] == ["sync"]
    listed = {c["id"]: c for c in gcal.control("GET", "channels")}
    assert listed["short"]["expired"] is True and listed["short"]["live"] is False


# ----- conditional writes ----------------------------------------------------------------------
def test_if_match_with_a_stale_etag_is_412_condition_not_met(gcal, sato):
    """K10: Apo's update carries the etag it read; a member's change in between wins."""
    created = sato.events().insert(calendarId="primary",
                                   body=timed("2030-03-12", "10:00", "11:00")).execute()
    gcal.control("PATCH", f"calendars/{SATO}/events/{created['id']}",
                 {"description": "メンバーのメモ"})
    stale = sato.events().patch(calendarId="primary", eventId=created["id"],
                                body={"summary": "Apo"})
    stale.headers["If-Match"] = created["etag"]
    with pytest.raises(HttpError) as conflict:
        stale.execute()
    assert conflict.value.status_code == 412 and reason_of(conflict.value) == "conditionNotMet"
    assert conflict.value.error_details[0]["location"] == "If-Match"
    fresh = sato.events().get(calendarId="primary", eventId=created["id"]).execute()
    retry = sato.events().patch(calendarId="primary", eventId=created["id"],
                                body={"summary": "Apo"})
    retry.headers["If-Match"] = fresh["etag"]
    done = retry.execute()
    assert done["summary"] == "Apo" and done["description"] == "メンバーのメモ"
    gone = sato.events().delete(calendarId="primary", eventId=created["id"])
    gone.headers["If-Match"] = fresh["etag"]
    with pytest.raises(HttpError) as delete_conflict:
        gone.execute()
    assert delete_conflict.value.status_code == 412


# ----- conference data ---------------------------------------------------------------------------
MEET = {"createRequest": {"requestId": "booking-uid-1",
                          "conferenceSolutionKey": {"type": "hangoutsMeet"}}}


def test_meet_conference_is_created_once_per_request_id_and_survives_a_move(gcal, sato):
    """V1/V3: the host's event gets a Meet link; a retry with the same requestId and a
    reschedule keep the same meeting."""
    created = sato.events().insert(calendarId="primary", conferenceDataVersion=1, body=timed(
        "2030-03-13", "10:00", "11:00", conferenceData=MEET)).execute()
    data = created["conferenceData"]
    code = data["conferenceId"]
    assert created["hangoutLink"] == f"https://meet.google.com/{code}"
    assert data["createRequest"]["status"] == {"statusCode": "success"}
    assert data["createRequest"]["requestId"] == "booking-uid-1"
    assert data["conferenceSolution"]["key"] == {"type": "hangoutsMeet"}
    kinds = {e["entryPointType"]: e for e in data["entryPoints"]}
    assert kinds["video"]["uri"] == created["hangoutLink"]
    assert kinds["phone"]["uri"].startswith("tel:") and kinds["phone"]["pin"]
    again = sato.events().patch(calendarId="primary", eventId=created["id"],
                                conferenceDataVersion=1,
                                body={"conferenceData": MEET}).execute()
    assert again["conferenceData"]["conferenceId"] == code
    moved = sato.events().patch(calendarId="primary", eventId=created["id"],
                                conferenceDataVersion=1,
                                body={"start": timed("2030-03-14", "10:00", "11:00")["start"],
                                      "end": timed("2030-03-14", "10:00", "11:00")["end"]})\
        .execute()
    assert moved["hangoutLink"] == created["hangoutLink"]
    other = {"createRequest": dict(MEET["createRequest"], requestId="booking-uid-2")}
    renewed = sato.events().patch(calendarId="primary", eventId=created["id"],
                                  conferenceDataVersion=1,
                                  body={"conferenceData": other}).execute()
    assert renewed["conferenceData"]["conferenceId"] != code


def test_conference_data_is_ignored_without_conference_data_version_1(gcal, sato):
    created = sato.events().insert(calendarId="primary", body=timed(
        "2030-03-15", "10:00", "11:00", conferenceData=MEET)).execute()
    assert "conferenceData" not in created and "hangoutLink" not in created
    with_meet = sato.events().insert(calendarId="primary", conferenceDataVersion=1, body=timed(
        "2030-03-15", "12:00", "13:00", conferenceData=MEET)).execute()
    other = {"createRequest": dict(MEET["createRequest"], requestId="another")}
    kept = sato.events().patch(calendarId="primary", eventId=with_meet["id"],
                               body={"conferenceData": other}).execute()
    assert kept["conferenceData"] == with_meet["conferenceData"]


def test_pending_conference_becomes_success_when_the_clock_passes(gcal, sato):
    gcal.control("POST", "conferences", {"status": "pending", "resolve_after_seconds": 30})
    created = sato.events().insert(calendarId="primary", conferenceDataVersion=1, body=timed(
        "2030-03-16", "10:00", "11:00", conferenceData=MEET)).execute()
    assert created["conferenceData"]["createRequest"]["status"] == {"statusCode": "pending"}
    assert "hangoutLink" not in created and "entryPoints" not in created["conferenceData"]
    gcal.control("POST", "clock", {"advance_seconds": 31})
    done = sato.events().get(calendarId="primary", eventId=created["id"]).execute()
    assert done["conferenceData"]["createRequest"]["status"] == {"statusCode": "success"}
    assert done["hangoutLink"].startswith("https://meet.google.com/")
    assert done["etag"] != created["etag"]


# ----- error shapes ------------------------------------------------------------------------------
def test_error_shapes_as_the_library_parses_them(gcal, sato):
    anonymous = service_for(gcal)
    with pytest.raises(HttpError) as missing:
        anonymous.events().list(calendarId="primary").execute()
    assert missing.value.status_code == 401 and reason_of(missing.value) == "required"
    assert missing.value.reason.startswith("Request is missing required authentication")
    narrow = service_for(gcal, sign_in(gcal, SATO, [AUTH + "calendar.freebusy"]))
    with pytest.raises(HttpError) as scope:
        narrow.events().list(calendarId="primary").execute()
    assert scope.value.status_code == 403
    assert scope.value.reason == "Request had insufficient authentication scopes."
    assert reason_of(scope.value) == "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
    with pytest.raises(HttpError) as missing_event:
        sato.events().get(calendarId="primary", eventId="nosuchevent0").execute()
    assert missing_event.value.status_code == 404 and reason_of(missing_event.value) == (
        "notFound")
    with pytest.raises(HttpError) as empty_range:
        sato.events().list(calendarId="primary", timeMin="2030-01-02T00:00:00Z",
                           timeMax="2030-01-01T00:00:00Z").execute()
    assert empty_range.value.status_code == 400
    assert reason_of(empty_range.value) == "timeRangeEmpty"
