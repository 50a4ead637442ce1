"""Who may be invited to move a 2nd dose, and who may move or book it themselves (V2).

Pure functions over plain facts: each returns *every* criterion that fails, by name, with
a French and an English label a person understands (seed 000 §4 and §7), never only the
first. The exception cases of §6 are named errors with their own answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from aggregates.errors import Conflict, InvalidValue
from aggregates.values import AttendanceStatus

#: Where a citizen who cannot go on online is sent (seed 000 §5, §6).
SERVICES_QUEBEC_FR = "communiquez avec Services Québec au 1 877 644-4545 ou votre pharmacie"
SERVICES_QUEBEC_EN = "contact Services Québec at 1 877 644-4545 or your pharmacy"


@dataclass(frozen=True)
class Criterion:
    """One eligibility rule: a stable ``code`` and what it means in French and English."""

    code: str
    fr: str
    en: str

    def label(self, language: str) -> str:
        return self.en if language == "en" else self.fr

    def as_reason(self) -> dict[str, str]:
        return {"code": self.code, "fr": self.fr, "en": self.en}


# -- the criteria (seed 000 §4 and §7) --------------------------------------------------
SECOND_DOSE_IN_FUTURE = Criterion(
    "second_dose_in_future",
    "Rendez-vous de 2e dose COVID-19 réservé dans le futur",
    "A COVID-19 2nd-dose appointment booked in the future",
)
NOT_CANCELLED_NOR_PRESENT = Criterion(
    "not_cancelled_nor_present",
    "Le rendez-vous de 2e dose n'est ni annulé ni au statut présent",
    "The 2nd-dose appointment is neither cancelled nor marked present",
)
PRESENT_AT_FIRST_DOSE = Criterion(
    "present_at_first_dose",
    "Le citoyen a été présent au rendez-vous de 1re dose",
    "The citizen was present at the 1st-dose appointment",
)
PRODUCT_IDENTIFIED = Criterion(
    "product_identified",
    "Le type de vaccin (produit) est identifié",
    "The type of vaccine (product) is identified",
)
NAM_AND_BIRTH_DATE = Criterion(
    "nam_and_birth_date",
    "Le numéro d'assurance maladie (NAM) et la date de naissance sont inscrits",
    "The health insurance number (NAM) and the birth date are recorded",
)
EMAIL_OR_SMS = Criterion(
    "email_or_sms",
    "Un courriel ou un numéro de cellulaire (SMS) est inscrit",
    "An e-mail address or a cell number (SMS) is recorded",
)
LOCATION_ACTIVE = Criterion(
    "location_active",
    "Le lieu du rendez-vous est toujours actif",
    "The appointment's location is still active",
)
FIRST_DOSE_IN_PAST = Criterion(
    "first_dose_in_past",
    "Un rendez-vous de 1re dose existe dans le passé",
    "A 1st-dose appointment exists in the past",
)
NAM_RECORDED = Criterion(
    "nam_recorded",
    "Le numéro d'assurance maladie (NAM) est inscrit",
    "The health insurance number (NAM) is recorded",
)
BIRTH_DATE_RECORDED = Criterion(
    "birth_date_recorded",
    "La date de naissance est inscrite",
    "The birth date is recorded",
)
CODE_CONTACT = Criterion(
    "email_or_sms_for_code",
    "Un courriel ou un numéro de cellulaire (SMS) est inscrit pour recevoir le code de "
    "confirmation",
    "An e-mail address or a cell number (SMS) is recorded to receive the confirmation code",
)
FIRST_DOSE_PRESENT_OR_UNDEFINED = Criterion(
    "first_dose_present_or_undefined",
    "Le statut du rendez-vous de 1re dose est soit présent, soit non défini",
    "The 1st-dose appointment's status is either present or undefined",
)
NO_SECOND_DOSE_GIVEN = Criterion(
    "no_second_dose_given",
    "Aucun rendez-vous de 2e dose passé au statut présent ou non défini",
    "No past 2nd-dose appointment with status present or undefined",
)

#: §4, in the seed's order.
INVITATION_CRITERIA = (
    SECOND_DOSE_IN_FUTURE,
    NOT_CANCELLED_NOR_PRESENT,
    PRESENT_AT_FIRST_DOSE,
    PRODUCT_IDENTIFIED,
    NAM_AND_BIRTH_DATE,
    EMAIL_OR_SMS,
    LOCATION_ACTIVE,
)
#: §7, first list: the citizen moves an existing 2nd dose.
REBOOK_CRITERIA = (
    FIRST_DOSE_IN_PAST,
    PRODUCT_IDENTIFIED,
    NAM_RECORDED,
    BIRTH_DATE_RECORDED,
    CODE_CONTACT,
    FIRST_DOSE_PRESENT_OR_UNDEFINED,
    LOCATION_ACTIVE,
    NO_SECOND_DOSE_GIVEN,
)
#: §7, second list: the citizen has only a 1st dose and books the 2nd.
FIRST_BOOKING_CRITERIA = REBOOK_CRITERIA[:-1]


# -- the facts they look at ------------------------------------------------------------
@dataclass(frozen=True)
class DoseFacts:
    """One dose appointment as eligibility sees it."""

    start: datetime
    dose: int | None
    status: str = AttendanceStatus.UNDEFINED.value
    active: bool = True
    product: str | None = None
    location_active: bool = True


@dataclass(frozen=True)
class CitizenFacts:
    """The patient's identity and contacts as recorded (S5)."""

    nam: str | None = None
    birth_date: date | str | None = None
    email: str | None = None
    cell: str | None = None

    @property
    def reachable(self) -> bool:
        return bool((self.email or "").strip() or (self.cell or "").strip())


