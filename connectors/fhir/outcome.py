"""FHIR errors as OperationOutcome: the hub's domain errors keep their HTTP status and code."""

from __future__ import annotations

from typing import Any

from aggregates.errors import Conflict, DomainError, InvalidValue, NotFound
from connectors.fhir.codes import HUB

ERROR_SYSTEM = f"{HUB}/CodeSystem/error"


class FhirError(Exception):
    """A refusal decided by the FHIR layer (bad search parameter, unsupported resource, ...)."""

    def __init__(self, status: int, issue: str, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.issue = issue
        self.message = message
        self.code = code or issue.replace("-", "_")


def operation_outcome(issue: str, message: str, code: str, severity: str = "error",
                      expression: list[str] | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "severity": severity,
        "code": issue,
        "details": {"coding": [{"system": ERROR_SYSTEM, "code": code}], "text": message},
        "diagnostics": message,
    }
    if expression:
        entry["expression"] = expression
    return {"resourceType": "OperationOutcome", "issue": [entry]}


def from_domain(exc: DomainError) -> tuple[int, dict[str, Any]]:
    """The same status as the native API (404, 409, 422, 503), the same ``code``."""
    if isinstance(exc, NotFound):
        status, issue = 404, "not-found"
    elif isinstance(exc, Conflict):
        status, issue = 409, "conflict" if exc.code in ("conflict", "slot_full") else "business-rule"
    elif isinstance(exc, InvalidValue):
        status, issue = 422, "invalid"
    elif exc.code == "store_busy":
        status, issue = 503, "transient"
    else:
        status, issue = 400, "processing"
    field = exc.details.get("field") if exc.details else None
    return status, operation_outcome(issue, exc.message, exc.code,
                                     expression=[str(field)] if field else None)


def from_fhir(exc: FhirError) -> tuple[int, dict[str, Any]]:
    return exc.status, operation_outcome(exc.issue, exc.message, exc.code)
