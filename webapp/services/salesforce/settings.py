"""What the Salesforce services take from the app config (C3, C8, M5, S8), parsed here once.

Built by ``webapp/settings.py`` for the running app and passed in by the view or job.
"""

from __future__ import annotations

from dataclasses import dataclass

from webapp.integrations import salesforce as sf
from webapp.services.crypto import Keyring


def config_value(config, key: str, default):
    """A config value, or ``default`` when it is unset or empty (env values are strings)."""
    value = config.get(key)
    return default if value is None or value == "" else value


@dataclass(frozen=True)
class SalesforceSettings:
    """Login hosts (C3), accepted instance hosts, call timeout, API version, caches, keys (C8)."""

    login_url: str
    sandbox_login_url: str
    allowed_hosts: tuple[str, ...]
    keyring: Keyring
    timeout: float = sf.TIMEOUT
    api_version: str = sf.API_VERSION
    describe_ttl: float = 6 * 3600
    # The addresses Apo's servers call Salesforce from (事前確認 item 2 names them).
    outbound_ips: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, config) -> SalesforceSettings:
        hosts = config.get("SALESFORCE_ALLOWED_INSTANCE_HOSTS") or ()
        return cls(config["SALESFORCE_LOGIN_URL"].rstrip("/"),
                   config["SALESFORCE_SANDBOX_LOGIN_URL"].rstrip("/"), tuple(hosts),
                   Keyring.from_config(config),
                   float(config.get("SALESFORCE_TIMEOUT") or cls.timeout),
                   str(config.get("SALESFORCE_API_VERSION") or cls.api_version),
                   float(config_value(config, "SALESFORCE_DESCRIBE_TTL", cls.describe_ttl)),
                   tuple(config.get("OUTBOUND_IPS") or ()))
