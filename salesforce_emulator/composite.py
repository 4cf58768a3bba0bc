"""``/composite`` (subrequests with references and allOrNone) and ``/composite/sobjects``
(sObject Collections). One composite request counts as one API call."""

from __future__ import annotations

import copy
import re
from urllib.parse import parse_qsl, urlsplit

from . import dml, ids, resources
from .errors import SFError, not_found

MAX_SUBREQUESTS = 25
MAX_QUERY_OR_COLLECTION = 5
MAX_COLLECTION_RECORDS = 200
_REFERENCE = re.compile(r"@\{([A-Za-z0-9][A-Za-z0-9_]*)\.([^}]+)\}")
_REF_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]*$")
_HALTED = "The transaction was rolled back since another operation in the same transaction " \
          "failed."
_ROLLED_BACK = "Record rolled back because not all records were valid and the request was " \
               "using AllOrNone header"
_FORBIDDEN_HEADERS = {"accept", "authorization", "content-type"}


def handle(org, call: resources.Call) -> resources.Reply:
    parts = call.parts
    if parts == ["composite"]:
        resources._allowed(call.method, "POST")
        return _composite(org, call)
    if len(parts) >= 2 and parts[1] == "sobjects":
        return _collections(org, call)
    raise not_found()


def _bad_request(message: str, code: str = "INVALID_INPUT") -> SFError:
    return SFError(400, code, message)


def _validate(body) -> list[dict]:
    if not isinstance(body, dict) or not isinstance(body.get("compositeRequest"), list):
        raise SFError(400, "JSON_PARSER_ERROR", "compositeRequest is required")
    subrequests = body["compositeRequest"]
    if not subrequests:
        raise _bad_request("compositeRequest must contain at least one subrequest")
    if len(subrequests) > MAX_SUBREQUESTS:
        raise _bad_request(f"Maximum number of subrequests allowed in a single composite "
                           f"request is {MAX_SUBREQUESTS}", "LIMIT_EXCEEDED")
    seen, heavy = set(), 0
    for sub in subrequests:
        if not isinstance(sub, dict) or not sub.get("method") or not sub.get("url"):
            raise SFError(400, "JSON_PARSER_ERROR", "Each subrequest needs method and url")
        ref = sub.get("referenceId")
        if not isinstance(ref, str) or not _REF_ID.match(ref):
            raise _bad_request(f"Invalid referenceId: {ref}. A referenceId may contain only "
                               "letters, digits and underscores and must start with a letter "
                               "or digit")
        if ref in seen:
            raise _bad_request(f"Duplicate referenceId provided in the request: {ref}")
        seen.add(ref)
        headers = sub.get("httpHeaders") or {}
        if any(key.lower() in _FORBIDDEN_HEADERS for key in headers):
            raise _bad_request("Use of the Accept, Authorization and Content-Type headers is "
                               "not allowed in composite subrequests")
        path = urlsplit(sub["url"]).path
        if re.search(r"/(query|queryAll|composite/sobjects)(/|$)", path):
            heavy += 1
    if heavy > MAX_QUERY_OR_COLLECTION:
        raise _bad_request("A composite request can contain at most 5 query or sObject "
                           "Collections subrequests", "LIMIT_EXCEEDED")
    return subrequests


class _Unresolved(Exception):
    def __init__(self, ref: str, path: str):
        super().__init__(ref)
        self.ref, self.path = ref, path


def _lookup(results: dict, ref: str, path: str):
    if ref not in results:
        raise _Unresolved(ref, path)
    value = results[ref]
    for step in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        if step.startswith("["):
            index = int(step[1:-1])
            if not isinstance(value, list) or index >= len(value):
                raise _Unresolved(ref, path)
            value = value[index]
        elif isinstance(value, dict) and step in value:
            value = value[step]
        else:
            raise _Unresolved(ref, path)
    if value is None:
        raise _Unresolved(ref, path)
    return value


def _substitute(value, results: dict):
    """Replace ``@{ref.path}`` in strings (a whole-string reference keeps its JSON type)."""
    if isinstance(value, str):
        whole = _REFERENCE.fullmatch(value)
        if whole:
            return _lookup(results, *whole.groups())
        return _REFERENCE.sub(lambda m: str(_lookup(results, *m.groups())), value)
    if isinstance(value, list):
        return [_substitute(item, results) for item in value]
    if isinstance(value, dict):
        return {key: _substitute(item, results) for key, item in value.items()}
    return value


def _halted(ref: str, message: str = _HALTED) -> dict:
    return {"body": [{"errorCode": "PROCESSING_HALTED", "message": message}],
            "httpHeaders": {}, "httpStatusCode": 400, "referenceId": ref}


def _run_subrequest(org, call, sub, results) -> dict:
    ref = sub["referenceId"]
    try:
        url = _substitute(sub["url"], results)
        body = _substitute(copy.deepcopy(sub.get("body")), results)
    except _Unresolved as missing:
        return _halted(ref, f"Invalid reference specified. No value for {missing.path} found "
                            f"in {missing.ref}. Provided referenceId ensure the reference Id "
                            "is valid and the attribute name is correct.")
    split = urlsplit(url)
    match = re.match(r"^/services/data/v(\d+\.\d)/?(.*)$", split.path)
    headers = dict(call.headers)
    headers.update(sub.get("httpHeaders") or {})
    try:
        if match is None or match.group(1) not in resources.API_VERSIONS:
            raise SFError(404, "NOT_FOUND", "The requested resource does not exist")
        sub_call = resources.Call(
            sub["method"].upper(), match.group(1), [p for p in match.group(2).split("/") if p],
            dict(parse_qsl(split.query)), body, headers, call.user_id, in_composite=True)
        reply = resources.dispatch(org, sub_call)
    except SFError as error:
        return {"body": error.body(), "httpHeaders": {}, "httpStatusCode": error.status,
                "referenceId": ref}
    if reply.status < 300:
        results[ref] = reply.body
    return {"body": reply.body if reply.status != 204 else None,
            "httpHeaders": dict(reply.headers), "httpStatusCode": reply.status,
            "referenceId": ref}


