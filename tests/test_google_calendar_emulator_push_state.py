"""The Google emulator's push delivery, invitations, web page answers, HTTPS and kept state,
over plain HTTP (the parts google-api-python-client does not see: what reaches a webhook,
what a person does on the calendar page, what survives a restart)."""

from __future__ import annotations

import re
import signal
import ssl
import time
from html import unescape

import pytest
import requests

from tests.fixtures_google_calendar_emulator import PUSH_TEST_HOSTS, start_gcal_emulator
from tests.test_google_calendar_emulator_sdk import Receiver

pytestmark = pytest.mark.timeout(60)
SATO, SUZUKI = "sato@example.com", "suzuki@example.com"
EVENTS = "calendars/primary/events"


def timed(day: str, start: str, end: str, **extra) -> dict:
    return {"summary": extra.pop("summary", "会議"),
            "start": {"dateTime": f"{day}T{start}:00+09:00", "timeZone": "Asia/Tokyo"},
            "end": {"dateTime": f"{day}T{end}:00+09:00", "timeZone": "Asia/Tokyo"}, **extra}


@pytest.fixture
def receiver():
    listening = Receiver()
    yield listening
    listening.close()


def watch(gcal, api, receiver, channel_id="ch", **extra):
    answer = api.post(gcal.cal(f"{EVENTS}/watch"), json={
        "id": channel_id, "type": "web_hook", "address": receiver.url, **extra})
    assert answer.status_code == 200, answer.text
    receiver.wait_for(len(receiver.messages) + 1)  # the "sync" message
    return answer.json()


def states(receiver) -> list[str]:
    return [m["x-goog-resource-state"] for m in receiver.messages]


def invite(gcal, day="2030-04-01", **extra) -> dict:
    """An event on sato's calendar with suzuki invited (so also on suzuki's calendar)."""
    return gcal.seed_event(SATO, **timed(day, "10:00", "11:00",
                                         attendees=[{"email": SUZUKI}], **extra))


# ----- push ------------------------------------------------------------------------------------
def test_K8_changes_from_the_control_api_notify_every_channel_on_that_calendar(gcal, receiver):
    api = gcal.api(SATO)
    watch(gcal, api, receiver, "one")
    watch(gcal, api, receiver, "two")
    other = gcal.api(SUZUKI)
    watch(gcal, other, receiver, "suzuki")
    event = gcal.seed_event(SATO, **timed("2030-04-02", "10:00", "11:00"))
    gcal.control("PATCH", f"calendars/{SATO}/events/{event['id']}", {"summary": "変更"})
    receiver.wait_for(7)
    time.sleep(0.5)
    exists = [m for m in receiver.messages if m["x-goog-resource-state"] == "exists"]
    assert sorted({m["x-goog-channel-id"] for m in exists}) == ["one", "two"]
    numbers = [int(m["x-goog-message-number"]) for m in exists
               if m["x-goog-channel-id"] == "one"]
    assert numbers == sorted(numbers) and numbers[0] > 1  # increasing, after sync's 1
    assert "x-goog-channel-token" not in exists[0]  # no token asked, none sent
    assert exists[0]["user-agent"].startswith("APIs-Google")


def test_K8_an_answer_on_the_calendar_page_notifies_the_organizers_channel(gcal, receiver):
    created = invite(gcal)
    watch(gcal, gcal.api(SATO), receiver)
    browser = signed_in(gcal, SUZUKI)
    page = browser.get(f"{gcal.url}/calendar/r", params={"start": "2030-04-01"})
    answer = browser.post(f"{gcal.url}/calendar/r/respond", data={
        "token": form_token(page.text), "event": created["id"], "response": "tentative"},
        allow_redirects=False)
    assert answer.status_code == 303
    receiver.wait_for(2)
    assert states(receiver) == ["sync", "exists"]


def test_K8_a_failing_address_is_retried_until_it_answers(gcal):
    flaky = Receiver()
    failures = {"left": 2}
    original = flaky.server.RequestHandlerClass.do_POST

    def do_post(handler):
        if failures["left"] > 0:
            failures["left"] -= 1
            handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
            handler.send_response(503)
            handler.end_headers()
            return
        original(handler)

    flaky.server.RequestHandlerClass.do_POST = do_post
    try:
        gcal.api(SATO).post(gcal.cal(f"{EVENTS}/watch"), json={
            "id": "flaky", "type": "web_hook", "address": flaky.url})
        delivered = flaky.wait_for(1, timeout=8)
        assert [m["x-goog-resource-state"] for m in delivered] == ["sync"]
        time.sleep(0.3)  # the delivery log is written once the answer is in
        # Only this channel's entries: an earlier test's closed receiver may still be retried.
        log = [d for d in gcal.control("GET", "push/deliveries") if d["channel"] == "flaky"]
        assert [(d["state"], d["result"]) for d in log] == [("sync", 200)]
    finally:
        flaky.close()


