"""Code systems, identifier systems and extension URLs the hub speaks in FHIR R4.

Hub-defined systems live under ``HUB``; SMART Scheduling Links extensions under ``SMART``.
"""

from __future__ import annotations

HUB = "https://hub.sante.quebec/fhir"
SMART = "http://fhir-registry.smarthealthit.org"

#: Identifier systems.
HUB_ID = f"{HUB}/sid/hub-id"
NAM = "https://www.ramq.gouv.qc.ca/fhir/sid/nam"
LICENCE = f"{HUB}/sid/licence"
#: A location or resource an EMR names in SIU AIL/AIG (value: the hub's id of it).
EMR_RESOURCE = f"{HUB}/sid/emr-resource"
#: Professional orders whose numbers are licences (CMQ, OIIQ, OPIQ); any of them is accepted.
LICENCE_SYSTEMS = frozenset({
    LICENCE,
    "https://www.cmq.org/fhir/sid/permis",
    "https://www.oiiq.org/fhir/sid/permis",
    "https://www.opiq.qc.ca/fhir/sid/permis",
})

#: Code systems.
PROFESSIONAL_TYPE = f"{HUB}/CodeSystem/professional-type"
SERVICE_CATEGORY = f"{HUB}/CodeSystem/service-category"
SERVICE = f"{HUB}/CodeSystem/service"
CVX = "http://hl7.org/fhir/sid/cvx"
SERVICE_TYPE = "http://terminology.hl7.org/CodeSystem/service-type"
SMART_SERVICE_TYPE = f"{SMART}/CodeSystem/service-type"
APPOINTMENT_SOURCE = f"{HUB}/CodeSystem/appointment-source"

#: Extensions.
EXT_DURATION = f"{HUB}/StructureDefinition/service-duration"
EXT_ONLINE = f"{HUB}/StructureDefinition/online-booking"
EXT_CANCELLATION_DELAY = f"{HUB}/StructureDefinition/cancellation-delay"
EXT_SLOT_LOCKED = f"{HUB}/StructureDefinition/slot-locked"
#: citizen-account icons of an Appointment (seed 001 §3.5): sub-extensions identity and
#: association, each valueCode grey | red | green
EXT_CITIZEN_ACCOUNT = f"{HUB}/StructureDefinition/citizen-account"
BOOKING_DEEP_LINK = f"{SMART}/StructureDefinition/booking-deep-link"
BOOKING_PHONE = f"{SMART}/StructureDefinition/booking-phone"
SLOT_CAPACITY = f"{SMART}/StructureDefinition/slot-capacity"
VACCINE_PRODUCT = f"{SMART}/StructureDefinition/vaccine-product"

from hub.imports.rows import PROFESSIONAL_TYPE_ALIASES, PROFESSIONAL_TYPES, SERVICE_CATEGORIES  # noqa: E402,F401 - the hub's vocabulary, spoken in FHIR

#: Vaccine products and their CVX codes (none for Covishield, which has no code of its own).
PRODUCT_CVX = {
    "pfizer": ("208", "COVID-19, mRNA, LNP-S, PF, 30 mcg/0.3 mL dose"),
    "pfizer-biontech": ("208", "COVID-19, mRNA, LNP-S, PF, 30 mcg/0.3 mL dose"),
    "moderna": ("207", "COVID-19, mRNA, LNP-S, PF, 100 mcg/0.5 mL dose"),
    "astrazeneca": ("210", "COVID-19 vaccine, vector-nr, rS-ChAdOx1, PF, 0.5 mL"),
}
CVX_PRODUCT = {"208": "Pfizer-BioNTech", "207": "Moderna", "210": "AstraZeneca"}


def product_coding(product: str) -> dict[str, str]:
    """A vaccine-product Coding: CVX when the product has a code, else its name alone."""
    known = PRODUCT_CVX.get(product.strip().lower())
    if known:
        return {"system": CVX, "code": known[0], "display": product}
    return {"display": product}


def product_of(coding: dict[str, str]) -> str | None:
    """The hub's product name for a vaccine-product Coding (display first, then CVX)."""
    if coding.get("display"):
        return str(coding["display"]).strip() or None
    if coding.get("system") == CVX:
        return CVX_PRODUCT.get(str(coding.get("code")))
    return None
