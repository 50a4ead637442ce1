"""The OpenAPI document, completed with the error answers every operation can give.

Any router's operation gets, unless it documents them itself: 401 and 403 when it needs a
token, 400 (malformed JSON) and 413 when it takes a body, 404 when its path names a resource,
422 when it takes input, 503 always (store busy or unreachable) — all with the CONTRACT
error body.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from entrypoints.api.errors import ErrorBody

_DESCRIPTIONS = {
    "400": "malformed request (e.g. invalid JSON)",
    "401": "missing, unknown or revoked bearer token",
    "403": "the token's role or clinics do not allow this",
    "404": "no such resource (or not visible to this token)",
    "413": "request body too large",
    "422": "invalid input (validation error or domain rule)",
    "503": "the store is busy or unreachable: retry shortly (see Retry-After)",
}
_REF = "#/components/schemas/ErrorBody"


def _statuses(path: str, operation: dict[str, Any]) -> list[str]:
    statuses = ["503"]
    if operation.get("security"):
        statuses += ["401", "403"]
    if "requestBody" in operation:
        statuses += ["400", "413", "422"]
    if operation.get("parameters"):
        statuses.append("422")
    if "{" in path:
        statuses.append("404")
    return statuses


def _error_content(operation: dict[str, Any]) -> dict[str, Any]:
    """The CONTRACT body as JSON, plus any other media type the operation answers in (a FHIR
    route may answer its refusals as ``application/fhir+json``)."""
    content: dict[str, Any] = {"application/json": {"schema": {"$ref": _REF}}}
    for response in operation.get("responses", {}).values():
        for media in response.get("content", {}):
            if media not in content and media.endswith("json"):
                content[media] = {"schema": {"type": "object"}}
    return content


def _errors_as_json(operation: dict[str, Any]) -> None:
    """FastAPI files a route's extra responses under its own media type only (``text/plain``
    for a plain-text route); the error handlers answer ``application/json``."""
    for status, response in operation.get("responses", {}).items():
        content = response.get("content", {})
        if not status.startswith(("4", "5")):
            continue
        for media in list(content):
            if media != "application/json" and content[media].get("schema", {}).get("$ref") == _REF:
                content.setdefault("application/json", {"schema": {"$ref": _REF}})
                if not media.endswith("json"):  # a page or plain text for people
                    content[media] = {"schema": {"type": "string"}}


def _json_media_are_objects(operation: dict[str, Any]) -> None:
    """FastAPI documents a route class's own JSON media type (``application/fhir+json``) as a
    string; it is a JSON document."""
    for response in operation.get("responses", {}).values():
        for media, entry in response.get("content", {}).items():
            if media.endswith("+json") and entry.get("schema") == {"type": "string"}:
                entry["schema"] = {"type": "object"}


def complete_errors(schema: dict[str, Any]) -> dict[str, Any]:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    if "ErrorBody" not in components:
        body = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(body.pop("$defs", {}))
        components["ErrorBody"] = body
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or method == "parameters":
                continue
            _errors_as_json(operation)
            _json_media_are_objects(operation)
            content = _error_content(operation)
            responses = operation.setdefault("responses", {})
            for status in _statuses(path, operation):
                responses.setdefault(status, {"description": _DESCRIPTIONS[status],
                                              "content": content})
    return schema


def install_openapi(app: FastAPI) -> None:
    """Serve the completed document at ``/openapi.json`` (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete_errors(get_openapi(
                title=app.title, version=app.version, description=app.description,
                routes=app.routes, servers=app.servers))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override
