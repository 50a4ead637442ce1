"""Setup wizard use cases (SPEC W1–W2, seed 002): progress kept across sessions, staff and
services pulled from the clinic's EMR in the background, then "Créer la clinique".

Each command loads the ``ClinicSetup``, decides, and saves it (with what else it changes) in
one transaction, retried when a concurrent writer won. The imports are ``ImportJob``s of format
``emr``: while the clinic does not exist they only check and count what the EMR gave; ``complete``
creates the clinic and imports into it the documents those jobs kept, so the clinic gets
exactly the staff and services the person saw counted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID, uuid4

import structlog

from aggregates.clinic import Clinic
from aggregates.clinic_setup import IMPORT_KINDS, SETTLED, ClinicSetup
from aggregates.errors import NotFound
from aggregates.import_job import ImportJob
from aggregates.notification import PortalCommunication, portal_setting_id
from hub.emr.vendors import VendorProfiles, load_profiles
from hub.imports.service import Imports, report
from hub.scheduling.service import Scheduling

log = structlog.get_logger("hub.setup")

#: The wizard names the Myle EMR ``myle``; its vendor profile is ``myle-emr``.
EMR_PROFILES = {"myle": "myle-emr"}


class Logos(Protocol):
    """Where logo bytes live (outside the event log), by their SHA-256."""

    def put(self, digest: str, media_type: str, content: bytes) -> None: ...

    def get(self, digest: str) -> tuple[str, bytes] | None: ...


@dataclass(frozen=True)
class Completed:
    clinic_id: UUID
    position: int
    imports: dict[str, dict[str, Any]]


def emr_profile(emr: str) -> str:
    """The vendor profile key of a wizard EMR choice."""
    return EMR_PROFILES.get(emr, emr)


class ClinicSetups:
    """Start, fill, follow and complete clinic setups."""

    def __init__(self, app: Scheduling, imports: Imports, logos: Logos,
                 profiles: VendorProfiles | None = None) -> None:
        self.app = app
        self.imports = imports
        self.logos = logos
        self._profiles = profiles

    @property
    def profiles(self) -> VendorProfiles:
        if self._profiles is None:
            self._profiles = load_profiles()
        return self._profiles

    # -- commands ------------------------------------------------------------------------
    def start(self, preset_emr: str | None = None, application_type: str = "clinic") -> ClinicSetup:
        setup = ClinicSetup.start(preset_emr=preset_emr, application_type=application_type)
        self.app.commit(setup)
        log.info("setup started", setup_id=str(setup.id), preset_emr=preset_emr)
        return setup

    def identify_clinic(self, setup_id: UUID, name: object, address: dict[str, Any],
                        phone: object, extension: object = None) -> ClinicSetup:
        return self._change(setup_id, "identify clinic",
                            lambda s: s.identify_clinic(name, address, phone, extension))

    def attach_logo(self, setup_id: UUID, content: bytes) -> ClinicSetup:
        """Judged by its bytes; stored outside the log first (content-addressed, so a refused
        or repeated command leaves nothing new), then its digest recorded."""
        def attach(setup: ClinicSetup) -> None:
            setup.attach_logo(content)
            logo = setup.logo or {}
            self.logos.put(logo["digest"], logo["media_type"], content)

        return self._change(setup_id, "attach logo", attach)

    def remove_logo(self, setup_id: UUID) -> ClinicSetup:
        return self._change(setup_id, "remove logo", lambda s: s.remove_logo())

    def choose_providers(self, setup_id: UUID, portals: Iterable[str]) -> ClinicSetup:
        chosen = list(portals)
        return self._change(setup_id, "choose providers", lambda s: s.choose_providers(chosen))

    def choose_emr(self, setup_id: UUID, emr: str) -> ClinicSetup:
        setup = self._change(setup_id, "choose emr", lambda s: s.choose_emr(emr))
        if setup.emr_alert:
            log.warning("preset emr changed", setup_id=str(setup_id), preset=setup.preset_emr,
                        chosen=setup.emr)
        return setup

    def start_import(self, setup_id: UUID, kind: str, source: str | None = None) -> ClinicSetup:
        """Pull ``kind`` from the chosen EMR in the background (again, after a failure or
        conflicts fixed in the EMR); or import ``source``, the EMR's export file (FHIR Bundle
        or CSV), for an EMR the hub cannot pull from. A source that does not read whole is
        refused before anything is written."""
        source_format = None
        if source is not None:
            self.imports.sources.parse(kind, source)
            source_format = self.imports.sources.format_of(source)

        def command() -> tuple[ClinicSetup, ImportJob]:
            setup = self.settle(setup_id)
            current = setup.imports.get(kind)
            job_id = current["import_id"] if current else uuid4()
            setup.start_import(kind, job_id)  # refuses: out of order, standalone, still running
            if current:
                job = self.app.load(ImportJob, job_id, "import")
                job.retry(source_format, source)
            elif source is not None and source_format is not None:
                job = ImportJob.start(setup.clinic_id, kind, source_format, source, id=job_id)
            else:
                job = self.imports.pull(setup.clinic_id, kind, emr_profile(setup.emr or ""),
                                        id=job_id)
            self.app.commit(setup, job)
            return setup, job

        setup, job = self.app.retrying(command, "start import")
        self.imports.run_in_background(job.id).add_done_callback(self._settle_when_done(setup_id))
        log.info("setup import started", setup_id=str(setup_id), kind=kind, import_id=str(job.id),
                 attempt=job.attempt)
        return setup

    def acknowledge_patients(self, setup_id: UUID, acknowledged: bool) -> ClinicSetup:
        return self._change(setup_id, "acknowledge patients",
                            lambda s: s.acknowledge_patients(acknowledged))

    def complete(self, setup_id: UUID) -> Completed:
        """Create the clinic with everything gathered, set the portals that notify their own
        bookings (N4), and import into it the staff and services the EMR gave."""
        finals: list[ImportJob] = []

        def command() -> tuple[ClinicSetup, int]:
            finals.clear()
            setup = self._load(setup_id)
            setup.complete()
            gathered = setup.clinic or {}
            clinic = Clinic.register(gathered["name"], gathered["address"], gathered["phone"],
                                     setup.application_type, id=setup.clinic_id)
            clinic.configure(setup.id, gathered["extension"], setup.emr or "", setup.portals or [],
                             setup.logo)
            for kind in IMPORT_KINDS:
                current = setup.imports.get(kind)
                if current is None or current["status"] not in SETTLED:
                    continue
                staged = self.app.load(ImportJob, current["import_id"], "import")
                document = staged.document if staged.source_format == "emr" else staged.source
                if document:
                    finals.append(ImportJob.start(clinic.id, kind,
                                                  self.imports.sources.format_of(document), document))
            settings = [PortalCommunication(portal=key, notifies_itself=True)
                        for key in self._self_notifying(setup.portals or [])]
            return setup, self.app.commit(setup, clinic, *settings, *finals)

        setup, _ = self.app.retrying(command, "complete setup")
        outcomes = {}
        for job in finals:
            done = self.imports.run(job.id)
            outcomes[done.kind] = report(done)
        log.info("clinic created by setup", setup_id=str(setup_id), clinic_id=str(setup.clinic_id),
                 imports={k: v["status"] for k, v in outcomes.items()})
        return Completed(setup.clinic_id, self.app.head(), outcomes)

    # -- queries ---------------------------------------------------------------------------
    def get(self, setup_id: UUID) -> ClinicSetup:
        """The setup, with the outcome of imports that ended meanwhile recorded."""
        return self.settle(setup_id)

    def view(self, setup_id: UUID) -> tuple[ClinicSetup, dict[str, dict[str, Any] | None]]:
        """The setup and its imports' reports, agreeing with each other (an import that ends
        between the two reads is recorded on the setup before answering)."""
        for _ in range(3):
            setup = self.settle(setup_id)
            reports = {kind: self.import_report(setup, kind) for kind in IMPORT_KINDS}
            if all(r is None or r["status"] == setup.imports[k]["status"]
                   for k, r in reports.items()):
                break
        return setup, reports

    def import_report(self, setup: ClinicSetup, kind: str) -> dict[str, Any] | None:
        current = setup.imports.get(kind)
        if current is None:
            return None
        return report(self.app.load(ImportJob, current["import_id"], "import"))

    def logo(self, digest: str) -> tuple[str, bytes]:
        found = self.logos.get(digest)
        if found is None:
            raise NotFound("this logo is not stored", digest=digest)
        return found

    def clinic_logo(self, clinic_id: UUID) -> tuple[str, str, bytes]:
        """A clinic's logo: its digest, media type and bytes."""
        clinic = self.app.load(Clinic, clinic_id, "clinic")
        if not clinic.logo:
            raise NotFound("this clinic has no logo", clinic_id=str(clinic_id))
        digest = clinic.logo["digest"]
        return (digest, *self.logo(digest))

    # -- imports' outcome --------------------------------------------------------------------
    def settle(self, setup_id: UUID) -> ClinicSetup:
        """Record on the setup how its running imports ended (after a restart too)."""
        def command() -> ClinicSetup:
            setup = self._load(setup_id)
            for kind, current in list(setup.imports.items()):
                if current["status"] != "running":
                    continue
                job = self.app.load(ImportJob, current["import_id"], "import")
                setup.settle_import(kind, job.id, job.status, job.imported, len(job.conflicts))
            if setup.pending_events:
                self.app.commit(setup)
            return setup

        return self.app.retrying(command, "settle setup imports")

    def _settle_when_done(self, setup_id: UUID) -> Callable[[Future[ImportJob]], None]:
        def settle(_: Future[ImportJob]) -> None:
            try:
                self.settle(setup_id)
            except Exception:  # noqa: BLE001 - the next read of the setup settles it
                log.exception("setup settle failed", setup_id=str(setup_id))

        return settle

    # -- helpers -------------------------------------------------------------------------------
    def _self_notifying(self, portals: list[str]) -> list[str]:
        """Chosen portals whose profile says they message their own bookings, not yet set."""
        keys = []
        for key in portals:
            profile = self.profiles.profiles.get(key)
            if profile and profile.sends_own_notifications and not self.app.exists(
                    portal_setting_id(key)):
                keys.append(key)
        return keys

    def _load(self, setup_id: UUID) -> ClinicSetup:
        return self.app.load(ClinicSetup, setup_id, "setup")

    def _change(self, setup_id: UUID, what: str,
                change: Callable[[ClinicSetup], None]) -> ClinicSetup:
        def command() -> ClinicSetup:
            setup = self.settle(setup_id)
            change(setup)
            self.app.commit(setup)
            return setup

        return self.app.retrying(command, what)
