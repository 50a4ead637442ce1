"""User administration (SPEC R1, seed 003): add a user with roles and clinics and hand over its
secret code (shown once), a new code, roles and clinics, deactivation; and the user's own
enrolment page. The same ``Users`` use cases as ``/v1/users`` (admins only, as there)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form
from starlette.responses import Response

from aggregates.errors import DomainError
from entrypoints.console.pages import refused, render, see_other
from entrypoints.console.session import PageRefused, Visit, VisitDep
from hub.access.tokens import Role
from hub.access.users import Users
from projections.lists import clinics

router = APIRouter(prefix="/console", include_in_schema=False)
Csrf = Annotated[str, Form(max_length=200)]
Text = Annotated[str, Form(max_length=254)]
Many = Annotated[list[str] | None, Form(max_length=100)]
USER_ROLES = ("agenda", "info_sante_811", "reorientation_hospital", "reorientation_clinic")
TITLES = ("madame", "monsieur", "docteur", "docteure")


def _users(visit: Visit) -> Users:
    if visit.signed_in().role != Role.ADMIN:
        raise PageRefused(403, visit.t("forbidden"))
    return visit.services.users.users


def _clinic_ids(visit: Visit, values: list[str] | None) -> list[UUID]:
    try:
        return [UUID(v) for v in values or []]
    except ValueError:
        raise PageRefused(422, visit.t("invalid_input", what=visit.t("user_clinics"))) from None


def _page(visit: Visit, users: Users, status: int = 200, **context: Any) -> Response:
    model = visit.services.projections.get("suivi").view
    known = clinics(model)
    names = {c["clinic_id"]: c["name"] for c in known}
    return render(visit, "users.html", status=status, users=users.all(), clinics=known,
                  clinic_names=names, roles=USER_ROLES, titles=TITLES,
                  form=context.pop("form", {}), **context)


@router.get("/users")
def users_page(visit: VisitDep, done: str | None = None) -> Response:
    return _page(visit, _users(visit), done=visit.t("access_saved") if done == "access" else None)


@router.post("/users")
def add_user(visit: VisitDep, csrf: Csrf = "", email: Text = "", title: Text = "",
             first_name: Text = "", last_name: Text = "", roles: Many = None,
             clinic_ids: Many = None) -> Response:
    """Add a user; the page shows its secret code once (seed 003 step 5)."""
    visit.check_csrf(csrf)
    users = _users(visit)
    form = {"email": email, "title": title, "first_name": first_name, "last_name": last_name,
            "roles": roles or [], "clinic_ids": clinic_ids or []}
    if title not in TITLES or not roles or any(r not in USER_ROLES for r in roles):
        what = visit.t("title") if title not in TITLES else visit.t("services_roles")
        return _page(visit, users, 422, form=form, error=visit.t("invalid_input", what=what))
    with visit.acting():
        try:
            added = users.add(email.strip(), title, first_name.strip(), last_name.strip(), list(roles),
                              _clinic_ids(visit, clinic_ids))
        except DomainError as exc:
            status, message = refused(visit, exc)
            return _page(visit, users, status, form=form, error=message)
    return _page(visit, users, 201, code={"who": email.strip(), "code": added.secret_code,
                                          "until": f"{added.expires_at:%Y-%m-%d %H:%M} UTC"},
                 code_message="user_added")


@router.post("/users/{user_id}/secret-code")
def new_code(user_id: UUID, visit: VisitDep, csrf: Csrf = "") -> Response:
    visit.check_csrf(csrf)
    users = _users(visit)
    with visit.acting():
        try:
            issued = users.new_secret_code(user_id)
            who = users.get(user_id).email
        except DomainError as exc:
            status, message = refused(visit, exc)
            return _page(visit, users, status, error=message)
    return _page(visit, users, code={"who": who, "code": issued.secret_code,
                                     "until": f"{issued.expires_at:%Y-%m-%d %H:%M} UTC"},
                 code_message="code_issued")


@router.post("/users/{user_id}/access")
def change_access(user_id: UUID, visit: VisitDep, csrf: Csrf = "", roles: Many = None,
                  clinic_ids: Many = None, active: Text = "") -> Response:
    """New roles and clinics (the whole lists), or deactivate / reactivate."""
    visit.check_csrf(csrf)
    users = _users(visit)
    with visit.acting():
        try:
            if active in ("yes", "no"):
                users.set_active(user_id, active == "yes")
            else:
                if not roles or any(r not in USER_ROLES for r in roles):
                    return _page(visit, users, 422, error=visit.t("invalid_input",
                                                                  what=visit.t("services_roles")))
                users.change_access(user_id, list(roles), _clinic_ids(visit, clinic_ids))
        except DomainError as exc:
            status, message = refused(visit, exc)
            return _page(visit, users, status, error=message)
    return see_other(visit, "/console/users?done=access")


@router.get("/enroll")
def enroll_page(visit: VisitDep) -> Response:
    return render(visit, "enroll.html")


@router.post("/enroll")
def enroll(visit: VisitDep, csrf: Csrf = "", email: Text = "",
           secret_code: Annotated[str, Form(max_length=64)] = "",
           password: Annotated[str, Form(max_length=128)] = "") -> Response:
    """The new user's own step: e-mail, the secret code, a password (``/v1/users/enroll``)."""
    visit.check_csrf(csrf)
    try:
        visit.services.users.users.enroll(email.strip(), secret_code.strip(), password)
    except DomainError as exc:
        status, message = refused(visit, exc)
        return render(visit, "enroll.html", status=status, error=message, email=email)
    return see_other(visit, "/console/login?reason=enrolled")
