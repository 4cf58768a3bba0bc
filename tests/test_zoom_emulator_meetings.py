"""The Zoom emulator's Meetings API v2, errors, faults and pages, over real HTTP against the
running process (plain requests; see zoom_emulator/README.md for the sources)."""

from __future__ import annotations

import re

import pytest
import requests

from tests.fixtures_zoom import SATO, SUZUKI
from zoom_emulator.seed import USERS

SATO_ID = USERS[0][0]
TAG = "apo-booking-42@apo.test"


def meeting(**extra) -> dict:
    body = {"topic": "Apo: 山田 太郎 様", "type": 2, "start_time": "2030-06-05T01:00:00Z",
            "duration": 30, "timezone": "Asia/Tokyo",
            "agenda": f"山田 太郎 様とのミーティング\n[{TAG}]"}
    body.update(extra)
    return body


@pytest.fixture
def sato(zoom):
    return zoom.api(SATO)


def create(zoom, api, path="users/me/meetings", **extra) -> dict:
    response = api.post(zoom.v2(path), json=meeting(**extra), timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


def test_create_answers_every_field_zoom_documents(zoom, sato):
    body = create(zoom, sato)
    assert isinstance(body["id"], int) and len(str(body["id"])) == 11
    assert isinstance(body["uuid"], str) and body["uuid"].endswith("==")
    assert body["host_id"] == SATO_ID and body["host_email"] == SATO
    assert (body["topic"], body["type"], body["start_time"], body["duration"],
            body["timezone"]) == ("Apo: 山田 太郎 様", 2, "2030-06-05T01:00:00Z", 30, "Asia/Tokyo")
    assert body["agenda"] == f"山田 太郎 様とのミーティング\n[{TAG}]"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["created_at"])
    assert re.fullmatch(r"[A-Za-z0-9@\-_*]{1,10}", body["password"])
    assert re.fullmatch(r"\d{6}", body["pstn_password"])
    assert re.fullmatch(r"\d{6}", body["h323_password"])
    assert body["join_url"] == (f"{zoom.url}/j/{body['id']}?pwd="
                                f"{body['encrypted_password']}")
    assert body["start_url"].startswith(f"{zoom.url}/s/{body['id']}?zak=")
    numbers = body["settings"]["global_dial_in_numbers"]
    assert numbers and {"country", "country_name", "city", "number", "type"} <= set(numbers[0])
    assert "JP" in body["settings"]["global_dial_in_countries"]
    assert zoom.http.get(body["join_url"], timeout=10).status_code == 200  # the room page


def test_the_host_can_be_named_by_me_its_id_or_its_email_but_not_another_user(zoom, sato):
    for path in ("users/me/meetings", f"users/{SATO_ID}/meetings", f"users/{SATO}/meetings"):
        assert create(zoom, sato, path)["host_email"] == SATO
    other = sato.post(zoom.v2(f"users/{SUZUKI}/meetings"), json=meeting(), timeout=10)
    assert other.status_code == 404
    assert other.json() == {"code": 1001, "message": f"User does not exist: {SUZUKI}."}


def test_a_local_start_time_is_read_in_the_meetings_time_zone_and_answered_in_gmt(zoom, sato):
    body = create(zoom, sato, start_time="2030-06-05T10:00:00", timezone="Asia/Tokyo")
    assert body["start_time"] == "2030-06-05T01:00:00Z" and body["timezone"] == "Asia/Tokyo"
    body = create(zoom, sato, start_time="2030-11-03T09:00:00", timezone="America/New_York")
    assert body["start_time"] == "2030-11-03T14:00:00Z"  # EST, the day DST ended
    no_zone = {k: v for k, v in meeting(start_time="2030-06-05T10:00:00").items()
               if k != "timezone"}
    answer = sato.post(zoom.v2("users/me/meetings"), json=no_zone, timeout=10).json()
    assert answer["timezone"] == "Asia/Tokyo" and answer["start_time"] == "2030-06-05T01:00:00Z"


def test_get_returns_the_meeting_with_its_agenda_as_written(zoom, sato):
    body = create(zoom, sato)
    got = sato.get(zoom.v2(f"meetings/{body['id']}"), timeout=10)
    assert got.status_code == 200
    assert got.json() == body


@pytest.mark.parametrize(("meeting_id", "status", "expected"), [
    ("81234567890", 404, {"code": 3001, "message": "Meeting does not exist: 81234567890."}),
    ("abc", 400, {"code": 300, "message": "Invalid meeting id."}),
])
def test_unknown_meeting_answers_zoom_error_codes(zoom, sato, meeting_id, status, expected):
    for method in ("GET", "PATCH", "DELETE"):
        answer = sato.request(method, zoom.v2(f"meetings/{meeting_id}"), json={}, timeout=10)
        assert (answer.status_code, answer.json()) == (status, expected)


