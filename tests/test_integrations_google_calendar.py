"""The Google Calendar client and provider adapter against the Google emulator over real
HTTP: OAuth helpers, token refresh, backoff, incremental sync, free/busy and write-back."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.fixtures_google_calendar_emulator import CALLBACK, query_of
from webapp.integrations.calendar_port import (
    BookingEvent,
    ConnectionInfo,
    ProviderAuthError,
    SyncStateInvalid,
)
from webapp.integrations.google_calendar import (
    SCOPES,
    GoogleApp,
    GoogleAuthError,
    GoogleCalendarClient,
    GoogleCalendarProvider,
    GoogleEndpoints,
    GoogleUnavailable,
    oauth,
)
from webapp.services.calendars.registry import build_registry

pytestmark = pytest.mark.timeout(60)
SATO, SUZUKI, TANAKA = "sato@example.com", "suzuki@example.com", "tanaka@example.com"
LIST = "GET /calendar/v3/calendars/{calendarId}/events"
WINDOW = (datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 29, tzinfo=UTC))


def at(day: str, hm: str, zone: str = "+09:00") -> str:
    return f"2026-12-{day}T{hm}:00{zone}"


def timed(day, start, end, tz="Asia/Tokyo", zone="+09:00", **extra):
    return {"summary": extra.pop("summary", "予定"),
            "start": {"dateTime": at(day, start, zone), "timeZone": tz},
            "end": {"dateTime": at(day, end, zone), "timeZone": tz}, **extra}


@pytest.fixture
def connected(gcal):
    """(app, credentials) of sato connected through the real consent flow."""
    client_id, secret = gcal.register_client()
    app = GoogleApp(client_id, secret, GoogleEndpoints.emulator(gcal.url))
    verifier = "k" * 64
    url = oauth.authorization_url(app, CALLBACK, "state-1", verifier)
    code = query_of(gcal.authorize(url, SATO))["code"]
    return app, oauth.exchange_code(app, CALLBACK, code, verifier)


def provider_for(gcal, connected, saved=None, zone="Asia/Tokyo", timeout=10.0,
                 backoff=0.01) -> GoogleCalendarProvider:
    app, credentials = connected
    info = ConnectionInfo("", SATO, credentials, on_credentials_change=(saved or []).append,
                          timeout=timeout,
                          options={"google_client_id": app.client_id,
                                   "google_client_secret": app.client_secret,
                                   "google_base_url": gcal.url, "zone": zone,
                                   "google_backoff": backoff})
    # As the app's registry builds it (services/calendars/registry.py).
    return build_registry({}).build("google", info)


def test_K1_authorization_url_asks_offline_consent_pkce_and_narrow_scopes(gcal, connected):
    app, credentials = connected
    url = oauth.authorization_url(app, CALLBACK, "s", "v" * 64, login_hint=SATO)
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert query["access_type"] == "offline" and query["prompt"] == "consent"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert set(query["scope"].split()) == set(SCOPES)
    assert not any(s.endswith(("/auth/calendar", "calendar.events", "calendar.readonly"))
                   for s in SCOPES)
    assert credentials["refresh_token"] and credentials["expires_at"] > datetime.now().timestamp()
    assert oauth.account_email(app, credentials["access_token"]) == SATO


def test_K1_code_with_the_wrong_verifier_is_refused(gcal):
    client_id, secret = gcal.register_client()
    app = GoogleApp(client_id, secret, GoogleEndpoints.emulator(gcal.url))
    code = query_of(gcal.authorize(oauth.authorization_url(app, CALLBACK, "s", "a" * 64)))["code"]
    with pytest.raises(GoogleAuthError, match="invalid_grant"):
        oauth.exchange_code(app, CALLBACK, code, "b" * 64)


def test_expired_access_token_is_refreshed_first_and_persisted(gcal, connected):
    saved: list[dict] = []
    app, credentials = connected
    stale = dict(credentials, expires_at=0)
    client = GoogleCalendarClient(app, stale, on_credentials_change=saved.append)
    assert client.calendar_list()
    assert len(saved) == 1 and saved[0]["access_token"] != credentials["access_token"]
    assert saved[0]["refresh_token"] == credentials["refresh_token"]  # Google keeps it


def test_a_401_refreshes_once_and_retries(gcal, connected):
    saved: list[dict] = []
    app, credentials = connected
    gcal.control("POST", "tokens/revoke", {"expire_access": True})
    client = GoogleCalendarClient(app, credentials, on_credentials_change=saved.append)
    assert [c["id"] for c in client.calendar_list()][0] == SATO
    assert len(saved) == 1


def test_K6_revoked_grant_raises_provider_auth_error(gcal, connected):
    gcal.control("POST", "tokens/revoke", {"user": SATO})
    provider = provider_for(gcal, connected)
    with pytest.raises(ProviderAuthError, match="invalid_grant"):
        provider.sync(SATO, {}, WINDOW)


def test_rate_limits_and_5xx_are_backed_off_then_succeed(gcal, connected):
    for status, reason in ((403, "rateLimitExceeded"), (429, "rateLimitExceeded"),
                           (403, "userRateLimitExceeded"), (503, "backendError")):
        gcal.control("POST", "faults", {"endpoint": LIST, "status": status, "reason": reason})
    provider = provider_for(gcal, connected)
    provider.client.max_attempts = 5
    assert provider.sync(SATO, {}, WINDOW).full
    assert gcal.usage()["by_endpoint"][LIST] == 5


def test_backoff_gives_up_as_unavailable_and_quota_is_not_retried(gcal, connected):
    gcal.control("POST", "faults", {"endpoint": LIST, "status": 500, "reason": "backendError",
                                    "times": -1})
    provider = provider_for(gcal, connected)
    with pytest.raises(GoogleUnavailable):
        provider.sync(SATO, {}, WINDOW)
    assert gcal.usage()["by_endpoint"][LIST] == 5
    gcal.control("DELETE", "faults")
    gcal.control("POST", "faults", {"endpoint": LIST, "status": 403, "reason": "quotaExceeded"})
    with pytest.raises(GoogleUnavailable, match="quota"):
        provider.sync(SATO, {}, WINDOW)
    assert gcal.usage()["by_endpoint"][LIST] == 6


def test_K3_backoff_stays_within_the_call_timeout_and_a_long_retry_after(gcal, connected):
    gcal.control("POST", "faults", {"endpoint": LIST, "status": 503, "reason": "backendError",
                                    "times": -1})
    provider = provider_for(gcal, connected, timeout=1.0, backoff=0.5)  # a confirm re-check
    started = time.monotonic()
    with pytest.raises(GoogleUnavailable):
        provider.sync(SATO, {}, WINDOW)
    assert time.monotonic() - started < 1.5
    assert gcal.usage()["by_endpoint"][LIST] == 2  # one wait of ~0.5 s fits, the next not
    gcal.control("DELETE", "faults")
    gcal.control("POST", "faults", {"endpoint": LIST, "status": 429, "retry_after": 120,
                                    "reason": "rateLimitExceeded"})
    with pytest.raises(GoogleUnavailable):
        provider_for(gcal, connected).sync(SATO, {}, WINDOW)
    assert gcal.usage()["by_endpoint"][LIST] == 3  # Retry-After past the cap: no waiting


def test_K1_calendar_list_offers_only_calendars_the_member_owns(gcal, connected):
    gcal.control("POST", "calendars", {"id": "shared@group.calendar.google.com",
                                       "owner": SUZUKI, "acl": {SATO: "writer"}})
    calendars = provider_for(gcal, connected).list_calendars()
    assert [(c.remote_id, c.name) for c in calendars] == [
        (SATO, "佐藤 花子"), ("c_team0123456789@group.calendar.google.com", "営業チーム")]


def _busy(result) -> dict[str, tuple]:
    return {item.ref: item.intervals for item in result.changed}


def test_K2_sync_expands_series_exceptions_all_day_zones_and_skips_free(gcal, connected):
    series = gcal.seed_event(SATO, **timed("01", "10:00", "11:00",
                                           recurrence=["RRULE:FREQ=WEEKLY;COUNT=3"]))
    gcal.control("PATCH", f"calendars/{SATO}/events/{series['id']}_20261208T010000Z",
                 {"start": {"dateTime": at("08", "15:00"), "timeZone": "Asia/Tokyo"},
                  "end": {"dateTime": at("08", "16:00"), "timeZone": "Asia/Tokyo"}})
    gcal.control("DELETE", f"calendars/{SATO}/events/{series['id']}_20261215T010000Z")
    gcal.seed_event(SATO, summary="休暇", start={"date": "2026-12-02"},
                    end={"date": "2026-12-03"})
    gcal.seed_event(SATO, **timed("03", "09:00", "10:00", tz="America/New_York",
                                  zone="-05:00"))
    gcal.seed_event(SATO, **timed("04", "10:00", "11:00", transparency="transparent"))
    result = provider_for(gcal, connected).sync(SATO, {}, WINDOW)
    intervals = sorted(i for item in result.changed for i in item.intervals)
    utc = lambda d, h, m=0: datetime(2026, 12, d, h, m, tzinfo=UTC)  # noqa: E731
    assert intervals == [(utc(1, 1), utc(1, 2)), (utc(1, 15), utc(2, 15)),  # all-day, JST
                         (utc(3, 14), utc(3, 15)), (utc(8, 6), utc(8, 7))]
    assert result.full and result.state["sync_token"]


def test_K9_an_invitation_the_member_declined_does_not_block(gcal, connected):
    """The emulator puts tanaka's invitation on sato's calendar with sato's own attendee
    entry (self, responseStatus): declined it frees the time, needsAction and accepted
    block; free/busy agrees."""
    invitation = gcal.seed_event(TANAKA, **timed("07", "10:00", "11:00",
                                                 attendees=[{"email": SATO}]))
    provider = provider_for(gcal, connected)
    first = provider.sync(SATO, {}, WINDOW)
    busy = ((datetime(2026, 12, 7, 1, tzinfo=UTC), datetime(2026, 12, 7, 2, tzinfo=UTC)),)
    assert _busy(first) == {invitation["id"]: busy}  # not answered yet: blocks
    gcal.control("POST", f"calendars/{SATO}/events/{invitation['id']}/respond",
                 {"attendee": SATO, "response": "declined"})
    declined = provider.sync(SATO, first.state, WINDOW)
    assert _busy(declined) == {invitation["id"]: ()}
    assert provider.busy(SATO, WINDOW) == []
    gcal.control("POST", f"calendars/{TANAKA}/events/{invitation['id']}/respond",
                 {"attendee": SATO, "response": "accepted"})
    assert _busy(provider.sync(SATO, declined.state, WINDOW)) == {invitation["id"]: busy}


def test_K3_unchanged_calendar_costs_one_call_per_refresh(gcal, connected):
    gcal.seed_event(SATO, **timed("01", "10:00", "11:00"))
    provider = provider_for(gcal, connected)
    state = provider.sync(SATO, {}, WINDOW).state
    gcal.control("DELETE", "usage")
    for _ in range(3):
        result = provider.sync(SATO, state, WINDOW)
        assert (result.full, result.changed, result.removed) == (False, [], [])
        state = result.state
    assert gcal.usage()["by_user"] == {SATO: 3}
    assert gcal.usage()["by_endpoint"] == {LIST: 3}


def test_K3_incremental_sync_brings_changes_and_deletions(gcal, connected):
    kept = gcal.seed_event(SATO, **timed("01", "10:00", "11:00"))
    gone = gcal.seed_event(SATO, **timed("02", "10:00", "11:00"))
    provider = provider_for(gcal, connected)
    state = provider.sync(SATO, {}, WINDOW).state
    gcal.control("DELETE", f"calendars/{SATO}/events/{gone['id']}")
    gcal.control("PATCH", f"calendars/{SATO}/events/{kept['id']}",
                 {"transparency": "transparent"})
    new = gcal.seed_event(SATO, **timed("05", "13:00", "14:00"))
    result = provider.sync(SATO, state, WINDOW)
    assert result.removed == [gone["id"]]
    assert _busy(result) == {kept["id"]: (), new["id"]: (
        (datetime(2026, 12, 5, 4, tzinfo=UTC), datetime(2026, 12, 5, 5, tzinfo=UTC)),)}


def test_K3_expired_sync_token_asks_the_core_for_a_full_sync(gcal, connected):
    provider = provider_for(gcal, connected)
    state = provider.sync(SATO, {}, WINDOW).state
    gcal.control("POST", "sync-tokens/expire", {})
    with pytest.raises(SyncStateInvalid):
        provider.sync(SATO, state, WINDOW)
    assert provider.sync(SATO, {}, WINDOW).full


def test_K3_window_moving_past_the_horizon_triggers_a_full_sync(gcal, connected):
    provider = provider_for(gcal, connected)
    state = provider.sync(SATO, {}, WINDOW).state
    later = (WINDOW[0] + timedelta(days=40), WINDOW[1] + timedelta(days=40))
    assert provider.sync(SATO, state, later).full


def test_free_busy_is_batched_across_members(gcal, connected):
    for member in (SATO, SUZUKI, TANAKA):
        gcal.seed_event(member, **timed("01", "10:00", "11:00"))
    provider = provider_for(gcal, connected)
    gcal.control("DELETE", "usage")
    busy = provider.busy_many([SATO, SUZUKI, TANAKA, "x@other.example"], WINDOW)
    assert sorted(busy) == [SATO, SUZUKI, TANAKA]
    assert busy[SUZUKI] == [(datetime(2026, 12, 1, 1, tzinfo=UTC),
                             datetime(2026, 12, 1, 2, tzinfo=UTC))]
    assert gcal.usage()["by_endpoint"] == {"POST /calendar/v3/freeBusy": 1}
    provider.busy_many([SATO] + [f"m{i}@example.com" for i in range(60)], WINDOW)
    assert gcal.usage()["by_endpoint"]["POST /calendar/v3/freeBusy"] == 3  # 50 per query


def _stored(gcal, uid):
    return [e for e in gcal.control("GET", f"calendars/{SATO}/events")
            if e.get("iCalUID") == uid]


def test_K4_put_event_is_idempotent_by_ical_uid_moves_and_deletes_once(gcal, connected):
    provider = provider_for(gcal, connected)
    start = datetime(2026, 12, 7, 1, tzinfo=UTC)
    event = BookingEvent("apo-booking-7@apo.example", start, start + timedelta(minutes=30),
                         "商談: 山本様", "予約番号 7")
    provider.put_event(SATO, event)
    provider.put_event(SATO, event)  # a retry after a lost answer
    [stored] = _stored(gcal, event.uid)
    assert stored["start"] == {"dateTime": "2026-12-07T10:00:00+09:00",
                               "timeZone": "Asia/Tokyo"}
    moved = BookingEvent(event.uid, start + timedelta(days=1),
                         start + timedelta(days=1, minutes=30), event.summary)
    provider.put_event(SATO, moved)
    [again] = _stored(gcal, event.uid)
    assert again["id"] == stored["id"] and again["start"]["dateTime"].startswith("2026-12-08")
    provider.delete_event(SATO, event.uid)
    provider.delete_event(SATO, event.uid)  # already gone is not an error
    assert [e["status"] for e in _stored(gcal, event.uid)] == ["cancelled"]
    provider.put_event(SATO, moved)  # a rebooking with the same UID revives the event
    assert [e["status"] for e in _stored(gcal, event.uid)] == ["confirmed"]


def test_K4_written_booking_carries_its_uid_into_sync(gcal, connected):
    provider = provider_for(gcal, connected)
    start = datetime(2026, 12, 9, 2, tzinfo=UTC)
    provider.put_event(SATO, BookingEvent("apo-9@apo.example", start,
                                          start + timedelta(hours=1), "商談"))
    [item] = provider.sync(SATO, {}, WINDOW).changed
    assert item.uid == "apo-9@apo.example"


