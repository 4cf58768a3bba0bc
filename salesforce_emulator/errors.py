"""Error types that carry the exact wire shapes Salesforce answers with."""

from __future__ import annotations


class SFError(Exception):
    """A data-API error: rendered as a JSON array ``[{"message", "errorCode", "fields"?}]``."""

    def __init__(self, status: int, code: str, message: str, fields=None, extra=None):
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields
        self.extra = extra or {}

    def item(self) -> dict:
        item = dict(self.extra)
        item["message"] = self.message
        item["errorCode"] = self.code
        if self.fields is not None:
            item["fields"] = list(self.fields)
        return item

    def body(self) -> list:
        return [self.item()]

    def collection_item(self) -> dict:
        """The same error inside /composite/sobjects results, where the key is statusCode."""
        return {"statusCode": self.code, "message": self.message, "fields": list(self.fields or [])}


def not_found() -> SFError:
    return SFError(404, "NOT_FOUND", "The requested resource does not exist")


def session_invalid() -> SFError:
    return SFError(401, "INVALID_SESSION_ID", "Session expired or invalid")


def json_parser_error(message: str) -> SFError:
    return SFError(400, "JSON_PARSER_ERROR", message)


class OAuthError(Exception):
    """An OAuth endpoint error: rendered as ``{"error", "error_description"}`` with HTTP 400."""

    def __init__(self, error: str, description: str, status: int = 400):
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict:
        return {"error": self.error, "error_description": self.description}