def test_another_users_meeting_is_not_found_for_this_user(zoom, sato):
    body = create(zoom, sato)
    suzuki = zoom.api(SUZUKI)
    assert suzuki.get(zoom.v2(f"meetings/{body['id']}"), timeout=10).json()["code"] == 3001
    assert suzuki.delete(zoom.v2(f"meetings/{body['id']}"), timeout=10).status_code == 404
    assert sato.get(zoom.v2(f"meetings/{body['id']}"), timeout=10).status_code == 200


def test_patch_answers_204_moves_the_meeting_and_keeps_the_join_link(zoom, sato):
    body = create(zoom, sato)
    answer = sato.patch(zoom.v2(f"meetings/{body['id']}"), timeout=10, json={
        "start_time": "2030-06-06T15:00:00", "timezone": "Asia/Tokyo", "duration": 45,
        "settings": {"waiting_room": False}})
    assert answer.status_code == 204 and answer.content == b""
    got = sato.get(zoom.v2(f"meetings/{body['id']}"), timeout=10).json()
    assert (got["start_time"], got["duration"]) == ("2030-06-06T06:00:00Z", 45)
    assert got["settings"]["waiting_room"] is False
    assert got["settings"]["host_video"] == body["settings"]["host_video"]  # merged, not replaced
    assert (got["join_url"], got["password"], got["agenda"]) == (
        body["join_url"], body["password"], body["agenda"])


def test_an_invalid_patch_answers_validation_failed_and_changes_nothing(zoom, sato):
    body = create(zoom, sato)
    answer = sato.patch(zoom.v2(f"meetings/{body['id']}"), timeout=10,
                        json={"topic": "新しい", "duration": -5})
    assert answer.status_code == 400
    assert answer.json() == {"code": 300, "message": "Validation Failed.",
                             "errors": [{"field": "duration", "message": "Invalid field."}]}
    assert sato.get(zoom.v2(f"meetings/{body['id']}"), timeout=10).json() == body


def test_delete_answers_204_and_the_meeting_is_gone_from_get_and_list(zoom, sato):
    body = create(zoom, sato)
    answer = sato.delete(zoom.v2(f"meetings/{body['id']}"), timeout=10)
    assert answer.status_code == 204 and answer.content == b""
    assert sato.get(zoom.v2(f"meetings/{body['id']}"), timeout=10).json()["code"] == 3001
    assert sato.delete(zoom.v2(f"meetings/{body['id']}"), timeout=10).status_code == 404
    assert sato.get(zoom.v2("users/me/meetings"), timeout=10).json()["meetings"] == []
    assert [(m["id"], m["deleted"]) for m in zoom.meetings()] == [(body["id"], True)]


@pytest.mark.parametrize(("change", "field"), [
    ({"topic": "x" * 201}, "topic"),
    ({"agenda": "x" * 2001}, "agenda"),
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"start_time": "next tuesday"}, "start_time"),
    ({"start_time": None}, "start_time"),
    ({"password": "has space"}, "password"),
    ({"password": "elevenchars"}, "password"),
    ({"type": 8}, "type"),
    ({"duration": "30"}, "duration"),
])
def test_create_validation_names_the_field_and_creates_nothing(zoom, sato, change, field):
    body = {k: v for k, v in meeting(**change).items() if v is not None}
    answer = sato.post(zoom.v2("users/me/meetings"), json=body, timeout=10)
    assert answer.status_code == 400
    assert answer.json()["code"] == 300 and answer.json()["message"] == "Validation Failed."
    assert [e["field"] for e in answer.json()["errors"]] == [field]
    assert zoom.meetings() == []


def test_a_body_that_is_not_a_json_object_is_refused(zoom, sato):
    for data in (b"", b"not json", b"[1, 2]"):
        answer = sato.post(zoom.v2("users/me/meetings"), data=data, timeout=10,
                           headers={"Content-Type": "application/json"})
        assert answer.status_code == 400
        assert answer.json() == {"code": 300,
                                 "message": "Request Body should be a valid JSON object."}


def test_calls_without_a_valid_bearer_token_answer_code_124(zoom):
    for headers in ({}, {"Authorization": "Bearer nonsense"}, {"Authorization": "Basic eDp5"}):
        answer = zoom.http.get(zoom.v2("users/me/meetings"), headers=headers, timeout=10)
        assert answer.status_code == 401
        assert answer.json() == {"code": 124, "message": "Invalid access token."}