def test_push_http_hosts_are_an_emulator_option_and_https_is_the_rule(gcal):
    api = gcal.api(SATO)
    body = {"id": "c", "type": "web_hook", "address": "http://127.0.0.1:9/hook"}
    assert api.post(gcal.cal(f"{EVENTS}/watch"), json=body).status_code == 200
    gcal.control("POST", "push/settings", {"http_hosts": []})
    refused = api.post(gcal.cal(f"{EVENTS}/watch"), json=dict(body, id="d"))
    assert refused.status_code == 400
    assert refused.json()["error"]["errors"][0]["reason"] == "push.webhookUrlNotHttps"
    https = api.post(gcal.cal(f"{EVENTS}/watch"), json=dict(
        body, id="e", address="https://apo.example/hook"))
    assert https.status_code == 200
    taken = api.post(gcal.cal(f"{EVENTS}/watch"), json=dict(
        body, id="e", address="https://apo.example/hook"))
    assert taken.status_code == 400  # a live channel's id cannot be reused


# ----- invitations -------------------------------------------------------------------------------
def test_invitees_copy_follows_the_organizers_changes_and_removal(gcal):
    created = invite(gcal)
    suzuki = gcal.api(SUZUKI)
    copy = suzuki.get(gcal.cal(f"{EVENTS}/{created['id']}")).json()
    assert copy["iCalUID"] == created["iCalUID"] and copy["reminders"] == {"useDefault": True}
    gcal.control("PATCH", f"calendars/{SATO}/events/{created['id']}", {"summary": "移動"})
    assert suzuki.get(gcal.cal(f"{EVENTS}/{created['id']}")).json()["summary"] == "移動"
    gcal.control("PATCH", f"calendars/{SATO}/events/{created['id']}", {"attendees": []})
    removed = suzuki.get(gcal.cal(f"{EVENTS}/{created['id']}")).json()
    assert removed["status"] == "cancelled"


def test_an_invitee_deleting_the_invitation_declines_it(gcal):
    created = invite(gcal)
    suzuki = gcal.api(SUZUKI)
    assert suzuki.delete(gcal.cal(f"{EVENTS}/{created['id']}")).status_code == 204
    organizer = gcal.api(SATO).get(gcal.cal(f"{EVENTS}/{created['id']}")).json()
    assert organizer["attendees"][0]["responseStatus"] == "declined"
    gcal.control("PATCH", f"calendars/{SATO}/events/{created['id']}", {"summary": "再送"})
    assert suzuki.get(gcal.cal(f"{EVENTS}/{created['id']}")).json()["status"] == "cancelled"


def test_an_answer_to_one_occurrence_of_a_series(gcal):
    series = gcal.seed_event(SATO, **timed("2030-04-01", "10:00", "11:00", attendees=[
        {"email": SUZUKI}], recurrence=["RRULE:FREQ=DAILY;COUNT=3"]))
    second = f"{series['id']}_20300402T010000Z"
    gcal.control("POST", f"calendars/{SUZUKI}/events/{second}/respond",
                 {"attendee": SUZUKI, "response": "declined"})
    items = gcal.api(SUZUKI).get(gcal.cal(EVENTS), params={
        "singleEvents": "true", "timeMin": "2030-04-01T00:00:00Z",
        "timeMax": "2030-04-05T00:00:00Z"}).json()
    answers = {i["id"]: i["attendees"][0]["responseStatus"] for i in items["items"]}
    assert answers == {f"{series['id']}_20300401T010000Z": "needsAction",
                       second: "declined", f"{series['id']}_20300403T010000Z": "needsAction"}


def test_reminders_reject_defaults_with_overrides_and_a_bad_answer(gcal):
    api = gcal.api(SATO)
    both = api.post(gcal.cal(EVENTS), json=timed("2030-04-03", "10:00", "11:00", reminders={
        "useDefault": True, "overrides": [{"method": "popup", "minutes": 5}]}))
    assert both.status_code == 400
    assert both.json()["error"]["errors"][0]["reason"] == (
        "cannotUseDefaultRemindersAndSpecifyOverride")
    created = invite(gcal)
    bad = gcal.http.post(f"{gcal.url}/__emulator__/calendars/{SATO}/events/{created['id']}"
                         "/respond", json={"attendee": SUZUKI, "response": "maybe"})
    assert bad.status_code == 400
    stranger = gcal.http.post(f"{gcal.url}/__emulator__/calendars/{SATO}/events/"
                              f"{created['id']}/respond",
                              json={"attendee": "x@example.org", "response": "accepted"})
    assert stranger.status_code == 404


# ----- the calendar page -------------------------------------------------------------------------
def signed_in(gcal, email: str) -> requests.Session:
    """A browser session on the emulator's sign-in page (the agenda needs it)."""
    client_id, _ = gcal.register_client()
    browser = gcal.new_session()
    gcal.authorize(gcal.authorize_url(client_id), email, session=browser)
    return browser


