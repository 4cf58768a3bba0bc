"""Change and lifecycle notifications, sent by a background thread.

- A change to an event (Graph API, control API, calendar page, an attendee's answer) queues
  one change notification per matching subscription (``changed``); the thread POSTs it to
  the subscription's notificationUrl at once, never inside the request that made the change
  (learn.microsoft.com/graph/change-notifications-delivery-webhooks).
- Payload: ``{"value": [changeNotification]}`` with ``id``, ``subscriptionId``,
  ``subscriptionExpirationDateTime``, ``clientState``, ``changeType``, ``resource``
  (``Users/{user id}/Events/{event id}``), ``resourceData`` (``@odata.type``, ``@odata.id``,
  ``@odata.etag``, ``id``) and ``tenantId`` (learn.microsoft.com/graph/outlook-change-
  notifications-overview, "Receive notifications without resource data").
- A delivery not answered 2xx within 3 seconds is tried again every
  ``notification_retry_seconds`` (600: "retried again in 10 minutes") for up to
  ``notification_retry_for_seconds`` (4 hours); then it is dropped and a ``missed``
  lifecycle notification goes to the lifecycleNotificationUrl.
- The emulator's clock (control API) drives expiry, retries and ``reauthorizationRequired``
  (sent when less than ``reauthorization_before_seconds`` remain, then every
  ``reauthorization_every_seconds``) (learn.microsoft.com/graph/change-notifications-
  lifecycle-events).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid

import requests

from .seed import TENANT_ID
from .state import Tenant

TIMEOUT_SECONDS = 3.0
TICK_SECONDS = 0.2
LOG_LIMIT = 500


def stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0Z"


def changed(tenant: Tenant, event: dict, change_type: str) -> None:
    """Queue change notifications for ``event`` of its owner (call with the lock held)."""
    tenant.touch()
    for sub in list(tenant.subscriptions.values()):
        if sub["userId"] != event["owner"] or change_type not in sub["changeType"].split(","):
            continue
        if sub["expires"] <= tenant.now():
            continue
        path = f"Users/{event['owner']}/Events/{event['id']}"
        notification = {
            "id": uuid.uuid4().hex[:13],
            "subscriptionId": sub["id"],
            "subscriptionExpirationDateTime": stamp(sub["expires"]),
            "changeType": change_type,
            "resource": path,
            "resourceData": {"@odata.type": "#Microsoft.Graph.Event", "@odata.id": path,
                             "@odata.etag": f'W/"{event.get("changeKey", "")}"',
                             "id": event["id"]},
            "clientState": sub.get("clientState"),
            "tenantId": TENANT_ID,
        }
        queue(tenant, sub, sub["notificationUrl"], notification, "change")


def lifecycle(tenant: Tenant, sub: dict, event_name: str) -> bool:
    """Queue a lifecycle notification; False when the subscription has no lifecycle URL."""
    if not sub.get("lifecycleNotificationUrl"):
        return False
    notification = {"subscriptionId": sub["id"],
                    "subscriptionExpirationDateTime": stamp(sub["expires"]),
                    "tenantId": TENANT_ID, "clientState": sub.get("clientState"),
                    "lifecycleEvent": event_name}
    queue(tenant, sub, sub["lifecycleNotificationUrl"], notification, event_name)
    return True


def queue(tenant: Tenant, sub: dict, url: str, notification: dict, kind: str) -> None:
    notifier = tenant.notifier
    if notifier is None:
        return
    notifier.pending.append({"url": url, "notification": notification, "kind": kind,
                             "subscriptionId": sub["id"], "first": tenant.now(),
                             "generation": tenant.generation,
                             "due": tenant.now(), "attempts": 0})
    notifier.wake.set()


class Notifier:
    """The sending thread; ``pending`` is guarded by the tenant's lock."""

    def __init__(self, tenant: Tenant):
        self.tenant = tenant
        self.pending: list[dict] = []
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.http = requests.Session()
        self.http.trust_env = False  # proxies from the environment must not apply
        self.thread = threading.Thread(target=self._run, name="graph-notifier", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
        self.thread.join(timeout=5)

    def _run(self) -> None:
        while not self.stopping.is_set():
            self.wake.wait(TICK_SECONDS)
            self.wake.clear()
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - the thread must outlive one bad delivery
                import traceback

                traceback.print_exc()

    def tick(self) -> None:
        t = self.tenant
        with t.lock:
            self._housekeeping(t)
            now = t.now()
            due = [p for p in self.pending if p["due"] <= now]
            for item in due:
                self.pending.remove(item)
        # Several notifications for one URL go out in one POST, as Graph may batch them.
        batches: dict[str, list[dict]] = {}
        for item in due:
            batches.setdefault(item["url"], []).append(item)
        for url, items in batches.items():
            status, error = self._post(url, [i["notification"] for i in items])
            with t.lock:
                self._record(t, url, items, status, error)

    def _post(self, url: str, notifications: list[dict]) -> tuple[int | None, str | None]:
        try:
            response = self.http.post(url, data=json.dumps({"value": notifications}),
                                      headers={"Content-Type": "application/json; "
                                                               "charset=utf-8"},
                                      timeout=TIMEOUT_SECONDS, allow_redirects=False)
        except requests.RequestException as exc:
            return None, type(exc).__name__
        return response.status_code, None

    def _record(self, t: Tenant, url: str, items: list[dict], status, error) -> None:
        ok = status is not None and 200 <= status < 300
        now = t.now()
        for item in items:
            if item["generation"] != t.generation:
                continue  # sent before a reset: forgotten with the rest
            item["attempts"] += 1
            t.deliveries.append({"url": url, "kind": item["kind"],
                                 "subscriptionId": item["subscriptionId"],
                                 "attempt": item["attempts"], "status": status, "error": error,
                                 "ok": ok, "at": now.isoformat(),
                                 "notification": item["notification"]})
            if ok:
                continue
            if (now - item["first"]).total_seconds() >= t.settings[
                    "notification_retry_for_seconds"]:
                sub = t.subscriptions.get(item["subscriptionId"])
                if sub is not None and item["kind"] == "change":
                    lifecycle(t, sub, "missed")
                continue
            item["due"] = now + dt.timedelta(seconds=t.settings["notification_retry_seconds"])
            self.pending.append(item)
        del t.deliveries[:-LOG_LIMIT]

    def _housekeeping(self, t: Tenant) -> None:
        """Expire subscriptions and challenge those close to expiry, by the tenant's clock."""
        now = t.now()
        for sub in list(t.subscriptions.values()):
            if sub["expires"] <= now:
                del t.subscriptions[sub["id"]]
                self.pending = [p for p in self.pending if p["subscriptionId"] != sub["id"]]
                t.touch()
                continue
            left = (sub["expires"] - now).total_seconds()
            if left > t.settings["reauthorization_before_seconds"]:
                continue
            last = sub.get("reauthorizationSentAt")
            if last is None or (now - last).total_seconds() >= t.settings[
                    "reauthorization_every_seconds"]:
                sub["reauthorizationSentAt"] = now
                lifecycle(t, sub, "reauthorizationRequired")
                t.touch()