def test_a_token_without_the_scope_is_refused_with_4711(zoom):
    client = zoom.register_app(scopes="meeting:read:meeting user:read:user")
    api = zoom.api(access_token=zoom.tokens(SATO, client)["access_token"])
    answer = api.post(zoom.v2("users/me/meetings"), json=meeting(), timeout=10)
    assert answer.status_code == 400 and answer.json()["code"] == 4711
    assert "does not contain scopes" in answer.json()["message"]
    assert zoom.meetings() == []


def test_list_pages_with_next_page_token_in_start_order_with_agendas(zoom, sato):
    starts = ["2030-06-05T03:00:00Z", "2030-06-05T01:00:00Z", "2030-06-07T01:00:00Z",
              "2030-06-06T01:00:00Z", "2030-06-05T02:00:00Z"]
    made = [create(zoom, sato, start_time=s, agenda=f"#{n} [{TAG}]") for n, s in
            enumerate(starts)]
    create(zoom, zoom.api(SUZUKI))  # another host's meeting is never listed
    seen, token, pages = [], "", 0
    while True:
        params = {"page_size": 2, "next_page_token": token} if token else {"page_size": 2}
        page = sato.get(zoom.v2("users/me/meetings"), params=params, timeout=10).json()
        pages += 1
        assert page["page_size"] == 2 and page["total_records"] == 5
        seen.extend(page["meetings"])
        token = page["next_page_token"]
        if not token:
            break
    assert pages == 3
    assert [m["start_time"] for m in seen] == sorted(starts)
    by_id = {m["id"]: m for m in made}
    for item in seen:
        assert set(item) == {"uuid", "id", "host_id", "topic", "type", "start_time",
                             "duration", "timezone", "agenda", "created_at", "join_url"}
        assert item["agenda"] == by_id[item["id"]]["agenda"]
        assert item["join_url"] == by_id[item["id"]]["join_url"]


def test_list_default_page_size_upcoming_and_previous(zoom, sato):
    create(zoom, sato, start_time="2020-01-06T01:00:00Z", topic="past")
    create(zoom, sato, start_time="2040-01-06T01:00:00Z", topic="future")
    def topics(kind):
        answer = sato.get(zoom.v2("users/me/meetings"), params={"type": kind}, timeout=10)
        assert answer.json()["page_size"] == 30
        return [m["topic"] for m in answer.json()["meetings"]]
    assert topics("scheduled") == ["past", "future"]
    assert topics("upcoming") == ["future"]
    assert topics("previous_meetings") == ["past"]
    assert topics("live") == []


@pytest.mark.parametrize("params", [{"next_page_token": "made-up"}, {"page_size": "x"},
                                    {"type": "someday"}])
def test_list_refuses_bad_paging_and_types(zoom, sato, params):
    answer = sato.get(zoom.v2("users/me/meetings"), params=params, timeout=10)
    assert answer.status_code == 400 and answer.json()["code"] == 300


def test_next_page_token_expires_after_fifteen_minutes(zoom, sato):
    for n in range(3):
        create(zoom, sato, topic=f"m{n}")
    token = sato.get(zoom.v2("users/me/meetings"), params={"page_size": 2},
                     timeout=10).json()["next_page_token"]
    zoom.control("POST", "clock", {"advance_seconds": 901})
    # (the access token would expire at 3599 s; 901 s leaves it valid)
    answer = sato.get(zoom.v2("users/me/meetings"), params={"next_page_token": token},
                      timeout=10)
    assert answer.status_code == 400


def test_429_fault_carries_zooms_rate_limit_headers_and_body(zoom, sato):
    zoom.control("POST", "faults", {"status": 429, "method": "POST",
                                    "path_contains": "/meetings"})
    answer = sato.post(zoom.v2("users/me/meetings"), json=meeting(), timeout=10)
    assert answer.status_code == 429
    assert answer.json() == {"code": 429, "message": "You have reached the maximum per-second "
                                                     "rate limit for this API. Try again later."}
    assert answer.headers["X-RateLimit-Category"] == "Light"
    assert answer.headers["X-RateLimit-Type"] == "QPS"
    assert answer.headers["X-RateLimit-Remaining"] == "0"
    assert answer.headers["X-RateLimit-Limit"] and answer.headers["Retry-After"]
    assert zoom.meetings() == []  # refused before doing anything
    assert sato.post(zoom.v2("users/me/meetings"), json=meeting(), timeout=10).status_code == 201


