"""``hub demo`` creates its clinic through the setup wizard (W1–W2)."""

from __future__ import annotations

from aggregates.clinic import Clinic
from aggregates.clinic_setup import ClinicSetup
from entrypoints.demo.directory import DEMO_LOGO, SERVICES, STAFF, create_demo_clinic
from hub.scheduling.reads import StoreReads
from hub.scheduling.service import Scheduling


def test_the_demo_clinic_comes_out_of_the_wizard(app: Scheduling) -> None:
    address = {"street": "1200 boul. René-Lévesque", "city": "Québec", "province": "QC",
               "postal_code": "g1r2b5"}
    clinic_id, ids = create_demo_clinic(app, "Clinique démo", address, "418-555-0100",
                                        "public_health")
    clinic = app.load(Clinic, clinic_id, "clinic")
    assert clinic.setup_id is not None and clinic.application_type == "public_health"
    assert (clinic.address["postal_code"], clinic.phone) == ("G1R 2B5", "+14185550100")
    assert clinic.portals == ["rvsq", "myle-portal"] and clinic.emr == "omnimed"
    setup = app.load(ClinicSetup, clinic.setup_id, "setup")
    assert setup.completed and setup.logo is not None and setup.logo["size"] == len(DEMO_LOGO)
    reads = StoreReads(app)
    assert {p.id for p in reads.professionals(frozenset({clinic_id}))} == {ids[s[0]] for s in STAFF}
    assert {s.id for s in reads.services(frozenset({clinic_id}))} == {ids[s[0]] for s in SERVICES}
