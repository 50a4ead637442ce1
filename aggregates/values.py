"""Value rules shared by the aggregates: enumerations, NAM, instants."""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum

from aggregates.errors import InvalidValue


class ApplicationType(StrEnum):
    PUBLIC_HEALTH = "public_health"
    ENTERPRISE = "enterprise"
    PHARMACY = "pharmacy"
    CLINIC = "clinic"


class ProfessionalType(StrEnum):
    GP = "gp"
    IPS = "ips"
    NURSE = "nurse"
    RESIDENT = "resident"
    EXTERN = "extern"
    SPECIALIST = "specialist"
    OTHER = "other"


class ServiceCategory(StrEnum):
    IN_PERSON = "in_person"
    PHONE = "phone"
    VIRTUAL = "virtual"
    HOME = "home"
    SILENT = "silent"


class Source(StrEnum):
    EMR = "emr"
    PORTAL = "portal"
    ADMIN = "admin"
    CITIZEN = "citizen"

    @property
    def is_online(self) -> bool:
        """Portal and citizen bookings only see unlocked slots of online services."""
        return self in (Source.PORTAL, Source.CITIZEN)


class AttendanceStatus(StrEnum):
    UNDEFINED = "undefined"
    PRESENT = "present"
    ABSENT = "absent"


class Language(StrEnum):
    FR = "fr"
    EN = "en"


def choice(enum: type[StrEnum], value: str, what: str) -> str:
    """Return ``value`` as a plain string if it is one of ``enum``'s values."""
    try:
        return str(enum(value))
    except ValueError:
        allowed = ", ".join(e.value for e in enum)
        raise InvalidValue(f"{what} must be one of {allowed}; got {value!r}", field=what) from None


_NAM = re.compile(r"^[A-Z]{4}\d{8}$")


def normalise_nam(nam: str) -> str:
    """Validate a Quebec health insurance number (NAM) and return it upper-case.

    Four letters, then eight digits: YYMMDD (month + 50 for women) and two more.
    """
    cleaned = re.sub(r"\s+", "", nam).upper()
    if not _NAM.match(cleaned):
        raise InvalidValue(
            "NAM must be 4 letters followed by 8 digits (e.g. TREM85010112)", field="nam"
        )
    month = int(cleaned[6:8])
    day = int(cleaned[8:10])
    if month > 50:
        month -= 50
    if not (1 <= month <= 12 and 1 <= day <= 31):
        raise InvalidValue(
            "NAM digits 3-6 must hold a birth month (01-12, or 51-62) and day (01-31)",
            field="nam",
        )
    return cleaned


class NamBirthDateMismatch(InvalidValue):
    """The birth date disagrees with the NAM's YYMMDD digits."""

    code = "nam_birth_date_mismatch"


def require_nam_matches_birth_date(nam: str, birth_date: date | str) -> None:
    """Refuse a birth date other than the one the NAM encodes (YYMMDD, month + 50 for women).

    The NAM holds only the year's last two digits, so 1925 and 2025 both match ``25``.
    """
    if isinstance(birth_date, str):
        birth_date = date.fromisoformat(birth_date)
    year, month, day = int(nam[4:6]), int(nam[6:8]), int(nam[8:10])
    if (
        birth_date.year % 100 != year
        or birth_date.month not in (month, month - 50)
        or birth_date.day != day
    ):
        raise NamBirthDateMismatch(
            "the birth date does not match the NAM (its digits 1-6 are the birth date YYMMDD, "
            "month + 50 for women): correct the NAM or the birth date",
            field="birth_date",
        )


def mask_nam(nam: str | None) -> str:
    """Hide all but the last four characters of a NAM."""
    if not nam:
        return ""
    return "*" * (len(nam) - 4) + nam[-4:]


def require_aware(instant: datetime, what: str) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise InvalidValue(f"{what} must be a timezone-aware instant (with an offset)", field=what)
    return instant


def require_past_date(day: date, what: str, today: date) -> date:
    if day >= today:
        raise InvalidValue(f"{what} must be in the past", field=what)
    return day
