"""API tokens over HTTP: the list (admin) and rotation (admin, or a token rotating itself).

Creation stays on the command line (``hub tokens create``); rotation lets an integration
(an EMR, a portal) replace its own token before it expires, without an operator: the answer
carries the new secret once, and the old one keeps working a short grace period.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field

from entrypoints.api.deps import Admin, Anyone, ServicesDep
from entrypoints.api.errors import ApiError, responses
from hub.access.tokens import Principal, Role, rotate, state_of

router = APIRouter(tags=["tokens"])


def _rotator(subject: Annotated[str, Path(max_length=100, description="the token's subject "
                                          "(tok_...)")],
             principal: Anyone) -> Principal:
    """Admins rotate any token; any other caller only its own (checked before the body)."""
    if principal.role != Role.ADMIN and principal.subject != subject:
        raise ApiError(403, "forbidden", "a token may rotate only itself (admins: any token)")
    return principal


Rotator = Annotated[Principal, Depends(_rotator)]


class TokenOut(BaseModel):
    subject: str
    role: str
    clinic_ids: list[str]
    created_at: str
    expires_at: str | None = Field(description="null: made before tokens expired (rotate it)")
    state: str = Field(description="live | rotated (old secret in its grace period) | expired "
                       "| revoked | no_expiry")
    rotated_to: str | None = None
    revoked_at: str | None = None


class TokensOut(BaseModel):
    items: list[TokenOut]


class RotateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grace_minutes: int | None = Field(
        default=None, ge=0, le=7 * 24 * 60,
        description="how long the old secret keeps working (default HUB_TOKEN_ROTATION_GRACE_MINUTES)")
    expires_in_days: int | None = Field(
        default=None, ge=1, le=730, description="lifetime of the new token (default HUB_TOKEN_TTL_DAYS)")


class RotatedOut(BaseModel):
    subject: str
    token: str = Field(description="the new secret, shown once")
    expires_at: str
    previous: TokenOut


@router.get("/v1/tokens", response_model=TokensOut, responses=responses(401, 403, 503))
def list_tokens(principal: Admin, services: ServicesDep) -> TokensOut:
    """Every API token (never a secret): role, clinics, expiry and state (admin)."""
    return TokensOut(items=[
        TokenOut(subject=r.subject, role=r.role, clinic_ids=list(r.clinic_ids),
                 created_at=r.created_at, expires_at=r.expires_at, state=state_of(r),
                 rotated_to=r.rotated_to, revoked_at=r.revoked_at)
        for r in services.access.tokens()])


@router.post("/v1/tokens/{subject}/rotate", response_model=RotatedOut,
             responses=responses(401, 403, 404, 409, 422, 503))
def rotate_token(subject: Annotated[str, Path(max_length=100)], principal: Rotator,
                 services: ServicesDep, body: RotateIn | None = None) -> RotatedOut:
    """Replace a token by a new one (same role and clinics, new secret, new expiry); the old
    secret keeps working ``grace_minutes`` more, then answers 401 ``token_expired``. Admins
    rotate any token; any other API token only itself. A revoked, expired or already rotated
    token: 409, nothing written. Not kept for ``Idempotency-Key`` replays (the answer holds a
    secret)."""
    if not subject.startswith("tok_"):
        raise ApiError(404, "not_found", "no such token (give its subject tok_...)")
    asked = body or RotateIn()
    settings = services.settings
    grace = timedelta(minutes=settings.token_rotation_grace_minutes
                      if asked.grace_minutes is None else asked.grace_minutes)
    expires_in = None if asked.expires_in_days is None else timedelta(days=asked.expires_in_days)
    old, new, secret = rotate(services.access, subject, grace=grace, expires_in=expires_in,
                              default_ttl=timedelta(days=settings.token_ttl_days))
    services.forget_tokens()  # the old secret's new expiry holds from the next request on
    assert new.expires_at is not None  # noqa: S101 - a new token always expires
    return RotatedOut(
        subject=new.subject, token=secret, expires_at=new.expires_at,
        previous=TokenOut(subject=old.subject, role=old.role, clinic_ids=list(old.clinic_ids),
                          created_at=old.created_at, expires_at=old.expires_at,
                          state=state_of(old), rotated_to=old.rotated_to))
