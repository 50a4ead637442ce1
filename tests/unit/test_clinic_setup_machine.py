"""Hypothesis state machine over ClinicSetup against a plain model of the six steps.

Invariants after every step: the complete steps form a prefix and match the model; a refused
command records nothing; the state rebuilt from the recorded events equals the live one; a
changed pre-set EMR left exactly one ``PresetEmrChanged`` per change; a completed setup stays so.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from aggregates.clinic_setup import (
    EMRS,
    IMPORT_KINDS,
    PORTALS,
    SETTLED,
    STANDALONE,
    STEPS,
    ClinicSetup,
    NoEmrToImportFrom,
    SetupCompleted,
    SetupImportRunning,
    SetupIncomplete,
    StepOutOfOrder,
)
from aggregates.errors import DomainError, InvalidValue

GOOD_ADDRESS = {"street": "1 rue Principale", "city": "Lévis", "province": "QC",
                "postal_code": "G6V 1A1"}
NAMES = st.one_of(st.text(st.characters(categories=("L", "N", "Zs")), min_size=1, max_size=210),
                  st.just("x" * 200), st.just("x" * 201))
POSTAL = st.sampled_from(["G6V 1A1", "h2x1y4", "D6V 1A1", "12345", "G6V 1A"])
PHONES = st.sampled_from(["(418) 555-5555", "+1 514 555 0000", "555-5555", "018 555 5555", ""])
EXTENSIONS = st.sampled_from([None, "", "12", "x12", "123456789"])
IMAGES = st.sampled_from([
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\0" * 20, b"GIF87a" + b"\0" * 10,
    b"\xff\xd8\xff\xe1" + b"\0" * 10, b"<svg/>", b"", b"GIF89",
])
EMR_CHOICES = st.sampled_from([*EMRS, STANDALONE, "epic"])
STATUSES = st.sampled_from(["running", "succeeded", "conflicts", "failed"])


def valid_clinic(name: str, postal: str, phone: str, extension: str | None) -> bool:
    return (0 < len(name.strip()) <= 200 and postal.upper().replace(" ", "") in ("G6V1A1", "H2X1Y4")
            and phone in ("(418) 555-5555", "+1 514 555 0000") and extension in (None, "", "12"))


class ClinicSetupMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[Any] = []
        self.clinic_ok = False
        self.portals: list[str] | None = None
        self.emr: str | None = None
        self.imports: dict[str, tuple[UUID, str]] = {}
        self.ack = False
        self.completed = False
        self.alerts = 0

    @initialize(preset=st.one_of(st.none(), st.sampled_from(EMRS)))
    def start(self, preset: str | None) -> None:
        self.preset = preset
        self.setup = ClinicSetup.start(preset_emr=preset)
        self._record()

    # -- the model -------------------------------------------------------------------------
    def done(self, step: str) -> bool:
        if step == "clinic":
            return self.clinic_ok
        if step == "providers":
            return self.portals is not None
        if step == "emr":
            return self.emr is not None
        if step in IMPORT_KINDS:
            return self.emr == STANDALONE or (
                step in self.imports and self.imports[step][1] in SETTLED)
        return self.ack

    def complete(self, step: str) -> bool:
        return all(self.done(s) for s in STEPS[: STEPS.index(step) + 1])

    def before_ok(self, step: str) -> bool:
        return all(self.complete(s) for s in STEPS[: STEPS.index(step)])

    def _record(self) -> None:
        self.events.extend(self.setup.collect_events())

    def run(self, expected: type[DomainError] | None, command: Any, *args: Any) -> None:
        version = self.setup.version
        try:
            command(*args)
        except DomainError as error:
            assert expected is not None and isinstance(error, expected), (error, expected)
            assert self.setup.version == version and not self.setup.pending_events
            return
        assert expected is None, f"expected {expected.__name__}"
        self._record()

    # -- rules -----------------------------------------------------------------------------
    @rule(name=NAMES, postal=POSTAL, phone=PHONES, extension=EXTENSIONS, suite=st.booleans())
    def identify(self, name: str, postal: str, phone: str, extension: str | None,
                 suite: bool) -> None:
        ok = valid_clinic(name, postal, phone, extension)
        expected = SetupCompleted if self.completed else None if ok else InvalidValue
        address = {**GOOD_ADDRESS, "postal_code": postal, **({"suite": "3"} if suite else {})}
        self.run(expected, self.setup.identify_clinic, name, address, phone, extension)
        self.clinic_ok = self.clinic_ok or expected is None

    @rule(image=IMAGES)
    def attach_logo(self, image: bytes) -> None:
        good = image[:4] in (b"\x89PNG", b"GIF8", b"\xff\xd8\xff\xe1") and len(image) > 12
        self.run(SetupCompleted if self.completed else None if good else InvalidValue,
                 self.setup.attach_logo, image)

    @rule()
    def remove_logo(self) -> None:
        self.run(SetupCompleted if self.completed else None, self.setup.remove_logo)
        assert self.completed or self.setup.logo is None

    @rule(portals=st.lists(st.sampled_from([*PORTALS, "doctolib"]), max_size=4))
    def choose_providers(self, portals: list[str]) -> None:
        expected = (SetupCompleted if self.completed else
                    StepOutOfOrder if not self.before_ok("providers") else
                    InvalidValue if "doctolib" in portals else None)
        self.run(expected, self.setup.choose_providers, portals)
        if expected is None:
            self.portals = sorted(set(portals), key=PORTALS.index)
            assert self.setup.portals == self.portals

    @rule(emr=EMR_CHOICES)
    def choose_emr(self, emr: str) -> None:
        expected = (SetupCompleted if self.completed else
                    StepOutOfOrder if not self.before_ok("emr") else
                    InvalidValue if emr == "epic" else None)
        self.run(expected, self.setup.choose_emr, emr)
        if expected is None and emr != self.emr:
            self.emr = emr
            self.imports = {}
            self.alerts += self.preset is not None and emr != self.preset

    @rule(kind=st.sampled_from(IMPORT_KINDS), same_job=st.booleans())
    def start_import(self, kind: str, same_job: bool) -> None:
        current = self.imports.get(kind)
        job = current[0] if current and same_job else uuid4()
        expected = (SetupCompleted if self.completed else
                    StepOutOfOrder if not self.before_ok(kind) else
                    NoEmrToImportFrom if self.emr == STANDALONE else
                    SetupImportRunning if current and current[1] == "running" else None)
        self.run(expected, self.setup.start_import, kind, job)
        if expected is None:
            self.imports[kind] = (job, "running")

    @rule(kind=st.sampled_from(IMPORT_KINDS), current_job=st.booleans(), status=STATUSES,
          imported=st.integers(0, 50), conflicts=st.integers(0, 3))
    def settle_import(self, kind: str, current_job: bool, status: str, imported: int,
                      conflicts: int) -> None:
        current = self.imports.get(kind)
        job = current[0] if current and current_job else uuid4()
        self.run(None, self.setup.settle_import, kind, job, status, imported, conflicts)
        if not self.completed and current and job == current[0]:
            self.imports[kind] = (job, status)

    @rule(acknowledged=st.booleans())
    def acknowledge(self, acknowledged: bool) -> None:
        expected = (SetupCompleted if self.completed else
                    StepOutOfOrder if not self.before_ok("patients") else
                    None if acknowledged else InvalidValue)
        self.run(expected, self.setup.acknowledge_patients, acknowledged)
        self.ack = self.ack or expected is None

    @rule()
    def complete_setup(self) -> None:
        expected = (SetupCompleted if self.completed else
                    None if self.complete("patients") else SetupIncomplete)
        self.run(expected, self.setup.complete)
        self.completed = self.completed or expected is None
        event(f"complete: {expected.__name__ if expected else 'created'}")

    @rule(emr=st.sampled_from(["omnimed", STANDALONE]), status=st.sampled_from(SETTLED))
    def next_step(self, emr: str, status: str) -> None:
        """The right command for the step where the person is (so runs reach the end)."""
        step = next((s for s in STEPS if not self.complete(s)), None)
        if step == "clinic":
            self.identify("Clinique du Parc", "G6V 1A1", "(418) 555-5555", None, False)
        elif step == "providers":
            self.choose_providers(["rvsq"])
        elif step == "emr":
            self.choose_emr(emr)
        elif step in IMPORT_KINDS:
            current = self.imports.get(step)
            if current is None or current[1] != "running":
                self.start_import(step, False)
            self.settle_import(step, True, status, 3, 0 if status == "succeeded" else 1)
        elif step == "patients":
            self.acknowledge(True)
        else:
            self.complete_setup()

    # -- invariants --------------------------------------------------------------------------
    @invariant()
    def steps_match_the_model_and_form_a_prefix(self) -> None:
        flags = [s["complete"] for s in self.setup.steps]
        assert flags == [self.complete(s) for s in STEPS]
        assert flags == sorted(flags, reverse=True)
        assert self.setup.current_step == next((s for s, f in zip(STEPS, flags, strict=True) if not f), None)
        assert self.setup.completed == self.completed
        assert not self.completed or all(flags)

    @invariant()
    def events_rebuild_the_same_setup(self) -> None:
        rebuilt = None
        for e in self.events:
            rebuilt = e.mutate(rebuilt)
        assert rebuilt is not None
        for name in ("version", "clinic", "logo", "portals", "emr", "imports", "acknowledged",
                     "completed", "clinic_id", "preset_emr"):
            assert getattr(rebuilt, name) == getattr(self.setup, name), name

    @invariant()
    def one_alert_per_change_from_the_preset_emr(self) -> None:
        alerts = [e for e in self.events if type(e).__name__ == "PresetEmrChanged"]
        assert len(alerts) == self.alerts
        assert self.setup.emr_alert == (
            self.preset is not None and self.emr is not None and self.emr != self.preset)


TestClinicSetupMachine = ClinicSetupMachine.TestCase
TestClinicSetupMachine.settings = settings(max_examples=150, stateful_step_count=40,
                                           deadline=None)
