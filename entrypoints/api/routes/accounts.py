"""Citizen accounts (seed 001, CONTRACT "Citizen accounts", A1–A6).

Portals open accounts for citizens and act for the accounts they opened; clinic staff of a
clinic holding one of the account's appointments identify the holder and validate
associations (admin: any). Icons: ``grey`` (no account), ``red``, ``green``.
"""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, Field

from aggregates.account import Account
from aggregates.account_icons import Icon
from aggregates.errors import NotFound
from entrypoints.api.appointment_models import PatientIn
from entrypoints.api.deps import ServicesDep, Staff, require_role
from entrypoints.api.errors import ApiError, responses
from entrypoints.api.routes.patients import PatientPatch
from entrypoints.api.schemas import Strict
from hub.access.tokens import Principal, Role
from hub.access.visibility import Viewer
from hub.accounts.service import Accounts

router = APIRouter(prefix="/v1/accounts", tags=["accounts"])
Opener = Annotated[Principal, Depends(require_role(Role.PORTAL, Role.ADMIN))]
Reader = Annotated[Principal, Depends(require_role(Role.PORTAL, Role.ADMIN, Role.CLINIC_STAFF,
                                                    Role.OPS))]


class AccountIn(Strict):
    email: str = Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
                       examples=["famille@exemple.ca"],
                       description="the e-mail the citizen signs in with (not a staff user's)")
    holder: PatientIn


class AssociationIn(Strict):
    patient: PatientIn


class Confirmed(Strict):
    confirmed: Literal[True] = Field(description="the clinic checked the person's identity")


class Opened(BaseModel):
    id: UUID
    holder_patient_id: UUID
    identity: Icon
    position: int


class Member(BaseModel):
    patient_id: UUID
    association: Icon


class AccountOut(BaseModel):
    id: UUID
    email: str
    holder_patient_id: UUID
    identity: Icon
    patients: list[Member] = Field(description="the patients associated with the account")
    clinic_ids: list[UUID] = Field(description="clinics holding one of its appointments")
    version: int


class AccountWritten(AccountOut):
    position: int


class AssociationOut(BaseModel):
    patient_id: UUID
    association: Icon
    position: int


async def get_accounts(services: ServicesDep) -> Accounts:
    return services.accounts


AccountsDep = Annotated[Accounts, Depends(get_accounts)]


def account_out(account: Account) -> AccountOut:
    return AccountOut(
        id=account.id, email=account.email, holder_patient_id=account.holder_patient_id,
        identity=Icon.GREEN if account.identity_validated else Icon.RED,
        patients=[Member(patient_id=p, association=account.icons_for(p).association)
                  for p in account.member_ids],
        clinic_ids=account.clinic_ids, version=account.version)


def load_visible(accounts: Accounts, principal: Principal, account_id: UUID) -> Account:
    """An account the token sees (``hub.access.visibility``), else 404."""
    try:
        account = accounts.get(account_id)
    except NotFound:
        account = None
    if account is None or not Viewer.of(principal).account(account):
        raise ApiError(404, "not_found", "no such account for this token")
    return account


def _patient(body: PatientIn) -> dict[str, object]:
    patient = body.model_dump(exclude_none=True)
    patient["birth_date"] = body.birth_date.isoformat()
    return patient


def _written(accounts: Accounts, account_id: UUID, position: int) -> AccountWritten:
    return AccountWritten(**account_out(accounts.get(account_id)).model_dump(), position=position)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Opened,
             responses=responses(400, 401, 403, 409, 413, 422, 503))
def open_account(body: AccountIn, principal: Opener, accounts: AccountsDep) -> Opened:
    """Open a family's account (A1); 409 ``staff_email`` for a staff user's e-mail (A6),
    ``account_email_in_use`` when another account signs in with it."""
    opened = accounts.open(body.email, _patient(body.holder))
    return Opened(id=opened.id, holder_patient_id=opened.holder_patient_id, identity=Icon.RED,
                  position=opened.position)


@router.get("/{account_id}", response_model=AccountOut,
            responses=responses(401, 403, 404, 422, 503))
def get_account(account_id: UUID, principal: Reader, accounts: AccountsDep) -> AccountOut:
    """The account, its patients and their icons. The read of its e-mail (its holder's) is
    recorded (``GET /v1/phi-reads``)."""
    return account_out(load_visible(accounts, principal, account_id))


@router.post("/{account_id}/patients", status_code=status.HTTP_201_CREATED,
             response_model=AssociationOut, responses=responses(400, 401, 403, 404, 409, 413,
                                                                422, 503))
def add_patient(account_id: UUID, body: AssociationIn, principal: Opener,
                accounts: AccountsDep) -> AssociationOut:
    """The citizen asks to associate another patient (A3): red until a clinic validates it."""
    load_visible(accounts, principal, account_id)
    written = accounts.add_patient(account_id, _patient(body.patient))
    association = accounts.get(account_id).icons_for(written.id).association
    return AssociationOut(patient_id=written.id, association=association,
                          position=written.position)


@router.patch("/{account_id}/holder", response_model=AccountWritten,
              responses=responses(400, 401, 403, 404, 409, 413, 422, 503))
def update_holder(account_id: UUID, body: PatientPatch, principal: Opener,
                  accounts: AccountsDep) -> AccountWritten:
    """The holder's own update of their record: puts the identity back to red (A2). Refused
    with ``identity_not_validated`` until a clinic identified the holder."""
    load_visible(accounts, principal, account_id)
    changes = body.model_dump(mode="json", exclude_unset=True)
    if not changes:
        raise ApiError(422, "invalid_value", "send at least one field to change")
    written = accounts.update_holder(account_id, changes)
    return _written(accounts, account_id, written.position)


@router.post("/{account_id}/identity", response_model=AccountWritten,
             responses=responses(400, 401, 403, 404, 409, 413, 422, 503))
def identify(account_id: UUID, body: Confirmed, principal: Staff,
             accounts: AccountsDep) -> AccountWritten:
    """The clinic validated the holder's identity (A2, seed 001 §3.1): green, once. Only a
    clinic holding one of the account's appointments: else 409 ``no_appointment_in_clinic``."""
    account = load_account(accounts, account_id)
    written = accounts.identify(account.id, _clinics(principal))
    return _written(accounts, account_id, written.position)


@router.post("/{account_id}/patients/{patient_id}/association", response_model=AssociationOut,
             responses=responses(400, 401, 403, 404, 409, 413, 422, 503))
def validate_association(account_id: UUID, patient_id: UUID, body: Confirmed, principal: Staff,
                         accounts: AccountsDep) -> AssociationOut:
    """The clinic validated the patient's association (A3, seed 001 §3.2): green, once; 409
    ``identity_not_validated`` while the holder's identity is red."""
    account = load_account(accounts, account_id)
    written = accounts.validate_association(account.id, patient_id, _clinics(principal))
    association = accounts.get(account_id).icons_for(patient_id).association
    return AssociationOut(patient_id=patient_id, association=association,
                          position=written.position)


def load_account(accounts: Accounts, account_id: UUID) -> Account:
    """For the clinic's validations: the account must exist (404); whether this clinic may
    validate it is the account's own rule (409 ``no_appointment_in_clinic``)."""
    try:
        return accounts.get(account_id)
    except NotFound:
        raise ApiError(404, "not_found", "no such account") from None


def _clinics(principal: Principal) -> frozenset[UUID] | None:
    return None if principal.all_clinics else frozenset(principal.clinic_ids)
