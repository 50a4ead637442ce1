"""FHIR R4 under ``/fhir/r4``: reads, searches, Appointment writes, SMART ``$bulk-publish``.

Answers are ``application/fhir+json``; every refusal (auth, scope, validation, domain rule)
is an OperationOutcome with the native API's HTTP status and error code.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

import structlog
from eventsourcing.persistence import PersistenceError
from fastapi import APIRouter, Body, Header, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from aggregates.errors import DomainError
from connectors.fhir.answers import AnswerKey
from connectors.fhir.booking import FhirBooking
from connectors.fhir.outcome import FhirError, from_domain, from_fhir, operation_outcome
from connectors.fhir.search import Query, uuid_of
from connectors.fhir.server import RESOURCE_TYPES, SEARCH_PARAMETERS, FhirServer, Scope
from connectors.fhir.smart_scheduling.publish import FILE_TYPES, ManifestCache, ndjson, publication
from entrypoints.api.deps import Booker, Reader, SchedulingDep
from entrypoints.api.errors import ApiError
from entrypoints.api.fhir_slots import availability_slots, read_model_slots
from hub.access.tokens import ROLE_SOURCE, Principal, Role
from hub.access.visibility import Viewer
from hub.emr.vendors import load_profiles
from hub.scheduling.reads import StoreReads

log = structlog.get_logger("entrypoints.api.fhir")
FHIR_JSON = "application/fhir+json"
_ISSUE = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found", 405: "not-supported",
          409: "conflict", 412: "duplicate", 413: "too-costly", 422: "invalid", 503: "transient"}


def render(content: Any) -> bytes:
    """A FHIR JSON body: compact, UTF-8."""
    return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class FhirResponse(Response):
    media_type = FHIR_JSON

    def render(self, content: Any) -> bytes:
        return render(content)


def _outcome(status: int, issue: str, message: str, code: str,
             headers: dict[str, str] | None = None) -> FhirResponse:
    return FhirResponse(operation_outcome(issue, message, code), status_code=status, headers=headers)


class FhirRoute(APIRoute):
    """Turns every refusal of a FHIR endpoint (dependencies included) into an OperationOutcome."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def fhir_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except FhirError as exc:
                status, body = from_fhir(exc)
                return FhirResponse(body, status_code=status)
            except DomainError as exc:
                status, body = from_domain(exc)
                return FhirResponse(body, status_code=status,
                                    headers={"Retry-After": "1"} if status == 503 else None)
            except ApiError as exc:
                headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
                return _outcome(exc.status, _ISSUE.get(exc.status, "processing"), exc.message,
                                exc.code, headers)
            except RequestValidationError as exc:
                errors = exc.errors()
                if any(e.get("type") == "json_invalid" for e in errors):
                    return _outcome(400, "structure", "the body is not valid JSON", "malformed_json")
                where = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}"
                                  for e in errors[:5])
                return _outcome(422, "invalid", f"invalid request: {where}", "validation_error")
            except StarletteHTTPException as exc:
                return _outcome(exc.status_code, _ISSUE.get(exc.status_code, "processing"),
                                str(exc.detail), f"http_{exc.status_code}")
            except PersistenceError as exc:
                log.warning("store unavailable", error=type(exc).__name__)
                return _outcome(503, "transient", "the event store is unreachable; retry shortly",
                                "store_unavailable", {"Retry-After": "1"})

        return fhir_handler


_DESCRIBED = {400: "malformed request or search parameter", 401: "missing or unknown token",
              403: "role not allowed", 404: "unknown or out of scope", 409: "conflicts with the state "
              "(e.g. `slot_full`)", 412: "If-None-Exist matches several", 413: "body too large",
              422: "breaks a rule (e.g. `invalid_value`)", 503: "store busy: retry shortly"}


