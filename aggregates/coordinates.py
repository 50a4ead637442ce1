"""A Canadian clinic's coordinates (seed 002 "Coordonnées"): address, province, postal code,
phone number and extension, checked and put in one canonical form.

Each rule raises ``InvalidValue`` naming the field, with a message a person can act on.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from aggregates.errors import InvalidValue

#: The thirteen provinces and territories, by their Canada Post code.
PROVINCES: dict[str, str] = {
    "AB": "Alberta",
    "BC": "British Columbia / Colombie-Britannique",
    "MB": "Manitoba",
    "NB": "New Brunswick / Nouveau-Brunswick",
    "NL": "Newfoundland and Labrador / Terre-Neuve-et-Labrador",
    "NS": "Nova Scotia / Nouvelle-Écosse",
    "NT": "Northwest Territories / Territoires du Nord-Ouest",
    "NU": "Nunavut",
    "ON": "Ontario",
    "PE": "Prince Edward Island / Île-du-Prince-Édouard",
    "QC": "Quebec / Québec",
    "SK": "Saskatchewan",
    "YT": "Yukon",
}

NAME_MAX = 200
STREET_MAX = 200
SUITE_MAX = 20
CITY_MAX = 100
EXTENSION_MAX = 8

# Canada Post: letter digit letter, space, digit letter digit. D, F, I, O, Q and U never
# appear; W and Z never come first.
_POSTAL = re.compile(
    r"([ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z])[ -]?(\d[ABCEGHJ-NPRSTV-Z]\d)", re.ASCII
)
# North American numbering plan: area code and exchange start with 2-9.
_PHONE = re.compile(r"(?:\+?1)?([2-9]\d{2})([2-9]\d{2})(\d{4})", re.ASCII)
_PHONE_PUNCTUATION = re.compile(r"[\s().\-]")
_DIGITS = re.compile(r"[0-9]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Address:
    """A street address in Canada; ``suite`` (bureau) is optional."""

    street: str
    city: str
    province: str
    postal_code: str
    suite: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return asdict(self)


def text(value: object, field: str, maximum: int, required: bool = True) -> str | None:
    """``value`` stripped, on one line and at most ``maximum`` characters (``None`` if empty
    and not required)."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidValue(f"{field} must be text", field=field)
    cleaned = value.strip()
    if not cleaned:
        if required:
            raise InvalidValue(f"{field} is required", field=field)
        return None
    if _CONTROL.search(cleaned):
        raise InvalidValue(f"{field} must be on one line, without control characters", field=field)
    if len(cleaned) > maximum:
        raise InvalidValue(
            f"{field} must have at most {maximum} characters; got {len(cleaned)}", field=field,
            maximum=maximum,
        )
    return cleaned


def clinic_name(value: object) -> str:
    """The clinic's name: 1 to 200 characters (seed 002 "200 carac. max.")."""
    return _required(text(value, "name", NAME_MAX))


def province(value: object) -> str:
    """A province or territory code (``QC``, ``ON``, ...), case-insensitive."""
    code = (value if isinstance(value, str) else "").strip().upper()
    if code not in PROVINCES:
        raise InvalidValue(
            f"province must be a Canadian province or territory code: {', '.join(PROVINCES)}",
            field="address.province",
        )
    return code


def postal_code(value: object) -> str:
    """A Canadian postal code as ``A1A 1A1`` (spaces, hyphen and case forgiven)."""
    raw = (value if isinstance(value, str) else "").strip().upper()
    match = _POSTAL.fullmatch(raw)
    if not match:
        raise InvalidValue(
            "postal code must be a Canadian postal code such as G1K 7P4 "
            "(letter digit letter, digit letter digit)",
            field="address.postal_code",
        )
    return f"{match.group(1)} {match.group(2)}"


def address(street: object, city: object, province_code: object, postal: object,
            suite: object = None) -> Address:
    """A whole address, each part checked (the first wrong part is named)."""
    return Address(
        street=_required(text(street, "address.street", STREET_MAX)),
        suite=text(suite, "address.suite", SUITE_MAX, required=False),
        city=_required(text(city, "address.city", CITY_MAX)),
        province=province(province_code),
        postal_code=postal_code(postal),
    )


def phone(value: object) -> str:
    """A North American phone number with its area code, as E.164 (``+14185555555``)."""
    raw = value if isinstance(value, str) else ""
    digits = _PHONE_PUNCTUATION.sub("", raw.strip())
    match = _PHONE.fullmatch(digits)
    if not match:
        raise InvalidValue(
            "phone must be a 10-digit North American number with its area code, "
            "such as (418) 555-5555",
            field="phone",
        )
    return "+1" + "".join(match.groups())


def extension(value: object) -> str | None:
    """An optional phone extension (poste): 1 to 8 digits."""
    cleaned = text(value, "extension", EXTENSION_MAX, required=False)
    if cleaned is not None and not _DIGITS.fullmatch(cleaned):
        raise InvalidValue("extension must hold digits only (1 to 8)", field="extension")
    return cleaned


def _required(value: str | None) -> str:
    if value is None:  # text(..., required=True) never returns None
        raise InvalidValue("value is required")
    return value