@dataclass(frozen=True)
class Eligibility:
    """The outcome: eligible when no criterion failed."""

    failed: tuple[Criterion, ...] = ()

    @property
    def eligible(self) -> bool:
        return not self.failed

    @property
    def codes(self) -> list[str]:
        return [c.code for c in self.failed]

    def reasons(self) -> list[dict[str, str]]:
        return [c.as_reason() for c in self.failed]


ProductCheck = Callable[[str | None], bool]


def _product_known(first: DoseFacts | None, second: DoseFacts | None, known: ProductCheck) -> bool:
    """Identified when the 1st dose's product is known, else the 2nd's (seed 000 §6)."""
    return any(d is not None and known(d.product) for d in (first, second))


def _evaluate(checks: list[tuple[Criterion, bool]]) -> Eligibility:
    return Eligibility(tuple(criterion for criterion, ok in checks if not ok))


def for_invitation(
    second: DoseFacts,
    first: DoseFacts | None,
    citizen: CitizenFacts,
    now: datetime,
    known_product: ProductCheck,
) -> Eligibility:
    """§4: may staff invite this 2nd-dose appointment's citizen to move it?"""
    return _evaluate([
        (SECOND_DOSE_IN_FUTURE, second.dose == 2 and second.start > now),
        (NOT_CANCELLED_NOR_PRESENT, second.active and second.status != AttendanceStatus.PRESENT),
        (PRESENT_AT_FIRST_DOSE, first is not None and first.status == AttendanceStatus.PRESENT),
        (PRODUCT_IDENTIFIED, _product_known(first, second, known_product)),
        (NAM_AND_BIRTH_DATE, bool(citizen.nam) and bool(citizen.birth_date)),
        (EMAIL_OR_SMS, citizen.reachable),
        (LOCATION_ACTIVE, second.location_active),
    ])


