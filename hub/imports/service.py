"""Staff and services imports from a clinic's EMR (seed 002, SPEC W2), run in the background.

An import is an ``ImportJob`` aggregate: its status survives restarts, and a retry runs again
from the recorded source (or a corrected one). An import of format ``emr`` pulls its document
from the clinic's EMR on every run (``EmrDirectory``) and keeps what it pulled; for a clinic
still being set up (the wizard, W2) it only checks the rows and counts them — the clinic, once
created, gets them from that kept document. Each row is its own command, so the rest is
imported when some rows conflict; a re-import updates what an earlier one created (ids derive
from the clinic and the EMR's own id) and never duplicates.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

import structlog
from eventsourcing.persistence import RecordConflictError
from eventsourcing.utils import get_topic

from aggregates.clinic import Clinic
from aggregates.errors import DomainError
from aggregates.import_job import ImportJob
from aggregates.professional import Professional
from aggregates.service import Service
from hub.imports.rows import DirectorySource, EmrDirectory, Parsed, RowConflict, ServiceRow, StaffRow
from hub.scheduling.reads import StoreReads
from hub.scheduling.service import Scheduling, Written

log = structlog.get_logger("hub.imports.service")
Progress = Callable[[int, int], None]


def imported_id(clinic_id: UUID, kind: str, source_id: str) -> UUID:
    """The hub id of what an EMR row became: the same on every re-import."""
    return uuid5(NAMESPACE_URL, f"hub:import:{clinic_id}:{kind}:{source_id}")


@dataclass(frozen=True)
class Outcome:
    created: int
    updated: int
    unchanged: int
    conflicts: list[RowConflict]


class Imports:
    """Starts, runs, retries and reports imports of staff and services into clinics."""

    def __init__(self, app: Scheduling, sources: DirectorySource, workers: int = 1,
                 emr: EmrDirectory | None = None) -> None:
        self.app = app
        self.sources = sources
        self.emr = emr
        self.reads = StoreReads(app)
        self._workers = workers
        self._executor: ThreadPoolExecutor | None = None

    # -- commands ------------------------------------------------------------------
    def start(self, clinic_id: UUID, kind: str, source: str) -> Written:
        """Record a new import after checking its source reads whole (else nothing is written)."""
        self.app.load(Clinic, clinic_id, "clinic")
        self.sources.parse(kind, source)
        job = ImportJob.start(clinic_id, kind, self.sources.format_of(source), source)
        written = Written(job.id, self.app.commit(job))
        log.info("import started", import_id=str(job.id), clinic_id=str(clinic_id), kind=kind)
        return written

    def pull(self, clinic_id: UUID, kind: str, emr: str, id: UUID | None = None) -> ImportJob:
        """A new import pulled from the EMR ``emr`` (not saved: the caller saves it with what
        it changes). The clinic may not exist yet (setup wizard)."""
        return ImportJob.start(clinic_id, kind, "emr", emr, id=id)

    def retry(self, import_id: UUID, source: str | None = None) -> Written:
        job = self.app.load(ImportJob, import_id, "import")
        if source is not None:
            self.sources.parse(job.kind, source)
        job.retry(self.sources.format_of(source) if source is not None else None, source)
        return Written(job.id, self.app.commit(job))

    def run(self, import_id: UUID, progress: Progress | None = None) -> ImportJob:
        """Apply a running import's rows; record its outcome (or its failure)."""
        job = self.app.load(ImportJob, import_id, "import")
        if job.status != "running":
            return job
        document = job.source
        try:
            if job.source_format == "emr":
                document = self._pull(job)
            parsed = self.sources.parse(job.kind, document)
            outcome = self._apply(job, parsed, progress, self.app.exists(job.clinic_id))
        except Exception as exc:  # noqa: BLE001 - recorded as the import's error, for a retry
            log.exception("import failed", import_id=str(import_id))
            job = self.app.load(ImportJob, import_id, "import")
            if job.status != "running":  # another runner recorded the outcome meanwhile
                return job
            job.fail(f"{type(exc).__name__}: {exc}" if not isinstance(exc, DomainError) else exc.message)
        else:
            job = self.app.load(ImportJob, import_id, "import")
            if job.status != "running":  # another runner recorded the outcome meanwhile
                return job
            if job.source_format == "emr":
                job.pulled(document)
            job.finish(
                outcome.created, outcome.updated, outcome.unchanged,
                [c.as_dict() for c in outcome.conflicts],
            )
        try:
            self.app.commit(job)
        except RecordConflictError:  # another runner (a second server) recorded it first
            job = self.app.load(ImportJob, import_id, "import")
        log.info("import ended", import_id=str(import_id), status=job.status,
                 imported=job.imported, conflicts=len(job.conflicts))
        return job

    def _pull(self, job: ImportJob) -> str:
        if self.emr is None:
            raise ImportSourceUnavailable("this hub pulls nothing from EMRs (no EMR directory)")
        return self.emr.pull(job.kind, job.source)

    # -- background ------------------------------------------------------------------
    def run_in_background(self, import_id: UUID) -> Future[ImportJob]:
        """Run on a worker thread, as the actor who asked (the actor travels in the context)."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self._workers, thread_name_prefix="hub-import")
        context = contextvars.copy_context()
        return self._executor.submit(context.run, self.run, import_id)

    def resume_running(self) -> list[UUID]:
        """After a restart: run again the imports that were running when the hub stopped."""
        resumed = []
        for n in self.app.recorder.select_notifications(
            start=1, limit=1_000_000, topics=[get_topic(ImportJob.Started)]
        ):
            job = self.app.load(ImportJob, UUID(str(n.originator_id)), "import")
            if job.status == "running":
                self.run_in_background(job.id)
                resumed.append(job.id)
        return resumed

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    # -- queries ---------------------------------------------------------------------
    def status(self, import_id: UUID) -> dict[str, Any]:
        job = self.app.load(ImportJob, import_id, "import")
        return report(job)

    # -- rows ------------------------------------------------------------------------
    def _apply(self, job: ImportJob, parsed: Parsed, progress: Progress | None,
               write: bool = True) -> Outcome:
        """Each row its own command; ``write=False`` (no clinic yet) checks and counts only."""
        conflicts = list(parsed.conflicts)
        created = updated = unchanged = 0
        licences = {
            p.licence: p.id for p in self.reads.professionals(frozenset({job.clinic_id})) if p.licence
        } if write else {}
        seen: set[str] = set()
        total = len(parsed.rows)
        for done, row in enumerate(parsed.rows, start=1):
            target = imported_id(job.clinic_id, job.kind, row.source_id)
            try:
                if row.source_id in seen:
                    raise _RowRefused("duplicate source id in this import")
                seen.add(row.source_id)
                if isinstance(row, StaffRow):
                    owner = licences.get(row.licence) if row.licence else None
                    if owner is not None and owner != target:
                        raise _RowRefused(f"duplicate licence {row.licence}")
                    result = self._professional(job.clinic_id, target, row) if write else "created"
                    if row.licence:
                        licences[row.licence] = target
                else:
                    result = self._service(job.clinic_id, target, row) if write else "created"
            except (_RowRefused, DomainError) as exc:
                conflicts.append(RowConflict(row.source_id, row.name, str(exc)))
            except RecordConflictError:
                conflicts.append(RowConflict(
                    row.source_id, row.name, "changed by another writer at the same time; retry"
                ))
            else:
                created += result == "created"
                updated += result == "updated"
                unchanged += result == "unchanged"
            if progress is not None:
                progress(done, total)
        return Outcome(created, updated, unchanged, conflicts)

    def _professional(self, clinic_id: UUID, target: UUID, row: StaffRow) -> str:
        if not self.app.exists(target):
            self.app.add_professional(clinic_id, row.name, row.type, row.licence, id=target)
            return "created"
        before = self.app.load(Professional, target, "professional").version
        self.app.update_professional(target, row.name, row.type, row.licence)
        return _changed(self.app.load(Professional, target, "professional").version, before)

    def _service(self, clinic_id: UUID, target: UUID, row: ServiceRow) -> str:
        details = (row.name, row.duration_minutes, row.category, row.online,
                   row.cancellation_delay_hours, row.product)
        if not self.app.exists(target):
            self.app.add_service(clinic_id, *details, id=target)
            return "created"
        before = self.app.load(Service, target, "service").version
        self.app.update_service(target, *details)
        return _changed(self.app.load(Service, target, "service").version, before)


def _changed(version: int, before: int) -> str:
    return "updated" if version != before else "unchanged"


class ImportSourceUnavailable(DomainError):
    """The import's source cannot be read now (no EMR directory configured)."""

    code = "import_source_unavailable"


class _RowRefused(Exception):
    """A row the import leaves out (duplicate licence or source id)."""


def report(job: ImportJob) -> dict[str, Any]:
    """The public shape of an import: ``{id, clinic_id, kind, status, imported, conflicts, error}``."""
    return {
        "id": str(job.id),
        "clinic_id": str(job.clinic_id),
        "kind": job.kind,
        "status": job.status,
        "attempt": job.attempt,
        "imported": job.imported,
        "created": job.created,
        "updated": job.updated,
        "conflicts": list(job.conflicts),
        "error": job.error,
    }
