"""Every refusal as the CONTRACT error body ``{"error": {"code", "message", "details"}}``.

Domain errors, validation errors, malformed JSON, oversized bodies, unknown routes and
methods, and anything unexpected (a generic 500, never a traceback).
"""

from __future__ import annotations

import re
from typing import Any

import structlog
from eventsourcing.persistence import PersistenceError
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aggregates.errors import Conflict, DomainError, InvalidValue, NotFound
from hub.command_gate import StoreBusy

log = structlog.get_logger("entrypoints.api")


class ErrorDetail(BaseModel):
    code: str = Field(examples=["slot_full"], description="stable machine code")
    message: str = Field(examples=["no place is left in this slot"])
    details: Any = Field(default=None, description="what was wrong (fields, ids)")


class ErrorBody(BaseModel):
    """The body of every 4xx and 5xx answer."""

    error: ErrorDetail


class ApiError(Exception):
    """A refusal decided by the API layer itself (auth, scope, idempotency)."""

    def __init__(self, status: int, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or None


def error_response(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": jsonable_encoder(details)}}
    return JSONResponse(body, status_code=status, headers=headers)


def domain_status(exc: DomainError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, InvalidValue):
        return 422
    if isinstance(exc, StoreBusy):
        return 503
    return 400


#: Standard error answers, for the OpenAPI ``responses=`` of routes.
def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    described = {
        400: "malformed request (e.g. invalid JSON)",
        401: "missing, unknown or revoked bearer token; `token_expired` when it has expired",
        403: "the token's role or clinics do not allow this",
        404: "no such resource (or not visible to this token)",
        409: "the request contradicts the current state (e.g. `slot_full`)",
        413: "request body too large",
        422: "invalid input (validation error or domain rule)",
        503: "the store is busy or unreachable: retry shortly (see Retry-After)",
    }
    return {s: {"model": ErrorBody, "description": described[s]} for s in statuses}


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    details = []
    for error in exc.errors():
        details.append({
            "loc": [str(p) for p in error.get("loc", ())],
            "msg": str(error.get("msg", "")),
            "type": str(error.get("type", "")),
        })
    return details


async def _on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    details = _validation_details(exc)
    if any(d["type"] == "json_invalid" for d in details):
        return error_response(400, "malformed_json", "the request body is not valid JSON", details)
    where = "; ".join(f"{'.'.join(d['loc'])}: {d['msg']}" for d in details[:5])
    return error_response(422, "validation_error", f"invalid request: {where}", details)


async def _on_domain(request: Request, exc: DomainError) -> JSONResponse:
    status = domain_status(exc)
    headers = {"Retry-After": "1"} if status == 503 else None
    return error_response(status, exc.code, exc.message, exc.details or None, headers)


async def _on_api(request: Request, exc: ApiError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    if exc.status == 503:
        headers = {"Retry-After": "1"}
    if exc.status == 429:
        headers = {"Retry-After": str((exc.details or {}).get("retry_after", 60))}
    return error_response(exc.status, exc.code, exc.message, exc.details, headers)


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 401: "unauthenticated",
               403: "forbidden", 413: "payload_too_large", 400: "bad_request"}


async def _on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
    message = str(exc.detail) if exc.detail else code.replace("_", " ")
    if exc.status_code == 404 and exc.detail == "Not Found":
        message = f"no route {request.method} {request.url.path}"
    if exc.status_code == 405:
        message = f"method {request.method} is not allowed on {request.url.path}"
    return error_response(exc.status_code, code, message, headers=getattr(exc, "headers", None))


async def _on_store(request: Request, exc: PersistenceError) -> JSONResponse:
    log.warning("store unavailable", path=request.url.path, error=type(exc).__name__)
    return error_response(503, "store_unavailable", "the event store is unreachable; retry shortly",
                          headers={"Retry-After": "1"})


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error", path=request.url.path, method=request.method)
    return error_response(500, "internal_error", "an unexpected error occurred; it was logged")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _on_validation)  # type: ignore[arg-type]  # Starlette types handlers for Exception
    app.add_exception_handler(DomainError, _on_domain)  # type: ignore[arg-type]  # Starlette types handlers for Exception
    app.add_exception_handler(ApiError, _on_api)  # type: ignore[arg-type]  # Starlette types handlers for Exception
    app.add_exception_handler(StarletteHTTPException, _on_http)  # type: ignore[arg-type]  # Starlette types handlers for Exception
    app.add_exception_handler(PersistenceError, _on_store)  # type: ignore[arg-type]  # Starlette types handlers for Exception
    app.add_exception_handler(Exception, _on_unexpected)


class BodyLimit:
    """ASGI middleware: refuse request bodies over ``max_bytes`` with 413, before any parsing."""

    def __init__(self, app: ASGIApp, max_bytes: int,
                 larger: tuple[tuple[str, int], ...] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        #: (path pattern, limit) for the routes that take larger bodies (a clinic's logo).
        self.larger = tuple((re.compile(pattern), limit) for pattern, limit in larger)

    def limit_for(self, path: str) -> int:
        return next((limit for pattern, limit in self.larger if pattern.match(path)),
                    self.max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.limit_for(scope.get("path", ""))
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > max_bytes):
            await self._refuse(scope, receive, send, max_bytes)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > max_bytes:
                    raise StarletteHTTPException(413, f"request body exceeds {max_bytes} bytes")
            return message

        await self.app(scope, counted, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, max_bytes: int) -> None:
        response = error_response(
            413, "payload_too_large", f"request body exceeds {max_bytes} bytes",
            {"max_bytes": max_bytes},
        )
        await response(scope, receive, send)