def outcomes(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI: refusals are OperationOutcomes (``application/fhir+json``)."""
    return {s: {"description": f"OperationOutcome: {_DESCRIBED[s]}",
                "content": {FHIR_JSON: {"schema": {"type": "object"}}}} for s in statuses}


READS = outcomes(400, 401, 403, 404, 503)
WRITES = outcomes(400, 401, 403, 404, 409, 412, 413, 422, 503)
router = APIRouter(prefix="/fhir/r4", tags=["fhir"], route_class=FhirRoute,
                   default_response_class=FhirResponse)


def scope_of(principal: Principal) -> Scope:
    return Scope(
        clinic_ids=None if principal.all_clinics else frozenset(principal.clinic_ids),
        online=principal.role == Role.PORTAL,
        source=ROLE_SOURCE[principal.role],
        viewer=Viewer.of(principal),
    )


def base_url(request: Request) -> str:
    return f"{str(request.base_url).rstrip('/')}/fhir/r4"


def server_for(request: Request, scheduling: Any) -> FhirServer:
    services = request.app.state.services
    return FhirServer(scheduling, ZoneInfo(services.settings.timezone),
                      slot_source=availability_slots(services.projections, scheduling,
                                                     services.settings.read_wait_seconds,
                                                     services.freshness))


def slot_search(request: Request, query: Query, scope: Scope, scheduling: Any) -> Response:
    """``GET /fhir/r4/Slot``: from the availability read model once it has applied the log's
    head, and then answered once per head and caller's scope (``SearchAnswers``: any write moves
    the head); from the store while the read model lags behind."""
    services = request.app.state.services
    settings = services.settings
    zone = ZoneInfo(settings.timezone)
    base = base_url(request)
    head = scheduling.head()
    projector = services.projections
    if "availability" not in projector.projections or not services.freshness.caught_up(
            projector, "availability", head, settings.read_wait_seconds):
        return FhirResponse(FhirServer(scheduling, zone).search("Slot", query, scope, base))
    key = AnswerKey("Slot", scope.clinic_ids, scope.online, base, query.pairs)
    answer = services.fhir_answers.get(head, key)
    if answer is None:
        server = FhirServer(scheduling, zone, slot_source=read_model_slots(projector))
        answer = render(server.search("Slot", query, scope, base))
        services.fhir_answers.put(head, key, answer)
    return Response(answer, media_type=FHIR_JSON)


# -- SMART Scheduling Links (public) --------------------------------------------------
def _clinic_param(request: Request) -> UUID | None:
    value = request.query_params.get("clinic")
    return uuid_of(value, "clinic") if value else None


def _portal_param(request: Request) -> str | None:
    """``?portal=KEY``: that booking portal's own feed (the clinics that chose it, W1)."""
    value = request.query_params.get("portal")
    if value is None:
        return None
    known = [p.key for p in load_profiles().portals()]
    if value not in known:
        raise FhirError(400, "invalid", f"unknown portal {value!r}; portals: {', '.join(known)}",
                        code="invalid_value")
    return value


#: The manifest reads nothing from the store: it is built once per base URL, clinic and portal
#: for the ``Cache-Control`` max-age it is sent with.
MANIFESTS = ManifestCache()


@router.get("/$bulk-publish", summary="SMART Scheduling Links manifest (public)",
            responses={200: {"content": {"application/json": {}}}, **outcomes(400, 503)})
def bulk_publish(request: Request, scheduling: SchedulingDep) -> Response:
    """The manifest's URLs start with ``HUB_PUBLIC_URL``, never with the caller's ``Host``:
    the answer is cached publicly, so a forged ``Host`` must not end up in it."""
    settings = request.app.state.services.settings
    public = f"{settings.public_url.rstrip('/')}/fhir/r4"
    body = MANIFESTS.get(public, _clinic_param(request), _portal_param(request),
                         settings.smart_max_age, lambda: datetime.now(UTC).replace(microsecond=0))
    return Response(body, media_type="application/json",
                    headers={"Cache-Control": f"public, max-age={settings.smart_max_age}"})


@router.get("/$bulk-publish/{resource_type}.ndjson", summary="SMART Scheduling Links file (public)",
            responses={200: {"content": {"application/fhir+ndjson": {}}}, **outcomes(400, 404, 503)})
def bulk_publish_file(resource_type: str, request: Request, scheduling: SchedulingDep) -> Response:
    if resource_type not in FILE_TYPES:
        raise FhirError(404, "not-found", f"no {resource_type} file; files: {', '.join(FILE_TYPES)}",
                        code="not_found")
    settings = request.app.state.services.settings
    services = request.app.state.services
    published = publication(StoreReads(scheduling), datetime.now(UTC), _clinic_param(request),
                            settings.smart_booking_link, _portal_param(request),
                            availability_slots(services.projections, scheduling, settings.read_wait_seconds,
                                               services.freshness))
    return Response(ndjson(published.of(resource_type)), media_type="application/fhir+ndjson",
                    headers={"Cache-Control": f"public, max-age={settings.smart_max_age}"})


