"""Clinic setup (SPEC W1–W2, seed 002): the six ordered steps a clinic goes through before it
exists — clinic, providers, emr, staff, services, patients — then "Créer la clinique".

A step is complete only when what it gathered is valid and every step before it is complete,
so the completed steps always form a prefix. A step sent before the previous ones are complete
is refused (``step_out_of_order``). Progress is the aggregate's events: it survives leaving.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from aggregates import coordinates
from aggregates.errors import Conflict, InvalidValue
from aggregates.logo import judge
from aggregates.values import ApplicationType, choice

STEPS = ("clinic", "providers", "emr", "staff", "services", "patients")
#: The EMRs of step 3 (seed 002 "Fournisseur de DMÉ"), or none.
EMRS = ("kinlogix", "medesync", "myle", "ofys", "omnimed", "softinfo", "toubib")
STANDALONE = "standalone"
#: The booking portals of step 2 (the ``kind = "portal"`` vendor profiles).
PORTALS = ("rvsq", "clic-sante", "bonjour-sante", "pomelo", "myle-portal", "tap-medical")
IMPORT_KINDS = ("staff", "services")
IMPORT_STATUSES = ("running", "succeeded", "conflicts", "failed")
#: An import that ended with these lets the person go on (conflicts are fixed later in the EMR).
SETTLED = ("succeeded", "conflicts")


class StepOutOfOrder(Conflict):
    """A step was sent before the steps it follows are complete."""

    code = "step_out_of_order"


class SetupIncomplete(Conflict):
    """``complete`` was asked before all six steps are complete."""

    code = "setup_incomplete"


class SetupCompleted(Conflict):
    """The clinic was already created from this setup; its steps can no longer change."""

    code = "setup_completed"


class NoEmrToImportFrom(Conflict):
    """A standalone clinic has no EMR to pull staff or services from (entered later by hand)."""

    code = "no_emr"


class SetupImportRunning(Conflict):
    """An import of this kind is still running for this setup."""

    code = "import_running"


def setup_clinic_id(setup_id: UUID) -> UUID:
    """The id the clinic created by this setup will have (one clinic per setup, ever)."""
    return uuid5(NAMESPACE_URL, f"hub:clinic-setup:{setup_id}:clinic")


class ClinicSetup(Aggregate):
    """One clinic's pass through the setup wizard."""

    @classmethod
    def start(cls, preset_emr: str | None = None, application_type: str = "clinic") -> ClinicSetup:
        """A new setup; ``preset_emr`` is the EMR the platform already knows for the clinic,
        ``application_type`` the kind of customer it is (S4)."""
        if preset_emr is not None and preset_emr not in EMRS:
            raise InvalidValue(
                f"preset EMR must be one of {', '.join(EMRS)}; got {preset_emr!r}",
                field="preset_emr",
            )
        kind = choice(ApplicationType, application_type, "application_type")
        return cls(preset_emr=preset_emr, application_type=kind)

    @event("Started")
    def __init__(self, preset_emr: str | None, application_type: str) -> None:
        self.preset_emr = preset_emr
        self.application_type = application_type
        self.clinic_id = setup_clinic_id(self.id)
        self.clinic: dict[str, Any] | None = None
        self.logo: dict[str, Any] | None = None
        self.portals: list[str] | None = None
        self.emr: str | None = None
        self.imports: dict[str, dict[str, Any]] = {}
        self.acknowledged = False
        self.completed = False

    # -- progress ---------------------------------------------------------------------
    def _done(self, step: str) -> bool:
        """Whether ``step``'s own data is there and valid (ignoring the steps before it)."""
        if step == "clinic":
            return self.clinic is not None
        if step == "providers":
            return self.portals is not None
        if step == "emr":
            return self.emr is not None
        if step in IMPORT_KINDS:
            if self.emr == STANDALONE:
                return True
            current = self.imports.get(step)
            return current is not None and current["status"] in SETTLED
        return self.acknowledged

    def is_complete(self, step: str) -> bool:
        """Complete: its own data is valid and every step before it is complete."""
        position = STEPS.index(step)
        return all(self._done(s) for s in STEPS[: position + 1])

    @property
    def steps(self) -> list[dict[str, Any]]:
        return [{"name": s, "complete": self.is_complete(s)} for s in STEPS]

    @property
    def current_step(self) -> str | None:
        """Where a person coming back resumes: the first incomplete step (``None``: all done)."""
        return next((s for s in STEPS if not self.is_complete(s)), None)

    @property
    def emr_alert(self) -> bool:
        """The chosen EMR differs from the pre-set one (a team will call the clinic)."""
        return self.preset_emr is not None and self.emr is not None and self.emr != self.preset_emr

    def _require_open(self) -> None:
        if self.completed:
            raise SetupCompleted(
                "the clinic was already created from this setup", clinic_id=str(self.clinic_id)
            )

    def _require_before(self, step: str) -> None:
        self._require_open()
        missing = [s for s in STEPS[: STEPS.index(step)] if not self.is_complete(s)]
        if missing:
            raise StepOutOfOrder(
                f"step {step!r} comes after {', '.join(missing)}: complete "
                f"{'that step' if len(missing) == 1 else 'those steps'} first",
                step=step, missing=missing,
            )

    # -- 1. clinic ----------------------------------------------------------------------
    def identify_clinic(
        self, name: object, address: dict[str, Any], phone: object, extension: object = None
    ) -> None:
        """Name, address (suite optional), phone (extension optional), each checked."""
        self._require_open()
        if not isinstance(address, dict):
            raise InvalidValue("address must be an object", field="address")
        known = {"street", "suite", "city", "province", "postal_code"}
        if unknown := sorted(set(address) - known):
            raise InvalidValue(f"unknown address field(s): {', '.join(unknown)}", field="address")
        checked_name = coordinates.clinic_name(name)
        checked_address = coordinates.address(
            address.get("street"), address.get("city"), address.get("province"),
            address.get("postal_code"), address.get("suite"),
        ).as_dict()
        checked_phone = coordinates.phone(phone)
        checked_extension = coordinates.extension(extension)
        checked = {"name": checked_name, "address": checked_address, "phone": checked_phone,
                   "extension": checked_extension}
        if checked != self.clinic:
            self._clinic_identified(
                name=checked_name, address=checked_address, phone=checked_phone,
                extension=checked_extension,
            )

    @event("ClinicIdentified")
    def _clinic_identified(
        self, name: str, address: dict[str, Any], phone: str, extension: str | None
    ) -> None:
        self.clinic = {"name": name, "address": dict(address), "phone": phone,
                       "extension": extension}

    def attach_logo(self, content: bytes) -> None:
        """Attach or replace the logo (judged by its bytes); the event holds its digest only."""
        self._require_open()
        logo = judge(content)
        if logo.as_dict() != self.logo:
            self._logo_attached(digest=logo.digest, media_type=logo.media_type, size=logo.size)

    def remove_logo(self) -> None:
        self._require_open()
        if self.logo is not None:
            self._logo_removed(digest=self.logo["digest"])

    @event("LogoAttached")
    def _logo_attached(self, digest: str, media_type: str, size: int) -> None:
        self.logo = {"digest": digest, "media_type": media_type, "size": size}

    @event("LogoRemoved")
    def _logo_removed(self, digest: str) -> None:
        self.logo = None

    # -- 2. providers ---------------------------------------------------------------------
    def choose_providers(self, portals: Iterable[str]) -> None:
        """The booking portals that will show the clinic's availability (none, one or several)."""
        self._require_before("providers")
        chosen = list(portals) if not isinstance(portals, str) else [portals]
        unknown = [p for p in chosen if p not in PORTALS]
        if unknown:
            raise InvalidValue(
                f"unknown portal(s) {', '.join(map(repr, unknown))}; choose among "
                f"{', '.join(PORTALS)}",
                field="portals",
            )
        ordered = [p for p in PORTALS if p in chosen]  # one order, duplicates folded
        if ordered != self.portals:
            self._providers_chosen(portals=ordered)

    @event("ProvidersChosen")
    def _providers_chosen(self, portals: list[str]) -> None:
        self.portals = list(portals)

    # -- 3. emr ---------------------------------------------------------------------------
    def choose_emr(self, emr: str) -> None:
        """Exactly one EMR, or standalone. Another EMR than the pre-set one raises an alert
        (``PresetEmrChanged``). Changing the EMR drops imports pulled from the previous one."""
        self._require_before("emr")
        if emr != STANDALONE and emr not in EMRS:
            raise InvalidValue(
                f"emr must be one of {', '.join(EMRS)} or {STANDALONE}; got {emr!r}", field="emr"
            )
        if emr == self.emr:
            return
        self._emr_chosen(emr=emr)
        if self.preset_emr is not None and emr != self.preset_emr:
            self._preset_emr_changed(preset=self.preset_emr, chosen=emr)

    @event("EmrChosen")
    def _emr_chosen(self, emr: str) -> None:
        self.emr = emr
        self.imports = {}

    @event("PresetEmrChanged")
    def _preset_emr_changed(self, preset: str, chosen: str) -> None:
        """For ops: the clinic chose another EMR than the one the platform had on file."""

    # -- 4. staff, 5. services --------------------------------------------------------------
    def start_import(self, kind: str, import_id: UUID) -> None:
        """An import of ``kind`` pulled from the EMR started (or a retry of it)."""
        if kind not in IMPORT_KINDS:
            raise InvalidValue(f"kind must be staff or services; got {kind!r}", field="kind")
        self._require_before(kind)
        if self.emr == STANDALONE:
            raise NoEmrToImportFrom(
                f"a standalone clinic has no EMR to import {kind} from; enter them by hand "
                "once the clinic is created",
                step=kind,
            )
        current = self.imports.get(kind)
        if current is not None and current["status"] == "running":
            raise SetupImportRunning(
                f"the {kind} import is still running", import_id=str(current["import_id"])
            )
        self._import_started(kind=kind, import_id=import_id)

    def settle_import(
        self, kind: str, import_id: UUID, status: str, imported: int, conflicts: int
    ) -> None:
        """Record how the current import of ``kind`` ended (an older attempt's outcome, or
        one that arrives after the EMR changed, is ignored)."""
        if status not in IMPORT_STATUSES:
            raise InvalidValue(f"unknown import status {status!r}", field="status")
        if imported < 0 or conflicts < 0:
            raise InvalidValue("counts must not be negative", field="imported")
        current = self.imports.get(kind)
        if self.completed or current is None or current["import_id"] != import_id:
            return
        outcome = {"status": status, "imported": imported, "conflicts": conflicts}
        if {k: current[k] for k in outcome} != outcome:
            self._import_settled(
                kind=kind, import_id=import_id, status=status, imported=imported,
                conflicts=conflicts,
            )

    @event("ImportStarted")
    def _import_started(self, kind: str, import_id: UUID) -> None:
        self.imports[kind] = {"import_id": import_id, "status": "running", "imported": 0,
                              "conflicts": 0}

    @event("ImportSettled")
    def _import_settled(
        self, kind: str, import_id: UUID, status: str, imported: int, conflicts: int
    ) -> None:
        self.imports[kind] = {"import_id": import_id, "status": status, "imported": imported,
                              "conflicts": conflicts}

    # -- 6. patients ------------------------------------------------------------------------
    def acknowledge_patients(self, acknowledged: bool) -> None:
        """Patients come with their appointments; the person only acknowledges ("J'ai compris")."""
        self._require_before("patients")
        if acknowledged is not True:
            raise InvalidValue(
                "patients are synchronised as appointments are given: acknowledge to go on",
                field="acknowledged",
            )
        if not self.acknowledged:
            self._patients_acknowledged()

    @event("PatientsAcknowledged")
    def _patients_acknowledged(self) -> None:
        self.acknowledged = True

    # -- Créer la clinique ------------------------------------------------------------------
    def complete(self) -> None:
        """All six steps are complete: the clinic ``clinic_id`` is created from them."""
        self._require_open()
        missing = [s for s in STEPS if not self.is_complete(s)]
        if missing:
            raise SetupIncomplete(
                f"complete the step(s) {', '.join(missing)} before creating the clinic",
                missing=missing,
            )
        self._completed(clinic_id=self.clinic_id)

    @event("Completed")
    def _completed(self, clinic_id: UUID) -> None:
        self.completed = True
