"""Sessions: staff sign in with e-mail and password and get a short-lived bearer token."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, Field

from aggregates.user import TooManySignInAttempts
from entrypoints.api.deps import Anyone, ServicesDep
from entrypoints.api.errors import ApiError, responses
from entrypoints.api.schemas import Strict
from hub.access.sessions import SignInRefused

router = APIRouter(tags=["sessions"])


class SignInIn(Strict):
    email: Annotated[str, Field(max_length=254, examples=["emmett.brown@clinique.example"])]
    password: Annotated[str, Field(max_length=128)]


class SessionOut(BaseModel):
    token: str = Field(description="send it as `Authorization: Bearer <token>` until it expires")
    expires_at: datetime
    user_id: UUID
    roles: list[str] = Field(description="the user's roles (`agenda`, `info_sante_811`, ...)")
    clinic_ids: list[UUID]


@router.post("/v1/sessions", status_code=status.HTTP_201_CREATED, response_model=SessionOut,
             openapi_extra={"security": []},
             responses={**responses(400, 413, 422, 503),
                        401: {"description": "wrong e-mail or password (`invalid_credentials`)"},
                        429: {"description": "too many failed sign-ins (`too_many_attempts`); "
                              "see Retry-After"}})
def sign_in(body: SignInIn, request: Request, services: ServicesDep) -> SessionOut:
    """Sign in; every sign-in, and every failed one of a known user, is an event of that
    user. After 5 failures within 15 minutes the user waits (429), as does a client address
    with too many failures."""
    client = request.client.host if request.client else ""
    try:
        session = services.users.sessions.sign_in(body.email, body.password, client)
    except SignInRefused as exc:
        raise ApiError(401, exc.code, exc.message) from None
    except TooManySignInAttempts as exc:
        retry_after = str(exc.details.get("retry_after", 60))
        raise ApiError(429, exc.code, exc.message, retry_after=int(retry_after)) from None
    user = services.users.users.get(session.user_id)
    return SessionOut(token=session.token, expires_at=session.expires_at, user_id=user.id,
                      roles=list(user.roles), clinic_ids=list(user.clinic_ids))


@router.delete("/v1/sessions/current", status_code=status.HTTP_204_NO_CONTENT,
               response_class=Response, responses=responses(401, 403, 503))
def sign_out(principal: Anyone, services: ServicesDep) -> Response:
    """End this session (its token stops working); an API token is left as it is."""
    services.users.sessions.sign_out(principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
