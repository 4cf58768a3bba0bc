"""The sync engine's knobs (S4-S6, S8), parsed from the app config here once.

Built by ``webapp/settings.py`` for the running app and passed in by the job.
"""

from __future__ import annotations

from dataclasses import dataclass

from webapp.services.salesforce.settings import config_value


def _floats(raw) -> tuple[float, ...]:
    return tuple(float(x) for x in raw)


@dataclass(frozen=True)
class SyncSettings:
    """The sync engine's knobs (S4-S6, S8); the defaults here are the only ones."""

    retry_intervals: tuple[float, ...] = (30, 120, 600)
    lease_seconds: float = 180
    limit_pause_seconds: float = 900
    user_cache_ttl: float = 3600
    max_attempts: int = 8
    sweep_stale_seconds: float = 120
    # Queued or running syncs per organization (S10): fairness, and a cap on the org's
    # concurrent Salesforce calls well below Salesforce's per-org concurrency limit.
    org_concurrency: int = 4

    @classmethod
    def from_config(cls, config) -> SyncSettings:
        def get(key, default):
            return config_value(config, key, default)

        intervals = _floats(config.get("SYNC_RETRY_INTERVALS") or cls.retry_intervals)
        # Unset SYNC_MAX_ATTEMPTS follows the retry list: every interval, then five more tries.
        return cls(intervals, float(get("SYNC_LEASE_SECONDS", cls.lease_seconds)),
                   float(get("SYNC_LIMIT_PAUSE_SECONDS", cls.limit_pause_seconds)),
                   float(get("SYNC_USER_CACHE_TTL", cls.user_cache_ttl)),
                   int(get("SYNC_MAX_ATTEMPTS", len(intervals) + 5)),
                   float(get("SYNC_SWEEP_STALE_SECONDS", cls.sweep_stale_seconds)),
                   int(get("SYNC_ORG_CONCURRENCY", cls.org_concurrency)))
