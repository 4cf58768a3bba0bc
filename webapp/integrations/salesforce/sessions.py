"""Keep-alive HTTP sessions, one per thread and connection: no TCP and TLS handshake per sync.

A worker process serves many jobs; each job's client reuses its organization's pooled
connection to the instance host instead of opening a new one. Cookies are refused, so nothing
of one organization's answers travels with another's requests. The least recently used
sessions are closed beyond ``MAX_SESSIONS`` per thread.

The environment (proxies, ``no_proxy``, the CA bundle) is read once, when the session is made
for its instance URL, instead of on every request: requests scans the whole of ``os.environ``
twice per call when ``trust_env`` is on, which cost more CPU than the rest of the call (S8).
With ``trust_env`` off a ``~/.netrc`` can no longer replace our bearer token either.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from http.cookiejar import DefaultCookiePolicy

import requests
from requests.utils import get_environ_proxies

MAX_SESSIONS = 64
_local = threading.local()


def pooled_session(key: str, base_url: str) -> requests.Session:
    """This thread's session for ``key`` (a connection's id and instance URL), whose calls all
    go to ``base_url``'s host."""
    sessions: OrderedDict[str, requests.Session] | None = getattr(_local, "sessions", None)
    if sessions is None:
        sessions = _local.sessions = OrderedDict()
    session = sessions.get(key)
    if session is None:
        session = sessions[key] = _new_session(base_url)
        while len(sessions) > MAX_SESSIONS:
            _key, oldest = sessions.popitem(last=False)
            oldest.close()
    sessions.move_to_end(key)
    return session


def _new_session(base_url: str) -> requests.Session:
    session = requests.Session()
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    session.trust_env = False
    # What requests would have taken from the environment for this host, taken once.
    session.proxies.update(get_environ_proxies(base_url))
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle
    return session
