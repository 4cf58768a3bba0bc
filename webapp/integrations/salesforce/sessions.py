"""Keep-alive HTTP sessions, one per thread and connection: no TCP and TLS handshake per sync.

A worker process serves many jobs; each job's client reuses its organization's pooled
connection to the instance host instead of opening a new one. Cookies are refused, so nothing
of one organization's answers travels with another's requests. The least recently used
sessions are closed beyond ``MAX_SESSIONS`` per thread.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from http.cookiejar import DefaultCookiePolicy

import requests

MAX_SESSIONS = 64
_local = threading.local()


def pooled_session(key: str) -> requests.Session:
    """This thread's session for ``key`` (a connection's id and instance URL)."""
    sessions: OrderedDict[str, requests.Session] | None = getattr(_local, "sessions", None)
    if sessions is None:
        sessions = _local.sessions = OrderedDict()
    session = sessions.get(key)
    if session is None:
        session = sessions[key] = requests.Session()
        session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        while len(sessions) > MAX_SESSIONS:
            _key, oldest = sessions.popitem(last=False)
            oldest.close()
    sessions.move_to_end(key)
    return session
