"""ClinicSetup (W1–W2): six ordered steps, each complete only when valid; refusals write nothing."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from aggregates.clinic_setup import (
    PORTALS,
    STEPS,
    ClinicSetup,
    NoEmrToImportFrom,
    SetupCompleted,
    SetupImportRunning,
    SetupIncomplete,
    StepOutOfOrder,
    setup_clinic_id,
)
from aggregates.errors import DomainError, InvalidValue
from aggregates.logo import LogoRefused, LogoTooLarge

ADDRESS = {"street": "350 Boulevard Charest Est", "city": "Québec", "province": "QC",
           "postal_code": "G1K 3H5"}
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00\x00\x00\x10" * 2 + b"\x08\x06\0\0\0" + b"\0" * 4


def identified(setup: ClinicSetup | None = None) -> ClinicSetup:
    setup = setup or ClinicSetup.start()
    setup.identify_clinic("Clinique du Parc", dict(ADDRESS), "(418) 555-5555")
    return setup


def through_emr(emr: str = "omnimed", preset: str | None = None) -> ClinicSetup:
    setup = identified(ClinicSetup.start(preset_emr=preset))
    setup.choose_providers(["rvsq"])
    setup.choose_emr(emr)
    return setup


def imported(setup: ClinicSetup, kind: str, status: str = "succeeded", count: int = 3) -> None:
    job = uuid4()
    setup.start_import(kind, job)
    setup.settle_import(kind, job, status, count, 0 if status == "succeeded" else 1)


def progress(setup: ClinicSetup) -> list[bool]:
    return [s["complete"] for s in setup.steps]


def refused(setup: ClinicSetup, error: type[DomainError], command: Any, *args: Any) -> DomainError:
    """The command raises ``error`` and leaves no event and no change behind."""
    before = (setup.version, progress(setup), setup.clinic, setup.logo, setup.portals, setup.emr)
    pending = len(setup.pending_events)
    with pytest.raises(error) as caught:
        command(*args)
    assert len(setup.pending_events) == pending
    assert (setup.version, progress(setup), setup.clinic, setup.logo, setup.portals,
            setup.emr) == before
    return caught.value


def test_a_new_setup_lists_the_six_steps_in_order_none_complete() -> None:
    setup = ClinicSetup.start()
    assert [s["name"] for s in setup.steps] == list(STEPS) == [
        "clinic", "providers", "emr", "staff", "services", "patients"]
    assert progress(setup) == [False] * 6
    assert setup.current_step == "clinic"
    assert setup.clinic_id == setup_clinic_id(setup.id) != setup.id


def test_a_full_run_completes_each_step_in_turn() -> None:
    setup = identified()
    assert progress(setup) == [True, False, False, False, False, False]
    setup.choose_providers(["rvsq", "myle-portal"])
    setup.choose_emr("omnimed")
    assert setup.current_step == "staff"
    imported(setup, "staff")
    imported(setup, "services", status="conflicts")  # conflicts: go on, fix in the EMR later
    assert setup.current_step == "patients"
    setup.acknowledge_patients(True)
    assert progress(setup) == [True] * 6 and setup.current_step is None
    setup.complete()
    assert setup.completed
    names = [type(e).__name__ for e in setup.collect_events()]
    assert names == ["Started", "ClinicIdentified", "ProvidersChosen", "EmrChosen",
                     "ImportStarted", "ImportSettled", "ImportStarted", "ImportSettled",
                     "PatientsAcknowledged", "Completed"]


def test_clinic_step_keeps_the_canonical_values() -> None:
    setup = ClinicSetup.start()
    setup.identify_clinic(" Clinique du Parc ", {**ADDRESS, "postal_code": "g1k3h5", "suite": "210",
                                                  "province": "qc"}, "418.555.5555", " 12 ")
    assert setup.clinic == {
        "name": "Clinique du Parc",
        "address": {"street": "350 Boulevard Charest Est", "suite": "210", "city": "Québec",
                    "province": "QC", "postal_code": "G1K 3H5"},
        "phone": "+14185555555", "extension": "12"}
    version = setup.version
    setup.identify_clinic("Clinique du Parc", {**ADDRESS, "suite": "210"}, "+14185555555", "12")
    assert setup.version == version  # same values: nothing new recorded


@pytest.mark.parametrize("name, address, phone, extension", [
    ("x" * 201, ADDRESS, "4185555555", None),
    ("Clinique", {**ADDRESS, "postal_code": "12345"}, "4185555555", None),
    ("Clinique", {**ADDRESS, "province": "NY"}, "4185555555", None),
    ("Clinique", {k: v for k, v in ADDRESS.items() if k != "city"}, "4185555555", None),
    ("Clinique", {**ADDRESS, "country": "CA"}, "4185555555", None),
    ("Clinique", ADDRESS, "555-5555", None),
    ("Clinique", ADDRESS, "4185555555", "ext. 4"),
    ("Clinique", "350 Charest", "4185555555", None),
])
def test_an_invalid_clinic_step_is_refused_and_stays_incomplete(
    name: str, address: Any, phone: str, extension: str | None
) -> None:
    setup = ClinicSetup.start()
    refused(setup, InvalidValue, setup.identify_clinic, name, address, phone, extension)
    assert setup.clinic is None and not setup.is_complete("clinic")
    identified(setup)
    refused(setup, InvalidValue, setup.identify_clinic, name, address, phone, extension)
    assert setup.clinic is not None and setup.clinic["name"] == "Clinique du Parc"


@pytest.mark.parametrize("step, command", [
    ("providers", lambda s: s.choose_providers(["rvsq"])),
    ("emr", lambda s: s.choose_emr("omnimed")),
    ("staff", lambda s: s.start_import("staff", uuid4())),
    ("services", lambda s: s.start_import("services", uuid4())),
    ("patients", lambda s: s.acknowledge_patients(True)),
])
def test_a_step_sent_early_is_refused_step_out_of_order(step: str, command: Any) -> None:
    setup = ClinicSetup.start()
    error = refused(setup, StepOutOfOrder, command, setup)
    assert error.code == "step_out_of_order"
    assert error.details["step"] == step
    assert error.details["missing"] == list(STEPS[: STEPS.index(step)])


def test_complete_before_all_steps_is_refused() -> None:
    setup = through_emr()
    imported(setup, "staff")
    error = refused(setup, SetupIncomplete, setup.complete)
    assert error.details["missing"] == ["services", "patients"]


def test_logo_attach_replace_remove_holds_only_the_digest() -> None:
    setup = ClinicSetup.start()
    setup.attach_logo(PNG)
    first = dict(setup.logo or {})
    assert first["media_type"] == "image/png" and len(first["digest"]) == 64
    setup.attach_logo(PNG)  # the same image again: nothing new
    gif = b"GIF89a" + b"\0" * 30
    setup.attach_logo(gif)
    assert setup.logo is not None and setup.logo["media_type"] == "image/gif"
    setup.remove_logo()
    setup.remove_logo()
    assert setup.logo is None
    events = setup.collect_events()
    assert [type(e).__name__ for e in events] == ["Started", "LogoAttached", "LogoAttached",
                                                  "LogoRemoved"]
    for e in events:  # the bytes never enter an event
        assert not any(isinstance(v, bytes) for v in vars(e).values())
    refused(setup, LogoRefused, setup.attach_logo, b"<svg/>")
    refused(setup, LogoTooLarge, setup.attach_logo, PNG + b"\0" * (5 * 1024 * 1024))


def test_providers_several_none_or_unknown() -> None:
    setup = identified()
    setup.choose_providers([])
    assert setup.portals == [] and setup.is_complete("providers")
    setup.choose_providers(["tap-medical", "rvsq", "rvsq"])
    assert setup.portals == ["rvsq", "tap-medical"]
    setup.choose_providers(list(reversed(PORTALS)))
    assert setup.portals == list(PORTALS)
    refused(setup, InvalidValue, setup.choose_providers, ["rvsq", "doctolib"])


def test_emr_exactly_one_of_the_seven_or_standalone() -> None:
    setup = identified()
    setup.choose_providers(["rvsq"])
    for bad in ("", "epic", "Omnimed", "myle-emr"):
        refused(setup, InvalidValue, setup.choose_emr, bad)
    setup.choose_emr("standalone")
    assert progress(setup) == [True, True, True, True, True, False]
    refused(setup, NoEmrToImportFrom, setup.start_import, "staff", uuid4())


def test_changing_a_preset_emr_raises_an_alert_event() -> None:
    kept = through_emr("omnimed", preset="omnimed")
    assert not kept.emr_alert
    assert "PresetEmrChanged" not in [type(e).__name__ for e in kept.collect_events()]
    changed = through_emr("toubib", preset="omnimed")
    assert changed.emr_alert
    events = changed.collect_events()
    alert = [e for e in events if type(e).__name__ == "PresetEmrChanged"]
    assert len(alert) == 1
    assert (alert[0].preset, alert[0].chosen) == ("omnimed", "toubib")
    with pytest.raises(InvalidValue):
        ClinicSetup.start(preset_emr="standalone")


def test_changing_the_emr_drops_its_imports() -> None:
    setup = through_emr("omnimed")
    imported(setup, "staff")
    imported(setup, "services")
    setup.acknowledge_patients(True)
    setup.choose_emr("myle")
    assert progress(setup) == [True, True, True, False, False, False]
    assert setup.current_step == "staff"
    imported(setup, "staff")
    imported(setup, "services")
    assert progress(setup) == [True] * 6  # the acknowledgement was kept


def test_imports_running_failed_retried_and_stale_outcomes() -> None:
    setup = through_emr()
    first = uuid4()
    setup.start_import("staff", first)
    refused(setup, SetupImportRunning, setup.start_import, "staff", uuid4())
    refused(setup, StepOutOfOrder, setup.start_import, "services", uuid4())
    setup.settle_import("staff", first, "failed", 0, 0)
    assert not setup.is_complete("staff")
    setup.start_import("staff", first)  # retry of the same job
    assert setup.imports["staff"]["status"] == "running"
    setup.settle_import("staff", uuid4(), "succeeded", 9, 0)  # not the current job: ignored
    assert setup.imports["staff"]["status"] == "running"
    setup.settle_import("staff", first, "conflicts", 24, 1)
    assert setup.is_complete("staff")
    assert setup.imports["staff"] == {"import_id": first, "status": "conflicts", "imported": 24,
                                      "conflicts": 1}
    with pytest.raises(InvalidValue):
        setup.settle_import("staff", first, "done", 1, 0)


def test_patients_need_the_acknowledgement() -> None:
    setup = through_emr("standalone")
    refused(setup, InvalidValue, setup.acknowledge_patients, False)
    setup.acknowledge_patients(True)
    assert setup.current_step is None


def test_after_completion_nothing_changes() -> None:
    setup = through_emr("standalone")
    setup.acknowledge_patients(True)
    setup.complete()
    for command, args in [
        (setup.identify_clinic, ("Autre", ADDRESS, "4185555555")), (setup.attach_logo, (PNG,)),
        (setup.remove_logo, ()), (setup.choose_providers, ([],)), (setup.choose_emr, ("toubib",)),
        (setup.acknowledge_patients, (True,)), (setup.complete, ()),
    ]:
        assert refused(setup, SetupCompleted, command, *args).code == "setup_completed"


def test_the_clinic_keeps_what_the_setup_gathered() -> None:
    from aggregates.clinic import Clinic

    setup = through_emr("omnimed")
    setup.attach_logo(PNG)
    clinic = Clinic.register("Clinique du Parc", ADDRESS, "+14185555555", "clinic",
                             id=setup.clinic_id)
    assert clinic.id == setup.clinic_id and clinic.portals is None
    assert clinic.publishes_to("pomelo")  # created otherwise: every portal
    clinic.configure(setup.id, "12", "omnimed", ["rvsq"], setup.logo)
    assert (clinic.setup_id, clinic.phone_extension, clinic.emr) == (setup.id, "12", "omnimed")
    assert clinic.logo == setup.logo
    assert clinic.publishes_to("rvsq") and not clinic.publishes_to("pomelo")
    rebuilt = None
    for e in clinic.collect_events():
        rebuilt = e.mutate(rebuilt)
    assert rebuilt is not None and rebuilt.portals == ["rvsq"] and rebuilt.logo == clinic.logo