def for_self_service(
    first: DoseFacts | None,
    second: DoseFacts | None,
    citizen: CitizenFacts,
    now: datetime,
    known_product: ProductCheck,
    past_second_doses: tuple[DoseFacts, ...] = (),
) -> Eligibility:
    """§7: may the citizen move their 2nd dose (``second`` given and active) or book it
    (only a 1st dose) online? ``past_second_doses`` are their other 2nd-dose appointments."""
    moving = second is not None and second.active
    checks = [
        (FIRST_DOSE_IN_PAST, first is not None and first.active and first.start <= now),
        (PRODUCT_IDENTIFIED, _product_known(first, second, known_product)),
        (NAM_RECORDED, bool(citizen.nam)),
        (BIRTH_DATE_RECORDED, bool(citizen.birth_date)),
        (CODE_CONTACT, citizen.reachable),
        (
            FIRST_DOSE_PRESENT_OR_UNDEFINED,
            first is not None
            and first.status in (AttendanceStatus.PRESENT, AttendanceStatus.UNDEFINED),
        ),
        (LOCATION_ACTIVE, first is not None and first.location_active),
    ]
    if moving:
        given = [
            d for d in (second, *past_second_doses)
            if d is not None and d.active and d.start <= now
            and d.status in (AttendanceStatus.PRESENT, AttendanceStatus.UNDEFINED)
        ]
        checks.append((NO_SECOND_DOSE_GIVEN, not given))
    return _evaluate(checks)


# -- the exception cases of §6, each its own answer ---------------------------------------
class SelfServiceRefused(Conflict):
    """The citizen cannot go on online; the message says what to do instead."""

    code = "self_service_refused"
    fr = "Vous ne pouvez pas poursuivre en ligne"
    en = "You cannot go on online"

    def __init__(self, **details: object) -> None:
        super().__init__(
            f"{self.en}: {SERVICES_QUEBEC_EN}.",
            message_fr=f"{self.fr} : {SERVICES_QUEBEC_FR}.",
            **details,
        )


class NotInTargetGroup(SelfServiceRefused):
    code = "not_in_target_group"
    fr = "Vous ne faites pas partie du groupe cible de ce service"
    en = "You are not in this service's target group"


class IdentificationFailed(SelfServiceRefused):
    """Wrong or missing details, or the code never arrived or was wrong."""

    code = "identification_failed"
    fr = "Votre identité n'a pu être confirmée"
    en = "Your identity could not be confirmed"


class ProductNotIdentified(SelfServiceRefused):
    code = "product_not_identified"
    fr = "Les détails du rendez-vous sont incomplets : le type de vaccin n'est pas indiqué"
    en = "The appointment's details are incomplete: the type of vaccine is not indicated"


class FirstDoseNotRecorded(SelfServiceRefused):
    code = "first_dose_not_recorded"
    fr = ("Votre rendez-vous de 1re dose n'est pas enregistré : le délai entre les deux doses "
          "ne peut être vérifié")
    en = ("Your 1st-dose appointment is not recorded: the interval between the two doses "
          "cannot be checked")


class ProductDeclaredWrong(SelfServiceRefused):
    code = "product_declared_wrong"
    fr = "Vous indiquez que le type de vaccin reçu est incorrect"
    en = "You say the type of vaccine received is wrong"


class NotEligible(SelfServiceRefused):
    """Any other failed criterion of §7 (the reasons list them)."""

    code = "not_eligible"
    fr = "Votre rendez-vous ne peut pas être déplacé en ligne"
    en = "Your appointment cannot be moved online"


def refusal(result: Eligibility, first_recorded: bool) -> SelfServiceRefused | None:
    """The §6 case a failed self-service check falls under, with every reason attached."""
    if result.eligible:
        return None
    reasons = result.reasons()
    if not first_recorded:
        return FirstDoseNotRecorded(reasons=reasons)
    if PRODUCT_IDENTIFIED in result.failed:
        return ProductNotIdentified(reasons=reasons)
    return NotEligible(reasons=reasons)


@dataclass(frozen=True)
class TargetGroup:
    """Who the self-service is open to (seed 000 §6 "contrôle de l'accès par groupe cible")."""

    min_age_years: int = 12
    max_age_years: int | None = None

    def require_member(self, birth_date: date | str | None, today: date) -> None:
        if birth_date is None:
            raise NotInTargetGroup(criterion="birth_date_recorded")
        born = birth_date if isinstance(birth_date, date) else _parse_date(birth_date)
        age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
        too_old = self.max_age_years is not None and age > self.max_age_years
        if age < self.min_age_years or too_old:
            raise NotInTargetGroup(
                min_age_years=self.min_age_years, max_age_years=self.max_age_years
            )


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidValue("birth_date must be a date YYYY-MM-DD", field="birth_date") from None