def test_daily_limit_of_meeting_writes_per_user_resets_at_gmt_midnight(zoom, sato):
    zoom.control("PATCH", "settings", {"daily_meeting_writes": 2})
    first = create(zoom, sato)
    create(zoom, sato)
    refused = sato.patch(zoom.v2(f"meetings/{first['id']}"), json={"duration": 90}, timeout=10)
    assert refused.status_code == 429 and refused.headers["X-RateLimit-Type"] == "Daily-limit"
    assert refused.json()["message"].startswith("You have exceeded the daily rate limit (2)")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT00:00:00Z", refused.headers["Retry-After"])
    assert sato.get(zoom.v2(f"meetings/{first['id']}"), timeout=10).json()["duration"] == 30
    assert create(zoom, zoom.api(SUZUKI))  # the quota is the user's, not the account's
    assert sato.delete(zoom.v2(f"meetings/{first['id']}"), timeout=10).status_code == 204
    zoom.control("POST", "clock", {"advance_seconds": 24 * 3600})
    fresh = zoom.api(SATO)  # (the old access token expired with the day)
    assert fresh.post(zoom.v2("users/me/meetings"), json=meeting(), timeout=10).status_code \
        == 201


def test_server_errors_for_the_next_n_matching_calls_only(zoom, sato):
    zoom.control("POST", "faults", {"status": 503, "times": 2, "method": "POST"})
    assert sato.get(zoom.v2("users/me/meetings"), timeout=10).status_code == 200
    for _ in range(2):
        answer = sato.post(zoom.v2("users/me/meetings"), json=meeting(), timeout=10)
        assert answer.status_code == 503 and answer.json()["code"] == 503
    assert sato.post(zoom.v2("users/me/meetings"), json=meeting(), timeout=10).status_code == 201
    assert len(zoom.meetings()) == 1


def test_lost_answer_creates_the_meeting_and_the_tag_finds_it_afterwards(zoom, sato):
    """Zoom has no idempotency key: after a create whose answer never came, the client looks
    its meeting up by the tag it wrote into the agenda, and finds exactly one."""
    zoom.control("POST", "faults/lose-answer", {"method": "POST", "path_contains": "/meetings"})
    with pytest.raises(requests.ConnectionError):
        sato.post(zoom.v2("users/me/meetings"), json=meeting(), timeout=10)
    listed = sato.get(zoom.v2("users/me/meetings"), params={"type": "upcoming"},
                      timeout=10).json()["meetings"]
    tagged = [m for m in listed if f"[{TAG}]" in m["agenda"]]
    assert len(tagged) == 1
    got = sato.get(zoom.v2(f"meetings/{tagged[0]['id']}"), timeout=10)
    assert got.status_code == 200 and got.json()["join_url"] == tagged[0]["join_url"]
    assert sato.post(zoom.v2("users/me/meetings"), json=meeting(topic="next"),
                     timeout=10).status_code == 201  # the fault was for one call


def test_latency_applies_to_api_calls(zoom, sato):
    zoom.control("POST", "latency", {"ms": 1500})
    with pytest.raises(requests.Timeout):
        sato.get(zoom.v2("users/me/meetings"), timeout=0.3)
    zoom.control("POST", "latency", {"ms": 0})
    assert sato.get(zoom.v2("users/me/meetings"), timeout=10).status_code == 200


def test_usage_counts_calls_by_endpoint(zoom, sato):
    zoom.control("DELETE", "usage")
    body = create(zoom, sato)
    sato.get(zoom.v2(f"meetings/{body['id']}"), timeout=10)
    counts = zoom.usage()["by_endpoint"]
    assert counts["POST /v2/users/{userId}/meetings"] == 1
    assert counts["GET /v2/meetings/{meetingId}"] == 1


def test_unknown_api_paths_answer_json(zoom, sato):
    answer = sato.get(zoom.v2("webinars/1/nothing"), timeout=10)
    assert answer.status_code == 404 and answer.json()["code"] == 404


def test_meetings_page_lists_what_was_made_with_escaped_text(zoom, sato):
    kept = create(zoom, sato, topic="<script>alert(1)</script> 商談")
    gone = create(zoom, sato, topic="取り消し")
    sato.delete(zoom.v2(f"meetings/{gone['id']}"), timeout=10)
    html = zoom.http.get(f"{zoom.url}/meeting", timeout=10).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; 商談" in html and "<script>alert" not in html
    assert "佐藤 花子" in html and kept["join_url"].replace("&", "&amp;") in html
    assert re.search(rf'id="meeting-{gone["id"]}" class="deleted"', html)
    only_suzuki = zoom.http.get(f"{zoom.url}/meeting", params={"host": SUZUKI}, timeout=10)
    assert "商談" not in only_suzuki.text
