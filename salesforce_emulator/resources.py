"""The REST resources under ``/services/data/vXX.X/``, callable without HTTP.

``dispatch`` is used both by the HTTP view (``data_api``) and by ``/composite`` for its
subrequests, so a subrequest behaves exactly like the same call made on its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import dml, ids, soql_columns, soql_exec
from .errors import SFError, not_found
from .state import ORG_ID

API_VERSIONS = [f"{major}.0" for major in range(31, 67)]
_SEASONS = ("Winter", "Spring", "Summer")
MAX_BATCH = 2000
_CURSOR_TTL = 15 * 60
_MAX_CURSORS = 100


def version_label(version: str) -> str:
    """Release name of an API version: v59.0 is Winter '24, three releases a year."""
    offset = int(float(version)) - 59
    return f"{_SEASONS[offset % 3]} '{24 + offset // 3:02d}"


def versions_body() -> list[dict]:
    return [{"label": version_label(v), "url": f"/services/data/v{v}", "version": v}
            for v in API_VERSIONS]


@dataclass
class Call:
    """One REST call: the pieces after ``/services/data/vXX.X/``."""

    method: str
    version: str
    parts: list[str]
    args: dict
    body: object = None
    headers: dict = field(default_factory=dict)
    user_id: str = ""
    in_composite: bool = False


@dataclass
class Reply:
    status: int
    body: object = None
    headers: dict = field(default_factory=dict)
    wrote: bool = False


def endpoint_key(method: str, parts: list[str]) -> str:
    """Usage-counter key: ids and query locators replaced by placeholders."""
    shown = []
    for part in parts:
        if ids.normalize(part) or re.match(r"^01g[0-9A-Za-z]{12,15}-\d+$", part):
            shown.append("{id}")
        else:
            shown.append(part)
    return f"{method} /" + "/".join(shown)


def _allowed(method: str, allowed: str) -> None:
    if method not in allowed.split(","):
        raise SFError(405, "METHOD_NOT_ALLOWED",
                      f"HTTP Method '{method}' not allowed. Allowed are {allowed}")


def dispatch(org, call: Call) -> Reply:
    parts, method = call.parts, call.method
    head = parts[0] if parts else ""
    if not parts:
        _allowed(method, "GET,HEAD")
        return Reply(200, directory(org, call.version, call.user_id))
    if head == "limits" and len(parts) == 1:
        _allowed(method, "GET,HEAD")
        return Reply(200, limits_body(org))
    if head in ("query", "queryAll") and len(parts) <= 2:
        _allowed(method, "GET,HEAD")
        if len(parts) == 2:
            return Reply(200, next_page(org, call, parts[1]))
        return Reply(200, first_page(org, call, include_deleted=head == "queryAll"))
    if head == "sobjects":
        return _sobjects(org, call)
    if head == "composite" and not call.in_composite:
        from . import composite  # composite calls back into dispatch

        return composite.handle(org, call)
    raise not_found()


# The documented "List Available REST Resources" answer, in its order (README cites it).
DIRECTORY = (
    "tooling", "metadata", "eclair", "folders", "prechatForms", "contact-tracing", "jsonxform",
    "chatter", "payments", "tabs", "appMenu", "quickActions", "queryAll", "commerce", "wave",
    "iot", "analytics", "search", "smartdatadiscovery", "identity", "composite",
    "parameterizedSearch", "fingerprint", "theme", "nouns", "event", "serviceTemplates",
    "recent", "connect", "licensing", "limits", "process", "dedupe", "async-queries", "query",
    "jobs", "match", "emailConnect", "localizedvalue", "mobile", "emailTemplates",
    "knowledgeManagement", "sobjects", "actions", "support",
)


def directory(org, version: str, user_id: str) -> dict:
    """``GET /services/data/vXX.X/``: every resource by name; ``identity`` is the absolute
    identity URL of the calling user (the token response's ``id``)."""
    base = f"/services/data/v{version}"
    return {name: f"{org.login_url}/id/{ORG_ID}/{user_id}" if name == "identity"
            else f"{base}/{name}" for name in DIRECTORY}


def limits_body(org) -> dict:
    maximum = org.settings["daily_limit"]
    return {
        "ConcurrentAsyncGetReportInstances": {"Max": 200, "Remaining": 200},
        "ConcurrentSyncReportRuns": {"Max": 20, "Remaining": 20},
        "DailyApiRequests": {"Max": maximum, "Remaining": max(0, maximum - org.usage_total)},
        "DailyAsyncApexExecutions": {"Max": 250000, "Remaining": 250000},
        "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
        "DataStorageMB": {"Max": 1024, "Remaining": 1020},
        "FileStorageMB": {"Max": 1024, "Remaining": 1024},
        "SingleEmail": {"Max": 5000, "Remaining": 5000},
    }


