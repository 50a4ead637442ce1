"""Import job (W2): a clinic's staff or services import from its EMR, run in the background.

Its state is its events, so the status (running, succeeded, conflicts, failed) survives restarts
and a retry can run again from the source recorded when it started.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from aggregates.errors import Conflict, InvalidValue

KINDS = ("staff", "services")
#: ``fhir`` (a Bundle) and ``csv`` are documents given by the caller; ``emr`` is pulled from
#: the clinic's EMR on every run (its source names the EMR to ask).
FORMATS = ("fhir", "csv", "emr")


class ImportRunning(Conflict):
    """A retry was asked while the import is still running."""

    code = "import_running"


class ImportJob(Aggregate):
    """One import of staff or services into a clinic: its source, progress and outcome."""

    if TYPE_CHECKING:  # made by ``@event("Started")`` when the class is defined
        Started: ClassVar[type[Aggregate.Created]]

    @classmethod
    def start(cls, clinic_id: UUID, kind: str, source_format: str, source: str,
              id: UUID | None = None) -> ImportJob:
        """``id`` is given by the setup wizard, which records it before the job is saved."""
        if kind not in KINDS:
            raise InvalidValue(f"kind must be one of {', '.join(KINDS)}; got {kind!r}", field="kind")
        if source_format not in FORMATS:
            raise InvalidValue(
                f"source format must be one of {', '.join(FORMATS)}", field="source"
            )
        if not source.strip():
            raise InvalidValue("the import source is empty", field="source")
        return cls._create(cls.Started, id=id, clinic_id=clinic_id, kind=kind,
                           source_format=source_format, source=source)

    @event("Started")
    def __init__(self, clinic_id: UUID, kind: str, source_format: str, source: str) -> None:
        self.clinic_id = clinic_id
        self.kind = kind
        self.source_format = source_format
        self.source = source
        self.status = "running"
        self.attempt = 1
        self.imported = 0
        self.created = 0
        self.updated = 0
        self.conflicts: list[dict[str, Any]] = []
        self.error: str | None = None
        #: What the last run pulled from the EMR (format ``emr``), to apply it later as is.
        self.document: str | None = None

    def pulled(self, document: str) -> None:
        """The EMR answered this run with ``document`` (a FHIR Bundle)."""
        if self.status != "running":
            raise Conflict("only a running import pulls from the EMR", import_id=str(self.id))
        self._pulled(document=document)

    @event("Pulled")
    def _pulled(self, document: str) -> None:
        self.document = document

    def retry(self, source_format: str | None = None, source: str | None = None) -> None:
        """Run again (after the clinic fixed its EMR), from a new source or the same one."""
        if self.status == "running":
            raise ImportRunning("this import is still running", import_id=str(self.id))
        if source is not None and not source.strip():
            raise InvalidValue("the import source is empty", field="source")
        self._retried(source_format=source_format, source=source)

    def finish(self, created: int, updated: int, unchanged: int, conflicts: list[dict[str, Any]]) -> None:
        self._finished(created=created, updated=updated, unchanged=unchanged, conflicts=conflicts)

    def fail(self, error: str) -> None:
        self._failed(error=error)

    @event("Retried")
    def _retried(self, source_format: str | None, source: str | None) -> None:
        if source is not None:
            self.source = source
            self.source_format = source_format or self.source_format
        self.status = "running"
        self.attempt += 1
        self.imported = self.created = self.updated = 0
        self.conflicts = []
        self.error = None
        self.document = None

    @event("Finished")
    def _finished(
        self, created: int, updated: int, unchanged: int, conflicts: list[dict[str, Any]]
    ) -> None:
        self.created = created
        self.updated = updated
        self.imported = created + updated + unchanged
        self.conflicts = list(conflicts)
        self.status = "conflicts" if conflicts else "succeeded"

    @event("Failed")
    def _failed(self, error: str) -> None:
        self.error = error
        self.status = "failed"
