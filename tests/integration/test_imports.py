"""Staff and services imports (seed 002) on SQLite and PostgreSQL: conflicts, re-import, retry."""

from __future__ import annotations

import pytest

from aggregates.errors import NotFound
from aggregates.import_job import ImportRunning
from aggregates.professional import Professional
from aggregates.service import Service
from connectors.directory import SOURCES
from hub.imports.rows import MalformedSource
from hub.imports.service import Imports, imported_id
from hub.scheduling.reads import StoreReads
from hub.scheduling.service import Scheduling
from tests.support.fhir import bundle, healthcare_service, practitioner
from tests.support.scheduling import ADDRESS, make_app


def clinic(app: Scheduling) -> object:
    return app.register_clinic("Clinique Import", ADDRESS, "418-555-0000", "clinic").id


def test_staff_import_keeps_the_rest_when_rows_conflict(app: Scheduling) -> None:
    clinic_id = clinic(app)
    app.add_professional(clinic_id, "Dr Déjà Là", "gp", "DUP-1")
    imports = Imports(app, SOURCES)
    source = bundle(
        practitioner("p1", "Dre Isabelle Tremblay", "gp", "1-111"),
        practitioner("p2", "Marc Gagnon", "nurse", "1-222"),
        practitioner("p3", "Dr Doublon", "gp", "DUP-1"),
        practitioner("p4", "Léa Côté", "ips", "1-111"),
        practitioner("p5", "Inconnu", "sorcier"),
    )
    job = imports.run(imports.start(clinic_id, "staff", source).id)
    report = imports.status(job.id)
    assert report["status"] == "conflicts"
    assert report["imported"] == 2 and report["created"] == 2
    assert sorted((c["source_id"], c["reason"]) for c in report["conflicts"]) == [
        ("p3", "duplicate licence DUP-1"),
        ("p4", "duplicate licence 1-111"),
        ("p5", "unknown professional type 'sorcier'"),
    ]
    names = sorted(p.name for p in StoreReads(app).professionals(frozenset({clinic_id})))
    assert names == ["Dr Déjà Là", "Dre Isabelle Tremblay", "Marc Gagnon"]


def test_reimport_updates_and_never_duplicates(app: Scheduling) -> None:
    clinic_id = clinic(app)
    imports = Imports(app, SOURCES)
    first = bundle(healthcare_service("s1", "Consultation", 15),
                   healthcare_service("s2", "Vaccin", 10, product="Moderna"))
    imports.run(imports.start(clinic_id, "services", first).id)
    head = app.head()
    again = imports.run(imports.start(clinic_id, "services", first).id)
    assert (again.status, again.imported, again.created, again.updated) == ("succeeded", 2, 0, 0)
    service_events = app.recorder.select_notifications(start=head + 1, limit=100)
    assert {n.topic.split(":")[1].split(".")[0] for n in service_events} == {"ImportJob"}

    changed = bundle(healthcare_service("s1", "Consultation longue", 30),
                     healthcare_service("s2", "Vaccin", 10, product="Moderna"))
    job = imports.run(imports.start(clinic_id, "services", changed).id)
    assert (job.status, job.created, job.updated, job.imported) == ("succeeded", 0, 1, 2)
    services = StoreReads(app).services(frozenset({clinic_id}))
    assert sorted((s.name, s.duration_minutes) for s in services) == [
        ("Consultation longue", 30), ("Vaccin", 10)]
    s1 = app.load(Service, imported_id(clinic_id, "services", "s1"), "service")
    assert s1.duration_minutes == 30


def test_retry_after_fixing_the_emr_and_status_survives_restart(store_url: str) -> None:
    app = make_app(store_url)
    clinic_id = clinic(app)
    imports = Imports(app, SOURCES)
    bad = bundle(healthcare_service("s1", "Consultation", 15), healthcare_service("s2", "Suivi", None))
    job = imports.run(imports.start(clinic_id, "services", bad).id)
    assert job.status == "conflicts"
    assert job.conflicts == [{"source_id": "s2", "name": "Suivi", "reason": "service without duration"}]
    app.close()

    restarted = make_app(store_url)
    imports = Imports(restarted, SOURCES)
    assert imports.status(job.id)["status"] == "conflicts"
    fixed = bundle(healthcare_service("s1", "Consultation", 15), healthcare_service("s2", "Suivi", 20))
    imports.retry(job.id, fixed)
    assert imports.status(job.id)["status"] == "running"
    with pytest.raises(ImportRunning):
        imports.retry(job.id)
    done = imports.run_in_background(job.id).result(timeout=30)
    assert (done.status, done.imported, done.created, done.updated, done.attempt) == ("succeeded", 2, 1, 0, 2)
    assert imports.status(job.id)["conflicts"] == []
    imports.close()
    restarted.close()


def test_malformed_source_or_unknown_clinic_writes_nothing(memory_app: Scheduling) -> None:
    clinic_id = clinic(memory_app)
    imports = Imports(memory_app, SOURCES)
    head = memory_app.head()
    with pytest.raises(MalformedSource):
        imports.start(clinic_id, "staff", '{"resourceType": "Bundle", "type": 12}')
    import uuid
    with pytest.raises(NotFound):
        imports.start(uuid.uuid4(), "staff", bundle(practitioner("p1", "Dr X")))
    assert memory_app.head() == head


def test_a_failing_import_is_recorded_failed_and_can_be_retried(memory_app: Scheduling) -> None:
    clinic_id = clinic(memory_app)
    imports = Imports(memory_app, SOURCES)
    job_id = imports.start(clinic_id, "staff", bundle(practitioner("p1", "Dr X", "gp"))).id
    original = imports._apply
    imports._apply = lambda *a: (_ for _ in ()).throw(ConnectionError("EMR went away"))  # type: ignore[method-assign]
    job = imports.run(job_id)
    assert (job.status, job.error) == ("failed", "ConnectionError: EMR went away")
    imports._apply = original  # type: ignore[method-assign]
    imports.retry(job_id)
    assert imports.run(job_id).status == "succeeded"
    assert memory_app.load(Professional, imported_id(clinic_id, "staff", "p1"), "professional").type == "gp"


def test_two_runners_of_one_import_record_one_outcome(app: Scheduling) -> None:
    """As when two servers resume the same interrupted import: no duplicate, one outcome."""
    from concurrent.futures import ThreadPoolExecutor

    clinic_id = clinic(app)
    source = bundle(*(practitioner(f"p{i}", f"Dr {i}", "gp", f"L{i}") for i in range(8)))
    job_id = Imports(app, SOURCES).start(clinic_id, "staff", source).id
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: Imports(app, SOURCES).run(job_id), range(2)))
    assert {r.status for r in results} <= {"succeeded", "conflicts"}
    assert len(StoreReads(app).professionals(frozenset({clinic_id}))) == 8
    finished = [n for n in app.recorder.select_notifications(start=1, limit=10_000)
                if n.originator_id == job_id and n.topic.endswith("ImportJob.Finished")]
    assert len(finished) == 1