# ----- query -----------------------------------------------------------------------------
def batch_size(org, headers) -> int:
    """``Sforce-Query-Options: batchSize=N`` is a hint within [min, 2000]."""
    match = re.search(r"batchSize\s*=\s*(\d+)", headers.get("Sforce-Query-Options") or "", re.I)
    if not match:
        return MAX_BATCH
    return max(org.settings["min_batch_size"], min(MAX_BATCH, int(match.group(1))))


def first_page(org, call: Call, include_deleted: bool) -> dict:
    text = call.args.get("q")
    if not text:
        raise SFError(400, "MALFORMED_QUERY", "A query string has to be specified")
    if (call.args.get("columns") or "").lower() == "true":
        return soql_columns.columns(org, text)
    result = soql_exec.run(org, text, include_deleted=include_deleted, version=call.version)
    batch = batch_size(org, call.headers)
    locator = None
    if len(result.rows) > batch:
        org.counter += 1
        locator = ids.make("01g", org.counter)
        org.cursors[locator] = {"rows": result.rows, "batch": batch, "total": result.total,
                                "expires": org.epoch() + _CURSOR_TTL, "version": call.version}
        while len(org.cursors) > _MAX_CURSORS:
            org.cursors.popitem(last=False)
    return _page(call.version, locator, result.rows, result.total, 0, batch)


def _page(version, locator, rows, total, offset, batch) -> dict:
    chunk = rows[offset:offset + batch]
    body = {"totalSize": total, "done": offset + batch >= len(rows)}
    if not body["done"]:
        body["nextRecordsUrl"] = f"/services/data/v{version}/query/{locator}-{offset + batch}"
    body["records"] = chunk
    return body


def next_page(org, call: Call, token: str) -> dict:
    locator, _, offset = token.partition("-")
    cursor = org.cursors.get(locator)
    if cursor is None or not offset.isdigit() or cursor["expires"] < org.epoch():
        raise SFError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    cursor["expires"] = org.epoch() + _CURSOR_TTL
    return _page(call.version, locator, cursor["rows"], cursor["total"], int(offset),
                 cursor["batch"])


# ----- sobjects ----------------------------------------------------------------------------
def _sobjects(org, call: Call) -> Reply:
    parts, method = call.parts, call.method
    if len(parts) == 1:
        _allowed(method, "GET,HEAD")
        return Reply(200, {"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": [
            obj.summary(call.version) for obj in org.schema.values()]})
    sobject = org.sobject_name(parts[1])
    if sobject is None:
        raise not_found()
    if len(parts) == 2:
        _allowed(method, "GET,HEAD,POST")
        if method == "POST":
            record_id = dml.create(org, call.user_id, sobject, call.body, call.headers)
            return Reply(201, {"id": record_id, "success": True, "errors": []},
                         {"Location": f"/services/data/v{call.version}/sobjects/{sobject}/"
                                      f"{record_id}"}, wrote=True)
        recent = sorted(org.records[sobject].values(), key=lambda r: r.get("LastModifiedDate")
                        or "", reverse=True)[:3]
        return Reply(200, {"objectDescribe": org.schema[sobject].summary(call.version),
                           "recentItems": [record_body(org, sobject, r, call.version, ["Id"])
                                           for r in recent if not r.get("IsDeleted")]})
    if len(parts) == 3 and parts[2] == "describe":
        _allowed(method, "GET,HEAD")
        hidden = frozenset(org.hidden.get(sobject, ()))
        return Reply(200, org.schema[sobject].describe(call.version, hidden, org.instance_url))
    if len(parts) == 3:
        _allowed(method, "GET,PATCH,HEAD,DELETE")
        if method == "PATCH":
            dml.update(org, call.user_id, sobject, parts[2], call.body, call.headers)
            return Reply(204, wrote=True)
        if method == "DELETE":
            dml.delete(org, sobject, parts[2])
            return Reply(204, wrote=True)
        record = dml.fetch(org, sobject, parts[2])
        wanted = None
        if call.args.get("fields"):
            wanted = [f.strip() for f in call.args["fields"].split(",") if f.strip()]
        return Reply(200, record_body(org, sobject, record, call.version, wanted))
    raise not_found()


def record_body(org, sobject, record, version, wanted=None) -> dict:
    body = {"attributes": {"type": sobject,
                           "url": f"/services/data/v{version}/sobjects/{sobject}/{record['Id']}"}}
    if wanted is None:
        names = [f.name for f in org.visible_fields(sobject)]
    else:
        names = []
        for name in wanted:
            fld = org.field(sobject, name)
            if fld is None:
                raise SFError(400, "INVALID_FIELD", f"No such column '{name}' on entity "
                              f"'{sobject}'. If you are attempting to use a custom field, be "
                              "sure to append the '__c' after the custom field name. Please "
                              "reference your WSDL or the describe call for the appropriate "
                              "names.")
            names.append(fld.name)
    for name in names:
        body[name] = record.get(name)
    return body
