"""The portals chosen in the setup wizard (W1): the clinic's availability goes to those, and
only those (SMART ``$bulk-publish`` per portal); one whose profile says it messages its own
bookings is set so the hub sends nothing for what it books (N4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adapters.logostore import MemoryLogoStore
from aggregates.clinic import Clinic
from aggregates.clinic_setup import ClinicSetup
from connectors.directory import SOURCES
from connectors.fhir.smart_scheduling.publish import publication
from hub.actor import Actor, acting_as
from hub.imports.service import Imports
from hub.scheduling.reads import StoreReads
from hub.scheduling.service import Scheduling
from hub.setup.service import ClinicSetups
from tests.integration.notifications.test_delivery import Clock, center_for, kinds
from tests.support.notifications import Gateway, SmtpSink
from tests.support.scheduling import ADDRESS, Setup, patient


def configured(app: Scheduling, clinic_id, portals: list[str]) -> None:
    clinic = app.load(Clinic, clinic_id, "clinic")
    clinic.configure(clinic_id, None, "standalone", portals, None)
    app.commit(clinic)


def test_availability_goes_to_the_chosen_portals_only(app: Scheduling) -> None:
    legacy = Setup(app)  # created without the wizard: every portal
    chose_rvsq, chose_none = Setup(app), Setup(app)
    configured(app, chose_rvsq.clinic, ["rvsq"])
    configured(app, chose_none.clinic, [])
    reads, now = StoreReads(app), datetime.now(UTC)

    def clinics(portal: str | None) -> set:
        return {loc["id"] for loc in publication(reads, now, portal=portal).locations}

    assert clinics("rvsq") == {str(legacy.clinic), str(chose_rvsq.clinic)}
    assert clinics("pomelo") == {str(legacy.clinic)}
    assert clinics(None) == {str(legacy.clinic), str(chose_rvsq.clinic)}


def test_a_self_notifying_portal_chosen_in_the_wizard_gets_no_double_messages(
        app: Scheduling, smtp_sink: SmtpSink, gateway: Gateway) -> None:
    setups = ClinicSetups(app, Imports(app, SOURCES), MemoryLogoStore())
    setup = setups.start()
    setups.identify_clinic(setup.id, "Clinique du Parc", dict(ADDRESS), "418-555-0000")
    setups.choose_providers(setup.id, ["rvsq", "myle-portal"])
    setups.choose_emr(setup.id, "standalone")
    setups.acknowledge_patients(setup.id, True)
    clinic_id = setups.complete(setup.id).clinic_id
    assert app.load(ClinicSetup, setup.id, "setup").completed
    gp = app.add_professional(clinic_id, "Dre Test", "gp").id
    consult = app.add_service(clinic_id, "Consultation", 15, "in_person", True, 24).id
    start = datetime.now(UTC).replace(microsecond=0)
    slot = app.open_slot(clinic_id, gp, start + timedelta(hours=80),
                         start + timedelta(hours=80, minutes=30), 5, [consult]).id
    center = center_for(app, smtp_sink, gateway, Clock())
    with acting_as(Actor("tok_a", "portal", "http")):
        by_rvsq = app.book(slot, consult, patient(1), "portal",
                           identifiers=[{"system": "urn:portal:rvsq", "value": "R-1"}])
        by_myle = app.book(slot, consult, patient(2), "portal",
                           identifiers=[{"system": "urn:portal:myle", "value": "M-1"}])
    assert kinds(center, by_rvsq.id) == []  # RVSQ confirms and reminds its own bookings
    assert [k for k, _, _ in kinds(center, by_myle.id)] == ["confirmation", "reminder"]
