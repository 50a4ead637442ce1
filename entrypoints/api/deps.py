"""FastAPI dependencies as ``Annotated`` aliases: the application, the caller, its scope.

``CurrentPrincipal`` authenticates the bearer token and makes every command run in the
request acting as that token (``acting_as``), so stored events record who did it.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from adapters.sqlaccessstore import AccessStore
from entrypoints.api.errors import ApiError
from entrypoints.api.services import ApiServices
from hub.access.tokens import Principal, Role
from hub.actor import act_as
from hub.scheduling.service import Scheduling
from hub.settings import Settings

_bearer = HTTPBearer(auto_error=False, description="an API token from `hub tokens create`, "
                     "or a session token from `POST /v1/sessions`")


# The dependencies that only pick an attribute are ``async``: FastAPI runs a plain ``def``
# dependency in the threadpool, a hop per dependency per request.
async def get_services(request: Request) -> ApiServices:
    services: ApiServices = request.app.state.services
    return services


ServicesDep = Annotated[ApiServices, Depends(get_services)]


async def get_scheduling(services: ServicesDep) -> Scheduling:
    return services.scheduling


async def get_access(services: ServicesDep) -> AccessStore:
    return services.access


async def get_settings(services: ServicesDep) -> Settings:
    return services.settings


SchedulingDep = Annotated[Scheduling, Depends(get_scheduling)]
AccessDep = Annotated[AccessStore, Depends(get_access)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


async def _token_principal(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller: a token this server remembers (no I/O, no thread), else looked up in the
    threadpool (it reads the database)."""
    if credentials is not None and credentials.scheme.lower() == "bearer":
        remembered = services.remembered(credentials.credentials)
        if remembered is not None:
            return remembered
    return await run_in_threadpool(_looked_up_principal, services, credentials)


def _looked_up_principal(services: ApiServices,
                         credentials: HTTPAuthorizationCredentials | None) -> Principal:
    """Look the bearer token up: a session token of a signed-in user, else an API token."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiError(401, "unauthenticated", "send an API token: Authorization: Bearer <token>")
    principal = services.authenticate(credentials.credentials)
    if principal is None:
        expired = services.token_expired_at(credentials.credentials)
        if expired is not None:
            raise ApiError(401, "token_expired", f"this token expired at {expired}: ask an "
                           "admin for a new one (hub tokens rotate / hub tokens create)",
                           expired_at=expired)
        raise ApiError(401, "unauthenticated", "this token is unknown, revoked or expired")
    return principal


async def _acting_principal(
    principal: Annotated[Principal, Depends(_token_principal)],
) -> Principal:
    """Run the rest of the request as the token's actor. It is set in the request's own
    context, which the threadpool copies into sync endpoints: each request runs in an asyncio
    task of its own (uvicorn, Starlette's test client), so it ends with the request. Not a
    ``yield`` dependency: FastAPI's exit stack for one cost about a fifth of its dependency
    solving on every request."""
    act_as(principal.actor)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(_acting_principal)]


def require_role(*roles: Role | str) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency that lets only these roles through (403 otherwise)."""
    allowed = frozenset(Role(r) for r in roles)

    async def guard(principal: CurrentPrincipal) -> Principal:
        if principal.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise ApiError(403, "forbidden", f"role {principal.role.value} may not do this "
                           f"(allowed: {names})", role=principal.role.value)
        return principal

    return guard


def require_clinic(principal: Principal, clinic_id: UUID | None, hide: bool = False) -> None:
    """Refuse a clinic outside the token's scope: 403 for a clinic named in the path, 404
    (``hide=True``) for a resource found through another id, so its existence does not leak."""
    if principal.acts_for(clinic_id):
        return
    if hide or clinic_id is None:
        raise ApiError(404, "not_found", "no such resource for this token")
    raise ApiError(403, "forbidden", f"this token does not act for clinic {clinic_id}",
                   clinic_id=str(clinic_id))


#: Role sets used by the routers.
WRITERS = (Role.ADMIN, Role.EMR, Role.CLINIC_STAFF)
BOOKERS = (Role.ADMIN, Role.EMR, Role.CLINIC_STAFF, Role.PORTAL)
READERS = (Role.ADMIN, Role.EMR, Role.CLINIC_STAFF, Role.PORTAL, Role.OPS)

Admin = Annotated[Principal, Depends(require_role(Role.ADMIN))]
Writer = Annotated[Principal, Depends(require_role(*WRITERS))]
Booker = Annotated[Principal, Depends(require_role(*BOOKERS))]
Reader = Annotated[Principal, Depends(require_role(*READERS))]
Staff = Annotated[Principal, Depends(require_role(Role.ADMIN, Role.CLINIC_STAFF))]
#: Bookers and readers of availability, plus 811 and reorientation users (R2): they see and
#: book only other clinics' slots reserved for them.
ReorientingBooker = Annotated[Principal, Depends(require_role(*BOOKERS, Role.REFERRER))]
ReorientingReader = Annotated[Principal, Depends(require_role(*READERS, Role.REFERRER))]
#: Anyone signed in (API token or session): their own session.
Anyone = Annotated[Principal, Depends(require_role(*Role))]
