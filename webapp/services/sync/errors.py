"""Salesforce errors as the sync record keeps them: code, message, fields and a fix key (S3).

A sync record stores codes (``result["error"]["fix"]``, ``warnings[i]["reason"]``), never
sentences, so the sync log can word them in the admin's language (``wording``). Transient codes
are retried (S5).
"""

from __future__ import annotations

from webapp.integrations import salesforce as sf

# Salesforce error code -> fix key. Codes not listed fall back to "unknown".
_FIX_BY_CODE = {
    "REQUIRED_FIELD_MISSING": "required_field",
    "INVALID_FIELD": "field_access",
    "INVALID_FIELD_FOR_INSERT_UPDATE": "field_access",
    "INSUFFICIENT_ACCESS_OR_READONLY": "field_access",
    "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY": "field_access",
    "FIELD_INTEGRITY_EXCEPTION": "field_integrity",
    "STRING_TOO_LONG": "too_long",
    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST": "picklist",
    "INVALID_EMAIL_ADDRESS": "email",
    "DUPLICATES_DETECTED": "duplicate_rule",
    "DUPLICATE_VALUE": "duplicate_rule",
    "INACTIVE_OWNER_OR_USER": "inactive_owner",
    "API_DISABLED_FOR_ORG": "api_disabled",
    "ENTITY_IS_DELETED": "event_deleted",
    "NOT_FOUND": "event_deleted",
    "CANNOT_UPDATE_CONVERTED_LEAD": "converted_lead",
    "TOO_MANY_ATTEMPTS": "unavailable",
}
RETRY_CODES = {"TIMEOUT", "CONNECTION_ERROR", "SERVER_UNAVAILABLE", "UNKNOWN_EXCEPTION",
               "UNABLE_TO_LOCK_ROW", "SERVER_ERROR"}


def error_entry(exc: sf.SalesforceError) -> dict:
    """What the sync record keeps about an error: code, Salesforce's message, fields, fix."""
    return {"code": exc.code or "", "message": (exc.message or "")[:500],
            "fields": list(getattr(exc, "fields", None) or []), "fix": fix_key(exc.code)}


def fix_key(code: str | None) -> str:
    if code in RETRY_CODES:
        return "unavailable"
    return _FIX_BY_CODE.get(code or "", "unknown")
