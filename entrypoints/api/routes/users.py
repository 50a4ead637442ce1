"""Users (R1, seed 003): add a user and get its secret code, enrolment, new code, password
reset, roles and clinics, deactivation. Administrators only, except enrolment and the reset
link's page, which the user reaches with a one-time secret instead of a token."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Response, status
from pydantic import BaseModel, Field

from aggregates.user import User
from entrypoints.api.deps import Admin, Anyone, ServicesDep
from entrypoints.api.errors import ApiError, responses
from entrypoints.api.idempotency import IdempotencyKey
from entrypoints.api.schemas import Page, PageParams, Strict, page_params
from hub.access.users import EmailFailed, Users

router = APIRouter(tags=["users"])

RoleName = Literal["agenda", "info_sante_811", "reorientation_hospital", "reorientation_clinic"]
Email = Annotated[str, Field(max_length=254, examples=["emmett.brown@clinique.example"])]
Password = Annotated[str, Field(max_length=128, description="12 to 128 characters, not your "
                                "e-mail name or names", examples=["correct horse battery staple"])]
Roles = Annotated[list[RoleName], Field(min_length=1, max_length=4)]
ClinicIds = Annotated[list[UUID], Field(max_length=100)]


class UserIn(Strict):
    email: Email
    title: Literal["madame", "monsieur", "docteur", "docteure"]
    first_name: str = Field(min_length=1, max_length=100, examples=["Emmett"])
    last_name: str = Field(min_length=1, max_length=100, examples=["Brown"])
    roles: Roles
    clinic_ids: ClinicIds = Field(default_factory=list,
                                  description="the clinics an `agenda` user acts for")


class UserPatch(Strict):
    roles: Roles | None = None
    clinic_ids: ClinicIds | None = None
    active: bool | None = Field(default=None, description="false deactivates the user")


class EnrolIn(Strict):
    email: Email
    secret_code: str = Field(min_length=1, max_length=64, examples=["K7Q2-M9XD-4RTP-W8ZC"])
    password: Password


class PasswordIn(Strict):
    token: str = Field(min_length=1, max_length=200, description="the token of the reset link")
    password: Password


class UserOut(BaseModel):
    id: UUID
    email: str
    title: str
    first_name: str
    last_name: str
    roles: list[str]
    clinic_ids: list[UUID]
    active: bool
    enrolled: bool
    last_sign_in: datetime | None
    version: int


class UserWritten(UserOut):
    position: int = Field(ge=0, description="log position of the last event written")


class SecretCodeOut(BaseModel):
    id: UUID = Field(description="the user's id")
    secret_code: str = Field(description="shown once: hand it to the user, who enrols with it")
    expires_at: datetime
    position: int


class AddedOut(UserOut):
    secret_code: str = Field(description="shown once: hand it to the user, who enrols with it")
    secret_code_expires_at: datetime
    position: int


class ResetOut(BaseModel):
    id: UUID
    sent_to: str = Field(description="the address the link went to, masked")
    expires_at: datetime
    position: int


def user_out(user: User) -> UserOut:
    return UserOut(id=user.id, email=user.email, title=user.title, first_name=user.first_name,
                   last_name=user.last_name, roles=list(user.roles),
                   clinic_ids=list(user.clinic_ids), active=user.active, enrolled=user.enrolled,
                   last_sign_in=user.last_sign_in, version=user.version)


def mask_email(email: str) -> str:
    name, _, domain = email.partition("@")
    return f"{name[:1]}***@{domain}"


async def _users(services: ServicesDep) -> Users:
    return services.users.users


UsersDep = Annotated[Users, Depends(_users)]


@router.post("/v1/users", status_code=status.HTTP_201_CREATED, response_model=AddedOut,
             responses=responses(400, 401, 403, 404, 409, 413, 422, 503))
def add_user(body: UserIn, principal: Admin, users: UsersDep,
             _key: IdempotencyKey = None) -> AddedOut:
    """Add a user with roles and clinics; the answer holds its secret code, shown once.
    409 ``email_taken`` when a user already has this e-mail (change that user instead)."""
    added = users.add(body.email, body.title, body.first_name, body.last_name, list(body.roles),
                      body.clinic_ids)
    return AddedOut(**user_out(users.get(added.id)).model_dump(), secret_code=added.secret_code,
                    secret_code_expires_at=added.expires_at, position=added.position)


@router.get("/v1/users", response_model=Page[UserOut], responses=responses(401, 403, 422, 503))
def list_users(principal: Admin, users: UsersDep,
               page: Annotated[PageParams, Depends(page_params)]) -> Page[UserOut]:
    """Every user, in the order they were added."""
    everyone = users.all()
    chosen = everyone[page.after:page.after + page.limit]
    next_after = page.after + len(chosen) if page.after + len(chosen) < len(everyone) else None
    return Page(items=[user_out(u) for u in chosen], next_after=next_after)


@router.get("/v1/users/me", response_model=UserOut, responses=responses(401, 403, 404, 503))
def me(principal: Anyone, users: UsersDep) -> UserOut:
    """The signed-in user (a session token; an API token is no user: 404)."""
    if principal.user_id is None:
        raise ApiError(404, "not_found", "this token is an API token, not a user's session")
    return user_out(users.get(principal.user_id))


@router.get("/v1/users/{user_id}", response_model=UserOut,
            responses=responses(401, 403, 404, 422, 503))
def get_user(user_id: UUID, principal: Admin, users: UsersDep) -> UserOut:
    return user_out(users.get(user_id))


@router.patch("/v1/users/{user_id}", response_model=UserWritten,
              responses=responses(400, 401, 403, 404, 409, 413, 422, 503))
def change_user(user_id: UUID, body: UserPatch, principal: Admin, users: UsersDep) -> UserWritten:
    """Add or remove roles and clinics (the whole new lists), or deactivate/reactivate.
    Each change is an event of the user (its audit shows who changed what)."""
    if body.roles is not None or body.clinic_ids is not None:
        users.change_access(user_id, None if body.roles is None else list(body.roles),
                            body.clinic_ids)
    if body.active is not None:
        users.set_active(user_id, body.active)
    return UserWritten(**user_out(users.get(user_id)).model_dump(), position=users.app.head())


@router.post("/v1/users/{user_id}/secret-code", status_code=status.HTTP_201_CREATED,
             response_model=SecretCodeOut, responses=responses(400, 401, 403, 404, 409, 503))
def new_secret_code(user_id: UUID, principal: Admin, users: UsersDep,
                    _key: IdempotencyKey = None) -> SecretCodeOut:
    """A new secret code, shown once; the previous one stops working at once."""
    issued = users.new_secret_code(user_id)
    return SecretCodeOut(id=issued.id, secret_code=issued.secret_code,
                         expires_at=issued.expires_at, position=issued.position)


@router.post("/v1/users/{user_id}/password-reset", status_code=status.HTTP_202_ACCEPTED,
             response_model=ResetOut, responses=responses(400, 401, 403, 404, 409, 503))
def password_reset(user_id: UUID, principal: Admin, users: UsersDep,
                   _key: IdempotencyKey = None) -> ResetOut:
    """E-mail the user a one-time link to choose a new password (seed 003); 409
    ``email_unavailable`` when no e-mail relay is configured, ``not_enrolled`` before
    enrolment (make a new secret code instead)."""
    try:
        link = users.request_password_reset(user_id)
    except EmailFailed as exc:
        raise ApiError(503, exc.code, exc.message) from None
    return ResetOut(id=user_id, sent_to=mask_email(link.email), expires_at=link.expires_at,
                    position=link.position)


@router.post("/v1/users/enroll", response_model=UserOut, openapi_extra={"security": []},
             responses=responses(400, 409, 413, 422, 503))
def enroll(body: EnrolIn, users: UsersDep) -> UserOut:
    """Finish enrolment: e-mail, the secret code from the administrator, a new password.
    The code works once; 5 wrong tries lock it (ask for a new one)."""
    return user_out(users.enroll(body.email, body.secret_code, body.password))


@router.post("/v1/users/password", status_code=status.HTTP_204_NO_CONTENT,
             response_class=Response, openapi_extra={"security": []},
             responses=responses(400, 409, 413, 422, 503))
def set_password(body: PasswordIn, users: UsersDep) -> Response:
    """Choose a new password with the token of the e-mailed reset link (works once)."""
    users.reset_password(body.token, body.password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
