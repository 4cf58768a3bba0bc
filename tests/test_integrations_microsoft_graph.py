"""The Microsoft 365 integration package against the Graph emulator over real HTTP."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.fixtures_graph import CALLBACK, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, SATO, SUZUKI
from webapp.integrations import microsoft_graph as ms

START = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
END = dt.datetime(2026, 12, 15, tzinfo=dt.UTC)


def _connect(graph, user=SATO) -> ms.TokenSet:
    """The product's flow: authorize URL with PKCE, the member signs in, code exchanged."""
    verifier = "v" * 64
    url = ms.authorization_url(DEMO_CLIENT_ID, CALLBACK, "state-1", verifier,
                               login_url=graph.login_url, login_hint=user)
    location = graph.authorize(url, user=user)
    code = parse_qs(urlsplit(location).query)["code"][0]
    return ms.exchange_code(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, CALLBACK, code, verifier,
                            login_url=graph.login_url)


def _client(graph, user=SATO, persisted=None, **kwargs) -> ms.GraphClient:
    tokens = _connect(graph, user)
    saved = persisted if persisted is not None else []
    refresher = ms.token_refresher(
        lambda rt: ms.refresh(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, rt, login_url=graph.login_url),
        saved.append)
    return ms.GraphClient(tokens, refresher, graph_url=graph.graph_url, **kwargs)


def _seed(graph, user=SATO, subject="busy", start="2026-12-01T10:00:00",
          end="2026-12-01T11:00:00", tz="Tokyo Standard Time", **extra):
    return graph.seed_event(user, subject=subject, start={"dateTime": start, "timeZone": tz},
                            end={"dateTime": end, "timeZone": tz}, **extra)


def test_authorization_url_asks_the_narrow_scopes_with_pkce(graph):
    url = ms.authorization_url(DEMO_CLIENT_ID, CALLBACK, "st", "v" * 64,
                               login_url=graph.login_url)
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert urlsplit(url).path == "/common/oauth2/v2.0/authorize"
    assert query["scope"].split() == ["offline_access", "User.Read", "Calendars.ReadWrite"]
    assert query["code_challenge_method"] == "S256" and query["code_challenge"]
    assert query["state"] == "st" and query["response_type"] == "code"


def test_code_exchange_gives_tokens_kept_out_of_repr(graph):
    tokens = _connect(graph)
    assert tokens.access_token and tokens.refresh_token and tokens.expires_at > 0
    assert tokens.access_token not in repr(tokens)
    assert tokens.refresh_token not in repr(tokens)


def test_wrong_verifier_is_an_auth_error_with_the_aadsts_code(graph):
    url = ms.authorization_url(DEMO_CLIENT_ID, CALLBACK, "s", "v" * 64,
                               login_url=graph.login_url)
    code = parse_qs(urlsplit(graph.authorize(url)).query)["code"][0]
    with pytest.raises(ms.GraphAuthError) as caught:
        ms.exchange_code(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, CALLBACK, code, "w" * 64,
                         login_url=graph.login_url)
    assert caught.value.code == "invalid_grant"
    assert caught.value.message.startswith("AADSTS501481")
    assert "Trace ID" not in caught.value.message


def test_refresh_rotates_and_revocation_is_an_auth_error(graph):
    tokens = _connect(graph)
    fresh = ms.refresh(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, tokens.refresh_token,
                       login_url=graph.login_url)
    assert fresh.access_token != tokens.access_token and fresh.refresh_token
    graph.control("POST", "revoke", {"user": SATO})
    with pytest.raises(ms.GraphAuthError) as caught:
        ms.refresh(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, fresh.refresh_token,
                   login_url=graph.login_url)
    assert caught.value.message.startswith("AADSTS50173")


def test_me_and_calendars(graph):
    client = _client(graph)
    assert client.me().mail == SATO
    (calendar,) = client.calendars()
    assert calendar.is_default and calendar.can_edit


def test_expired_access_token_is_refreshed_and_persisted(graph):
    persisted: list = []
    client = _client(graph, persisted=persisted)
    graph.control("POST", "clock", {"advance_seconds": 3700})
    # The stored expiry is local; the emulator's clock moved: the 401 path must refresh.
    assert client.me().mail == SATO
    assert len(persisted) == 1 and persisted[0].access_token == client.tokens.access_token


def test_revoked_access_without_refresh_is_an_auth_error(graph):
    client = ms.GraphClient(_connect(graph), None, graph_url=graph.graph_url)
    graph.control("POST", "revoke", {"user": SATO, "access_tokens": True})
    with pytest.raises(ms.GraphAuthError):
        client.me()