def _composite(org, call) -> resources.Reply:
    subrequests = _validate(call.body)
    all_or_none = bool(call.body.get("allOrNone"))
    # Subrequests run in order; collation may reorder independent ones in Salesforce,
    # and running them in order is one of the orders it may choose.
    results: dict = {}
    responses = []
    with org.transaction() as mark:
        for index, sub in enumerate(subrequests):
            response = _run_subrequest(org, call, sub, results)
            responses.append(response)
            if response["httpStatusCode"] >= 400 and all_or_none:
                org.rollback(mark)
                halted = [_halted(s["referenceId"]) for s in subrequests]
                halted[index] = response
                return resources.Reply(200, {"compositeResponse": halted})
    wrote = any(sub["method"].upper() != "GET" for sub in subrequests)
    return resources.Reply(200, {"compositeResponse": responses}, wrote=wrote)


# ----- sObject Collections ------------------------------------------------------------------
def _collection_records(body) -> tuple[list, bool]:
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise SFError(400, "JSON_PARSER_ERROR", "records is required")
    records = body["records"]
    if len(records) > MAX_COLLECTION_RECORDS:
        raise SFError(400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more "
                      f"than {MAX_COLLECTION_RECORDS} records into this call")
    for record in records:
        if not isinstance(record, dict) or not (record.get("attributes") or {}).get("type"):
            raise SFError(400, "INVALID_TYPE", "No SObject Type defined in Json")
    return records, bool(body.get("allOrNone"))


def _collections(org, call) -> resources.Reply:
    method = call.method
    if len(call.parts) == 3 and method == "GET":
        return _collection_get(org, call)
    if len(call.parts) != 2:
        raise not_found()
    resources._allowed(method, "POST,PATCH,DELETE")
    if method == "DELETE":
        targets = [i for i in (call.args.get("ids") or "").split(",") if i]
        all_or_none = (call.args.get("allOrNone") or "").lower() == "true"
        if len(targets) > MAX_COLLECTION_RECORDS:
            raise SFError(400, "EXCEEDED_ID_LIMIT", "record limit reached")
        items = [(target, None) for target in targets]
    else:
        records, all_or_none = _collection_records(call.body)
        items = [(record.get("Id") or record.get("id"), record) for record in records]
    results, failed = [], False
    with org.transaction() as mark:
        for record_id, record in items:
            try:
                if method == "DELETE":
                    sobject, _ = org.lookup(record_id)
                    if sobject is None:
                        raise SFError(404, "ENTITY_IS_DELETED" if ids.normalize(record_id)
                                      else "MALFORMED_ID", "entity is deleted" if
                                      ids.normalize(record_id) else "malformed id " + record_id)
                    dml.delete(org, sobject, record_id)
                    done_id = ids.normalize(record_id)
                else:
                    sobject = org.sobject_name(record["attributes"]["type"])
                    if sobject is None:
                        raise SFError(400, "INVALID_TYPE", "sObject type '"
                                      f"{record['attributes']['type']}' is not supported.")
                    fields = {k: v for k, v in record.items() if k not in ("Id", "id")}
                    if method == "POST":
                        if record_id:
                            raise SFError(400, "INVALID_FIELD", "cannot specify Id in an "
                                          "insert call", ["Id"])
                        done_id = dml.create(org, call.user_id, sobject, fields, call.headers)
                    else:
                        if not record_id:
                            raise SFError(400, "MISSING_ARGUMENT", "Id not specified in an "
                                          "update call", ["Id"])
                        dml.update(org, call.user_id, sobject, record_id, fields,
                                   call.headers)
                        done_id = ids.normalize(record_id)
                results.append({"id": done_id, "success": True, "errors": []})
            except SFError as error:
                failed = True
                entry = {"success": False, "errors": [error.collection_item()]}
                if method != "POST" and record_id:
                    entry = {"id": ids.normalize(record_id) or record_id, **entry}
                results.append(entry)
        if failed and all_or_none:
            org.rollback(mark)
            for entry in results:
                if entry["success"]:
                    entry["success"] = False
                    entry["errors"] = [{"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                                        "message": _ROLLED_BACK, "fields": []}]
    return resources.Reply(200, results, wrote=not (failed and all_or_none))


def _collection_get(org, call) -> resources.Reply:
    sobject = org.sobject_name(call.parts[2])
    if sobject is None:
        raise not_found()
    wanted = [f for f in (call.args.get("fields") or "").split(",") if f] or None
    out = []
    for record_id in [i for i in (call.args.get("ids") or "").split(",") if i]:
        full = ids.normalize(record_id)
        record = org.records[sobject].get(full) if full else None
        if record is None or record.get("IsDeleted"):
            out.append(None)
        else:
            out.append(resources.record_body(org, sobject, record, call.version, wanted))
    return resources.Reply(200, out)