def form_token(html: str) -> str:
    return re.search(r'name="token" value="([^"]+)"', html).group(1)


def test_invitee_answers_on_the_calendar_page(gcal):
    created = invite(gcal, summary="打ち合わせ")
    browser = signed_in(gcal, SUZUKI)
    page = browser.get(f"{gcal.url}/calendar/r", params={"start": "2030-04-01"})
    row = page.text.split(f'id="event-{created["id"]}"')[1].split("</tr>")[0]
    assert "打ち合わせ" in row and "未回答" in row and "主催者" in unescape(row)
    for answer in ("accepted", "declined"):
        done = browser.post(f"{gcal.url}/calendar/r/respond", data={
            "token": form_token(page.text), "event": created["id"], "response": answer,
            "start": "2030-04-01"})
        assert done.status_code == 200 and done.url.endswith("/calendar/r?start=2030-04-01")
        organizer = gcal.api(SATO).get(gcal.cal(f"{EVENTS}/{created['id']}")).json()
        assert organizer["attendees"][0]["responseStatus"] == answer
    row = done.text.split(f'id="event-{created["id"]}"')[1].split("</tr>")[0]
    assert 'data-answer="declined"' in row


def test_calendar_page_answer_needs_the_sessions_form_token(gcal):
    created = invite(gcal)
    browser = signed_in(gcal, SUZUKI)
    page = browser.get(f"{gcal.url}/calendar/r", params={"start": "2030-04-01"})
    assert form_token(page.text) != "0" * 32
    forged = browser.post(f"{gcal.url}/calendar/r/respond", data={
        "token": "0" * 32, "event": created["id"], "response": "declined"})
    assert forged.status_code == 403
    organizer = gcal.api(SATO).get(gcal.cal(f"{EVENTS}/{created['id']}")).json()
    assert organizer["attendees"][0]["responseStatus"] == "needsAction"


# ----- HTTPS and kept state ----------------------------------------------------------------------
def test_https_emulator_is_verified_against_its_own_certificate(gcal_https):
    session = gcal_https.new_session()
    assert gcal_https.url.startswith("https://127.0.0.1:")
    assert session.get(f"{gcal_https.url}/__emulator__/health").json() == {"ok": True}
    with pytest.raises(requests.exceptions.SSLError):
        session.get(f"{gcal_https.url}/__emulator__/health",
                    verify=ssl.get_default_verify_paths().cafile or
                    "/etc/ssl/certs/ca-certificates.crt")


def test_state_dir_keeps_tokens_events_sync_tokens_and_channels_across_restart(tmp_path,
                                                                                 receiver):
    state = str(tmp_path / "google")
    first = start_gcal_emulator("--state-dir", state, *PUSH_TEST_HOSTS)
    try:
        grant = first.token_for(SATO)
        api = first.api(SATO)
        created = api.post(first.cal(EVENTS), json=timed("2030-04-05", "10:00", "11:00"))\
            .json()
        token = api.get(first.cal(EVENTS)).json()["nextSyncToken"]
        api.post(first.cal(f"{EVENTS}/watch"), json={
            "id": "kept", "type": "web_hook", "address": receiver.url, "token": "t"})
        receiver.wait_for(1)
        port = int(first.url.rsplit(":", 1)[1])
    finally:
        first.process.send_signal(signal.SIGTERM)
        assert first.process.wait(timeout=10) == 0
    second = start_gcal_emulator("--state-dir", state, *PUSH_TEST_HOSTS, port=port)
    try:
        refreshed = second.http.post(f"{second.url}/token", data={
            "grant_type": "refresh_token", "refresh_token": grant["refresh_token"],
            "client_id": grant["client_id"], "client_secret": grant["client_secret"]})
        assert refreshed.status_code == 200, refreshed.text
        again = second.new_session()
        again.headers["Authorization"] = "Bearer " + refreshed.json()["access_token"]
        assert again.get(second.cal(f"{EVENTS}/{created['id']}")).json()["summary"] == "会議"
        assert again.get(second.cal(EVENTS), params={"syncToken": token}).status_code == 200
        second.seed_event(SATO, **timed("2030-04-06", "10:00", "11:00"))
        receiver.wait_for(2)
        assert states(receiver) == ["sync", "exists"]
        assert receiver.messages[1]["x-goog-channel-token"] == "t"
    finally:
        second.stop()
    assert not [p for p in (tmp_path / "google").iterdir() if p.name.startswith(".gcalemu-")]


def test_demo_starts_the_google_emulator_with_its_state_in_the_instance_directory(tmp_path):
    """`make run` restarts keep the demo's Google connections: scripts/run_demo.py gives the
    emulator a state directory inside the instance directory."""
    from scripts.run_demo import Demo

    demo = Demo(str(tmp_path / "instance"), port=6690)
    command = demo.google_command()
    assert command[command.index("--state-dir") + 1] == str(tmp_path / "instance" / "google")
