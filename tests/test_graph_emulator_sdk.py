"""Conformance of the Graph emulator through Microsoft's own Python libraries, unmodified:
msgraph-sdk (kiota, httpx) with azure-identity signing in, and MSAL for the PKCE sign-in, all
over https against the emulator's self-signed certificate (``--https``).

The libraries are dev-only (requirements-dev.txt) and heavy: they are imported inside the
fixture and the tests, so collecting this module stays fast. Each test runs its scenario in
its own event loop with a fresh credential and HTTP client.

Covered: OAuth with PKCE (MSAL), OIDC discovery and the ID token, sign-in with azure-identity,
list, insert, get, patch, delete, incremental sync (delta, paging, the expired-token path),
free/busy (getSchedule), attendee answers, subscriptions with the validation handshake and a
notification, If-Match (412), Teams join URLs, throttling, and error shapes (ODataError).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import ssl
from urllib.parse import parse_qs, urlsplit

import pytest

from graph_emulator.seed import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, TENANT_ID
from tests.fixtures_graph import CALLBACK, SATO, SUZUKI

pytestmark = pytest.mark.timeout(90)
SCOPES = ["User.Read", "Calendars.ReadWrite"]
WINDOW = ("2026-12-01T00:00:00Z", "2026-12-08T00:00:00Z")


class Sdk:
    """Builds msgraph-sdk clients signed in with azure-identity against one emulator."""

    def __init__(self, emulator):
        self.emulator = emulator

    def code(self, user: str) -> str:
        """An authorization code for the demo app (the browser part of the flow)."""
        url = self.emulator.authorize_url(None, scope="offline_access " + " ".join(SCOPES))
        location = self.emulator.authorize(url, user=user)
        return parse_qs(urlsplit(location).query)["code"][0]

    def run(self, scenario, user: str = SATO):
        """``await scenario(client)`` with a GraphServiceClient signed in as ``user``."""
        import httpx
        from azure.identity.aio import AuthorizationCodeCredential
        from kiota_authentication_azure.azure_identity_authentication_provider import (
            AzureIdentityAuthenticationProvider,
        )
        from msgraph import GraphRequestAdapter, GraphServiceClient
        from msgraph.graph_request_adapter import options
        from msgraph_core import GraphClientFactory

        code = self.code(user)

        async def main():
            # azure-identity redeems the code at the emulator's authority; its transport
            # verifies TLS with the emulator's certificate.
            credential = AuthorizationCodeCredential(
                TENANT_ID, DEMO_CLIENT_ID, code, CALLBACK, client_secret=DEMO_CLIENT_SECRET,
                authority=self.emulator.login_url, connection_verify=self.emulator.cert_path)
            context = ssl.create_default_context(cafile=self.emulator.cert_path)
            http = GraphClientFactory.create_with_default_middleware(
                client=httpx.AsyncClient(verify=context, trust_env=False), options=options)
            auth = AzureIdentityAuthenticationProvider(
                credential, scopes=SCOPES,
                allowed_hosts=[urlsplit(self.emulator.graph_url).hostname])
            adapter = GraphRequestAdapter(auth, client=http)
            adapter.base_url = self.emulator.graph_url + "/v1.0"
            try:
                return await scenario(GraphServiceClient(request_adapter=adapter))
            finally:
                await credential.close()
                await http.aclose()

        # In its own thread: a browser test's Playwright (sync API) may keep an event loop
        # running on this one for the rest of the session.
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, main()).result()


@pytest.fixture
def sdk(graph_https):
    return Sdk(graph_https)


def _event(subject="SDK booking", start="2026-12-01T10:00:00", end="2026-12-01T10:30:00",
           tz="Tokyo Standard Time", attendees=(), **extra):
    from msgraph.generated.models.attendee import Attendee
    from msgraph.generated.models.attendee_type import AttendeeType
    from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
    from msgraph.generated.models.email_address import EmailAddress
    from msgraph.generated.models.event import Event

    return Event(subject=subject, start=DateTimeTimeZone(date_time=start, time_zone=tz),
                 end=DateTimeTimeZone(date_time=end, time_zone=tz),
                 attendees=[Attendee(email_address=EmailAddress(address=a),
                                     type=AttendeeType.Required) for a in attendees], **extra)


def _view_config():
    from msgraph.generated.users.item.calendar_view.calendar_view_request_builder import (
        CalendarViewRequestBuilder,
    )

    query = CalendarViewRequestBuilder.CalendarViewRequestBuilderGetQueryParameters(
        start_date_time=WINDOW[0], end_date_time=WINDOW[1])
    return CalendarViewRequestBuilder.CalendarViewRequestBuilderGetRequestConfiguration(
        query_parameters=query)


# ----- sign-in ------------------------------------------------------------------------------
def test_msal_signs_in_with_pkce_over_https_and_gets_a_signed_id_token(graph_https):
    import jwt
    import msal

    http = graph_https.new_session()
    app = msal.ConfidentialClientApplication(
        DEMO_CLIENT_ID, client_credential=DEMO_CLIENT_SECRET, http_client=http,
        authority=f"{graph_https.login_url}/{TENANT_ID}", instance_discovery=False)
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=CALLBACK)
    query = parse_qs(urlsplit(flow["auth_uri"]).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"]
    location = graph_https.authorize(flow["auth_uri"])
    answer = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    result = app.acquire_token_by_auth_code_flow(flow, answer)
    assert "access_token" in result, result
    assert result["id_token_claims"]["preferred_username"] == SATO
    assert result["id_token_claims"]["nonce"] == query["nonce"][0]
    # The ID token verifies with the key the metadata document's jwks_uri publishes.
    metadata = http.get(f"{graph_https.login_url}/{TENANT_ID}/v2.0/.well-known/"
                        "openid-configuration", timeout=10).json()
    [key] = http.get(metadata["jwks_uri"], timeout=10).json()["keys"]
    claims = jwt.decode(result["id_token"], jwt.algorithms.RSAAlgorithm.from_jwk(key),
                        algorithms=["RS256"], audience=DEMO_CLIENT_ID,
                        issuer=metadata["issuer"])
    assert claims["tid"] == TENANT_ID
    refreshed = app.acquire_token_by_refresh_token(result["refresh_token"], SCOPES)
    assert refreshed.get("access_token") and refreshed["access_token"] != result["access_token"]


def test_msal_code_with_a_wrong_verifier_is_refused_501481(graph_https):
    import msal

    app = msal.ConfidentialClientApplication(
        DEMO_CLIENT_ID, client_credential=DEMO_CLIENT_SECRET, http_client=graph_https.new_session(),
        authority=f"{graph_https.login_url}/{TENANT_ID}", instance_discovery=False)
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=CALLBACK)
    location = graph_https.authorize(flow["auth_uri"])
    flow["code_verifier"] = "x" * 43  # not the verifier of the challenge sent
    result = app.acquire_token_by_auth_code_flow(
        flow, {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()})
    assert result["error"] == "invalid_grant" and 501481 in result["error_codes"]


def test_azure_identity_signs_in_and_the_sdk_reads_me(sdk):
    async def scenario(client):
        return await client.me.get()

    me = sdk.run(scenario)
    assert (me.display_name, me.mail) == ("佐藤 花子", SATO)


# ----- events -------------------------------------------------------------------------------
def test_sdk_inserts_lists_gets_patches_and_deletes_an_event(sdk):
    from msgraph.generated.models.event import Event
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError

    async def scenario(client):
        created = await client.me.events.post(_event(attendees=["customer@example.org"]))
        listed = await client.me.calendar_view.get(request_configuration=_view_config())
        got = await client.me.events.by_event_id(created.id).get()
        patched = await client.me.events.by_event_id(created.id).patch(Event(subject="moved"))
        await client.me.events.by_event_id(created.id).delete()
        try:
            await client.me.events.by_event_id(created.id).get()
        except ODataError as exc:
            return created, listed, got, patched, exc
        raise AssertionError("a deleted event was found")

    created, listed, got, patched, gone = sdk.run(scenario)
    assert created.start.time_zone == "Tokyo Standard Time"  # the request's zone
    assert [e.id for e in listed.value] == [created.id]
    assert got.start.time_zone == "UTC" and got.start.date_time.startswith("2026-12-01T01:00")
    attendee = got.attendees[0]
    assert attendee.status.response.value == "none"
    assert attendee.status.time.year == 1
    assert patched.subject == "moved" and patched.change_key != created.change_key
    assert gone.response_status_code == 404 and gone.error.code == "ErrorItemNotFound"


def test_sdk_delta_pages_resumes_and_meets_the_expired_token(sdk, graph_https):
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError
    from msgraph.generated.users.item.calendar_view.delta.delta_request_builder import (
        DeltaRequestBuilder,
    )

    for hour in (9, 10, 11):
        graph_https.seed_event(SATO, subject=f"h{hour}",
                               start={"dateTime": f"2026-12-02T{hour:02d}:00:00",
                                      "timeZone": "UTC"},
                               end={"dateTime": f"2026-12-02T{hour:02d}:30:00",
                                    "timeZone": "UTC"})

    def paged(query=None):
        config = RequestConfiguration(query_parameters=query)
        config.headers.add("Prefer", "odata.maxpagesize=2")
        return config

    async def drain(builder, query=None):
        items, pages, page = [], 0, await builder.get(request_configuration=paged(query))
        while True:
            pages += 1
            items += page.value
            if page.odata_delta_link:
                return items, page.odata_delta_link, pages
            page = await builder.with_url(page.odata_next_link).get(
                request_configuration=paged())

    async def scenario(client):
        query = DeltaRequestBuilder.DeltaRequestBuilderGetQueryParameters(
            start_date_time=WINDOW[0], end_date_time=WINDOW[1])
        first = await drain(client.me.calendar_view.delta, query)
        graph_https.seed_event(SATO, subject="later",
                               start={"dateTime": "2026-12-03T09:00:00", "timeZone": "UTC"},
                               end={"dateTime": "2026-12-03T10:00:00", "timeZone": "UTC"})
        second = await drain(client.me.calendar_view.delta.with_url(first[1]))
        graph_https.control("POST", "delta/expire")
        try:
            await client.me.calendar_view.delta.with_url(second[1]).get()
        except ODataError as exc:
            return first, second, exc
        raise AssertionError("an expired delta link answered")

    first, second, expired = sdk.run(scenario)
    assert sorted(e.subject for e in first[0]) == ["h10", "h11", "h9"] and first[2] == 2
    assert "delta()" in first[1]  # the SDK asked in OData function form
    assert [e.subject for e in second[0]] == ["later"]
    assert expired.response_status_code == 410
    assert expired.error.code == "SyncStateNotFound"


def test_sdk_get_schedule_reports_busy_and_tentative(sdk, graph_https):
    from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
    from msgraph.generated.users.item.calendar.get_schedule.get_schedule_post_request_body import (
        GetSchedulePostRequestBody,
    )

    graph_https.seed_event(SUZUKI, subject="busy", showAs="busy",
                           start={"dateTime": "2026-12-01T10:00:00", "timeZone": "UTC"},
                           end={"dateTime": "2026-12-01T11:00:00", "timeZone": "UTC"})
    graph_https.seed_event(SUZUKI, subject="maybe", showAs="tentative",
                           start={"dateTime": "2026-12-01T11:00:00", "timeZone": "UTC"},
                           end={"dateTime": "2026-12-01T11:30:00", "timeZone": "UTC"})

    async def scenario(client):
        body = GetSchedulePostRequestBody(
            schedules=[SUZUKI, "nobody@example.com"], availability_view_interval=30,
            start_time=DateTimeTimeZone(date_time="2026-12-01T10:00:00", time_zone="UTC"),
            end_time=DateTimeTimeZone(date_time="2026-12-01T12:00:00", time_zone="UTC"))
        return await client.me.calendar.get_schedule.post(body)

    suzuki, nobody = sdk.run(scenario).value
    assert suzuki.availability_view == "2210"
    assert [i.status.value for i in suzuki.schedule_items] == ["busy", "tentative"]
    assert nobody.error.response_code == "ErrorInvalidRecipients"


def test_sdk_invitee_accepts_and_the_organizer_sees_the_answer(sdk):
    from msgraph.generated.users.item.events.item.accept.accept_post_request_body import (
        AcceptPostRequestBody,
    )

    async def organize(client):
        return await client.me.events.post(_event(attendees=[SUZUKI]))

    async def accept(client):
        [invitation] = (await client.me.calendar_view.get(
            request_configuration=_view_config())).value
        assert invitation.response_status.response.value == "notResponded"
        await client.me.events.by_event_id(invitation.id).accept.post(
            AcceptPostRequestBody(comment="参加します", send_response=True))
        return await client.me.events.by_event_id(invitation.id).get()

    event = sdk.run(organize)
    mine = sdk.run(accept, user=SUZUKI)
    assert mine.response_status.response.value == "accepted" and mine.show_as.value == "busy"

    async def read(client):
        return await client.me.events.by_event_id(event.id).get()

    after = sdk.run(read)
    assert after.attendees[0].status.response.value == "accepted"


# ----- K8, K10, V1 --------------------------------------------------------------------------
def test_K8_sdk_subscription_validates_notifies_renews_and_deletes(sdk, webhook):
    from msgraph.generated.models.subscription import Subscription

    def expires(hours: float) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours)

    async def scenario(client):
        sub = await client.subscriptions.post(Subscription(
            change_type="created,updated,deleted", resource="me/events",
            notification_url=webhook.url + "/notify", client_state="sdk-secret",
            expiration_date_time=expires(1)))
        event = await client.me.events.post(_event())
        notes = await asyncio.to_thread(webhook.wait_for, 1)
        renewed = await client.subscriptions.by_subscription_id(sub.id).patch(
            Subscription(expiration_date_time=expires(48)))
        listed = await client.subscriptions.get()
        await client.subscriptions.by_subscription_id(sub.id).delete()
        after = await client.subscriptions.get()
        return sub, event, notes, renewed, listed, after

    sub, event, notes, renewed, listed, after = sdk.run(scenario)
    assert len(webhook.validations) == 1
    assert notes[0]["subscriptionId"] == sub.id and notes[0]["clientState"] == "sdk-secret"
    assert notes[0]["resourceData"]["id"] == event.id
    assert renewed.expiration_date_time > sub.expiration_date_time
    assert [s.id for s in listed.value] == [sub.id] and after.value == []


def test_K10_sdk_patch_with_a_stale_etag_is_412(sdk):
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.models.event import Event
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError

    def if_match(etag):
        config = RequestConfiguration()
        config.headers.add("If-Match", etag)
        return config

    async def scenario(client):
        created = await client.me.events.post(_event())
        etag = created.additional_data["@odata.etag"]
        fresh = await client.me.events.by_event_id(created.id).patch(
            Event(subject="v2"), request_configuration=if_match(etag))
        try:
            await client.me.events.by_event_id(created.id).patch(
                Event(subject="v3"), request_configuration=if_match(etag))
        except ODataError as exc:
            return fresh, exc
        raise AssertionError("a stale If-Match was accepted")

    fresh, conflict = sdk.run(scenario)
    assert fresh.subject == "v2"
    assert conflict.response_status_code == 412
    assert conflict.error.code == "ErrorIrresolvableConflict"


def test_V1_sdk_online_meeting_join_url_and_transaction_id(sdk):
    from msgraph.generated.models.online_meeting_provider_type import (
        OnlineMeetingProviderType,
    )

    async def scenario(client):
        body = _event(is_online_meeting=True, transaction_id="sdk-booking-1",
                      online_meeting_provider=OnlineMeetingProviderType.TeamsForBusiness)
        return await client.me.events.post(body), await client.me.events.post(body)

    first, again = sdk.run(scenario)
    assert first.online_meeting.join_url.startswith("https://teams.microsoft.com/l/meetup-join/")
    assert first.online_meeting.conference_id and first.online_meeting.toll_number
    assert again.id == first.id
    assert again.online_meeting.join_url == first.online_meeting.join_url


# ----- error shapes and throttling ----------------------------------------------------------
def test_sdk_raises_odata_error_with_graphs_fields(sdk):
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError

    async def scenario(client):
        found = []
        for call in (lambda: client.me.events.post(_event(end="2026-12-01T09:00:00")),
                     lambda: client.me.with_url(
                         client.request_adapter.base_url + "/me/nothingHere").get()):
            try:
                await call()
            except ODataError as exc:
                found.append(exc)
        return found

    invalid, unknown = sdk.run(scenario)
    assert invalid.response_status_code == 400 and invalid.error.code == "ErrorInvalidRequest"
    assert unknown.response_status_code == 400 and unknown.error.code == "BadRequest"
    assert unknown.error.message == "Resource not found for the segment 'nothingHere'."
    assert unknown.error.inner_error.request_id and unknown.error.inner_error.date


def test_sdk_waits_out_a_429_with_retry_after_and_succeeds(sdk, graph_https):
    graph_https.control("POST", "faults", {"kind": "429", "count": 1, "retry_after": 1,
                                           "path_contains": "/me"})

    async def scenario(client):
        return await client.me.get()

    assert sdk.run(scenario).mail == SATO
    assert graph_https.usage()["by_endpoint"]["GET /me"] == 2  # the throttled call, then one