# -- capability statement (public) ----------------------------------------------------
@router.get("/metadata", summary="CapabilityStatement (public)")
def metadata(request: Request) -> FhirResponse:
    resources = [{
        "type": t,
        "interaction": [{"code": "read"}, {"code": "search-type"}]
        + ([{"code": "create"}, {"code": "update"}] if t == "Appointment" else []),
        "searchParam": [{"name": p, "type": "token" if p not in ("start", "date") else "date"}
                        for p in sorted(SEARCH_PARAMETERS[t])],
    } for t in RESOURCE_TYPES]
    return FhirResponse({
        "resourceType": "CapabilityStatement", "status": "active", "kind": "instance",
        "date": "2026-11-22", "fhirVersion": "4.0.1", "format": ["json"],
        "implementation": {"description": "Appointment hub", "url": base_url(request)},
        "rest": [{"mode": "server", "resource": resources}],
    })


# -- Appointment writes ---------------------------------------------------------------
@router.post("/Appointment", status_code=201, summary="Book through a FHIR Appointment",
             responses={200: {"description": "If-None-Exist matched: the existing appointment"},
                        **WRITES})
def create_appointment(
    request: Request, principal: Booker, scheduling: SchedulingDep,
    body: Annotated[Any, Body(media_type=FHIR_JSON)],
    if_none_exist: Annotated[str | None, Header()] = None,
) -> FhirResponse:
    booking = FhirBooking(server_for(request, scheduling))
    resource, created = booking.create(body, scope_of(principal), if_none_exist)
    location = f"{base_url(request)}/Appointment/{resource['id']}"
    return FhirResponse(resource, status_code=201 if created else 200, headers={"Location": location})


@router.put("/Appointment/{appointment_id}", summary="Update: cancel, move, mark attendance",
            responses=WRITES)
def update_appointment(
    appointment_id: str, request: Request, principal: Booker, scheduling: SchedulingDep,
    body: Annotated[Any, Body(media_type=FHIR_JSON)],
) -> FhirResponse:
    booking = FhirBooking(server_for(request, scheduling))
    return FhirResponse(booking.update(appointment_id, body, scope_of(principal)))


@router.post("/Appointment/{appointment_id}/$cancel", summary="Cancel an appointment",
             responses=WRITES)
def cancel_appointment(
    appointment_id: str, request: Request, principal: Booker, scheduling: SchedulingDep,
    body: Annotated[Any, Body(media_type=FHIR_JSON)] = None,
) -> FhirResponse:
    reason = None
    if body is not None:
        if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
            raise FhirError(400, "structure", "the body must be a FHIR Parameters resource",
                            code="malformed_resource")
        reason = next((p.get("valueString") for p in body.get("parameter") or []
                       if p.get("name") == "reason"), None)
    booking = FhirBooking(server_for(request, scheduling))
    return FhirResponse(booking.cancel(appointment_id, reason, scope_of(principal)))


# -- reads and searches ---------------------------------------------------------------
@router.get("/{resource_type}", summary="Search (searchset Bundle, paged with _count/_offset)",
            responses=READS)
def search(resource_type: str, request: Request, principal: Reader,
           scheduling: SchedulingDep) -> Response:
    query = Query(tuple(request.query_params.multi_items()))
    if resource_type == "Slot":
        return slot_search(request, query, scope_of(principal), scheduling)
    server = server_for(request, scheduling)
    return FhirResponse(server.search(resource_type, query, scope_of(principal), base_url(request)))


@router.get("/{resource_type}/{resource_id}", summary="Read one resource", responses=READS)
def read(resource_type: str, resource_id: str, request: Request, principal: Reader,
         scheduling: SchedulingDep) -> FhirResponse:
    return FhirResponse(server_for(request, scheduling).read(resource_type, resource_id,
                                                             scope_of(principal)))


@router.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                  include_in_schema=False)
def unknown(path: str, request: Request) -> FhirResponse:
    raise FhirError(404, "not-supported", f"{request.method} /fhir/r4/{path} is not supported",
                    code="not_found")