def test_full_sync_returns_utc_instances_of_series_and_all_day(graph):
    _seed(graph, subject="meeting")
    _seed(graph, subject="free", showAs="free", start="2026-12-01T12:00:00",
          end="2026-12-01T13:00:00")
    _seed(graph, subject="holiday", start="2026-12-03T00:00:00", end="2026-12-04T00:00:00",
          isAllDay=True)
    _seed(graph, subject="daily", start="2026-12-07T09:00:00", end="2026-12-07T09:30:00",
          recurrence={"pattern": {"type": "daily", "interval": 1},
                      "range": {"type": "numbered", "startDate": "2026-12-07",
                                "numberOfOccurrences": 3}})
    result = _client(graph).sync_calendar_view(START, END, page_size=2)
    assert result.full and result.removed == [] and result.delta_link
    by_subject = {}
    for event in result.events:
        by_subject.setdefault(event.subject, []).append(event)
    meeting = by_subject["meeting"][0]
    assert meeting.start == dt.datetime(2026, 12, 1, 1, tzinfo=dt.UTC) and meeting.blocks
    assert not by_subject["free"][0].blocks
    holiday = by_subject["holiday"][0]
    assert holiday.is_all_day and holiday.start.date() == dt.date(2026, 12, 3)
    assert [e.type for e in by_subject["daily"]] == ["occurrence"] * 3
    assert len({e.series_master_id for e in by_subject["daily"]}) == 1


def test_refresh_with_nothing_changed_costs_one_call(graph):
    _seed(graph)
    client = _client(graph)
    first = client.sync_calendar_view(START, END)
    graph.control("DELETE", "usage")
    again = client.sync_calendar_view(START, END, delta_link=first.delta_link)
    assert again.events == [] and again.removed == [] and not again.full
    assert graph.usage()["total"] == 1


def test_incremental_sync_sees_changes_and_removals(graph):
    changed = _seed(graph, subject="change me")
    gone = _seed(graph, subject="gone", start="2026-12-02T10:00:00", end="2026-12-02T11:00:00")
    client = _client(graph)
    first = client.sync_calendar_view(START, END)
    graph.control("PATCH", f"events/{changed['id']}", {"showAs": "free"})
    graph.control("DELETE", f"events/{gone['id']}")
    result = client.sync_calendar_view(START, END, delta_link=first.delta_link)
    assert [(e.id, e.blocks) for e in result.events] == [(changed["id"], False)]
    assert result.removed == [gone["id"]]


def test_expired_delta_link_falls_back_to_a_full_sync(graph):
    kept = _seed(graph)
    client = _client(graph)
    first = client.sync_calendar_view(START, END)
    graph.control("POST", "delta/expire")
    result = client.sync_calendar_view(START, END, delta_link=first.delta_link)
    assert result.full and [e.id for e in result.events] == [kept["id"]]


def test_get_schedule_is_batched_and_leaves_free_time_out(graph):
    _seed(graph, user=SATO, subject="busy")
    _seed(graph, user=SUZUKI, subject="free", showAs="free")
    _seed(graph, user=SUZUKI, subject="away", showAs="oof", start="2026-12-01T13:00:00",
          end="2026-12-01T14:00:00")
    client = _client(graph)
    addresses = [SATO, SUZUKI] + [f"x{i}@example.com" for i in range(20)]
    graph.control("DELETE", "usage")
    answer = client.get_schedule(addresses, START, START + dt.timedelta(days=1))
    assert graph.usage()["by_endpoint"] == {"POST /me/calendar/getSchedule": 2}
    assert [(b.start.hour, b.status) for b in answer[SATO]] == [(1, "busy")]
    assert [(b.start.hour, b.status) for b in answer[SUZUKI]] == [(4, "oof")]
    assert isinstance(answer["x0@example.com"], ms.GraphError)


def test_create_is_idempotent_by_transaction_id_then_update_and_delete(graph):
    client = _client(graph)
    start = dt.datetime(2026, 12, 2, 1, tzinfo=dt.UTC)
    first = client.create_event("Apo", start, start + dt.timedelta(minutes=30), "apo-uid-1")
    again = client.create_event("Apo", start, start + dt.timedelta(minutes=30), "apo-uid-1")
    assert again.id == first.id and first.ical_uid
    assert client.find_event_by_ical_uid(first.ical_uid).id == first.id
    moved = client.update_event(first.id, start=start + dt.timedelta(hours=1),
                                end=start + dt.timedelta(hours=2))
    assert moved.start == start + dt.timedelta(hours=1)
    assert client.delete_event(first.id) is True
    assert client.delete_event(first.id) is False
    assert client.update_event(first.id, subject="x") is None
    assert client.sync_calendar_view(START, END).events == []


def test_throttling_waits_for_retry_after(graph):
    slept: list = []
    client = _client(graph, sleep=slept.append)
    graph.control("POST", "faults", {"kind": "429", "count": 2, "retry_after": 2})
    assert client.me().mail == SATO
    assert slept == [2.0, 2.0]


def test_long_retry_after_is_raised_for_the_caller_to_reschedule(graph):
    slept: list = []
    client = _client(graph, sleep=slept.append, max_wait=30)
    graph.control("POST", "faults", {"kind": "429", "count": 1, "retry_after": 120})
    with pytest.raises(ms.GraphRetryableError) as caught:
        client.me()
    assert caught.value.retry_after == 120 and slept == []


def test_trusted_urls():
    assert ms.is_trusted_url("https://graph.microsoft.com/v1.0/me")
    assert not ms.is_trusted_url("http://graph.microsoft.com/v1.0/me")
    assert not ms.is_trusted_url("https://graph.microsoft.com.evil.example/")
    assert not ms.is_trusted_url("https://user@graph.microsoft.com/")
    assert ms.is_trusted_url("http://127.0.0.1:5200/v1.0", extra_hosts=["127.0.0.1:5200"])
