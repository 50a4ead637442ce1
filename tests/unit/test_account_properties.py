"""Hypothesis state machine over citizen accounts, bookings, corrections and validations.

Patients are registered, accounts opened by holders, citizens ask for associations, bookings
are made with or without an account (for self or "another patient"), records are corrected,
and clinics (or an admin) identify holders, validate associations or run the presence
sequence. After every step:

- each account matches a simple model, and every refusal is the one the model expects;
- identity is green only if a clinic validated it since the holder's last change, and an
  association only if a clinic validated it since the last change of that patient or of
  the holder (read from the account's events alone);
- an association is never green while the identity is red, and no icon pair shows it;
- a booking never changes a patient record; its messages go to the contacts it carried;
- replaying the events rebuilds the same account.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from aggregates.account import PERSONAL_FIELDS, Account
from aggregates.account_icons import Icon
from aggregates.appointment import Appointment
from aggregates.errors import DomainError
from aggregates.patient import Patient, identifier

TODAY = date(2026, 11, 30)
CLINICS = [uuid4(), uuid4(), uuid4()]
BY = st.sampled_from([*CLINICS, None])  # None: an admin, acting for every clinic
CORRECTIONS = st.sampled_from([
    {"first_name": "Renamed"}, {"email": "new@example.ca"}, {"cell": None}, {"language": "en"},
    {"language": "fr"}, {"nam": "GAGN12123199", "birth_date": "2012-12-31"},
])


PICK = st.integers(min_value=0, max_value=10_000)  # which patient or account, modulo their number


class AccountMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.n = 0
        self.patient: dict[UUID, Patient] = {}
        self.account: dict[UUID, Account] = {}
        self.events: dict[UUID, list[Any]] = {}
        # model: account id -> holder, identity, associations (patient -> validated), clinics
        self.model: dict[UUID, dict[str, Any]] = {}

    # -- patients and accounts -----------------------------------------------------------
    @initialize()
    def a_family(self) -> None:
        """A parent's account that booked for a child at the first clinic (seed 001 §2.2)."""
        holder, child = self._new_patient(), self._new_patient()
        account = self._open(0)
        self.book(1, 0, CLINICS[0], None)
        assert (self.patients[0], self.accounts[0], self.patients[1]) == (
            holder, account, child)

    @property
    def patients(self) -> list[UUID]:
        return list(self.patient)

    @property
    def accounts(self) -> list[UUID]:
        return list(self.account)

    def _patient(self, pick: int) -> UUID:
        return self.patients[pick % len(self.patients)]

    def _account(self, pick: int) -> UUID:
        return self.accounts[pick % len(self.accounts)]

    @rule()
    def register_patient(self) -> None:
        self._new_patient()

    def _new_patient(self) -> UUID:
        self.n += 1
        patient = Patient.register(
            [identifier("NAM", f"TREM850101{self.n % 100:02d}")],
            {"first_name": "Pat", "last_name": f"Ient{self.n}", "birth_date": "1985-01-01",
             "language": "fr", "email": f"p{self.n}@example.ca"}, TODAY)
        self.patient[patient.id] = patient
        return patient.id

    @rule(holder_pick=PICK)
    def open_account(self, holder_pick: int) -> None:
        self._open(holder_pick)

    def _open(self, holder_pick: int) -> UUID:
        holder = self._patient(holder_pick)
        account = Account.open(f"family{len(self.account)}@example.ca", holder, set())
        self.account[account.id] = account
        self.events[account.id] = []
        self.model[account.id] = {"holder": holder, "identity": False, "assoc": {},
                                  "clinics": set()}
        self._collect(account.id)
        return account.id

    def _collect(self, account_id: UUID) -> None:
        self.events[account_id].extend(self.account[account_id].collect_events())

    def _expect(self, account_id: UUID, action: Any, refusal: str | None) -> bool:
        """Run ``action``; it must be refused with ``refusal`` (a code) or pass when None."""
        account = self.account[account_id]
        before = account.version
        try:
            action(account)
        except DomainError as exc:
            assert exc.code == refusal, f"refused with {exc.code}, expected {refusal}"
            assert account.collect_events() == [] and account.version == before
            return False
        assert refusal is None, f"passed, expected {refusal}"
        self._collect(account_id)
        return True

    # -- the citizen's side ------------------------------------------------------------
    @rule(account_pick=PICK, patient_pick=PICK)
    def citizen_asks_association(self, account_pick: int, patient_pick: int) -> None:
        account, patient = self._account(account_pick), self._patient(patient_pick)
        m = self.model[account]
        refusal = "patient_is_holder" if patient == m["holder"] else None
        if self._expect(account, lambda a: a.request_association(patient, "citizen"), refusal):
            m["assoc"].setdefault(patient, False)

    @rule(patient_pick=PICK, account_pick=st.none() | PICK, clinic=st.sampled_from(CLINICS),
          email=st.sampled_from([None, "mallory@example.net"]))
    def book(self, patient_pick: int, account_pick: int | None, clinic: UUID,
             email: str | None) -> None:
        patient = self._patient(patient_pick)
        account = None if account_pick is None else self._account(account_pick)
        records = {p: (x.version, x.record()) for p, x in self.patient.items()}
        appointment = Appointment.book(
            clinic_id=clinic, slot_id=uuid4(), professional_id=uuid4(),
            start=datetime(2026, 12, 1, 14, tzinfo=UTC), end=datetime(2026, 12, 1, 15, tzinfo=UTC),
            service_id=uuid4(), patient_id=patient, source="citizen", account_id=account,
            as_given={"first_name": "Mallory", "last_name": "Attacker", "email": email})
        if account is not None:
            m = self.model[account]
            if patient != m["holder"] and patient not in m["assoc"]:
                self.account[account].request_association(patient, "booking")  # "Autre patient"
                m["assoc"][patient] = False
            self.account[account].record_booking(appointment.id, clinic, patient)
            self._collect(account)
            m["clinics"].add(clinic)
        record = self.patient[patient].record()
        assert {p: (x.version, x.record()) for p, x in self.patient.items()} == records
        expected = email or record["email"]
        assert appointment.message_contacts(record)["email"] == expected

    @rule(patient_pick=PICK, changes=CORRECTIONS)
    def correct_record(self, patient_pick: int, changes: dict[str, Any]) -> None:
        patient = self._patient(patient_pick)
        fields = self.patient[patient].correct(changes, TODAY)
        personal = any(f in PERSONAL_FIELDS for f in fields)
        for account_id, m in self.model.items():
            if patient != m["holder"] and patient not in m["assoc"]:
                continue
            self.account[account_id].patient_changed(patient, fields)
            self._collect(account_id)
            if personal and patient == m["holder"]:
                m["identity"] = False
                m["assoc"] = dict.fromkeys(m["assoc"], False)
            elif personal:
                m["assoc"][patient] = False

    # -- the clinic's side ---------------------------------------------------------------
    def _clinic_refusal(self, m: dict[str, Any], clinic: UUID | None) -> str | None:
        return "no_appointment_in_clinic" if clinic is not None and clinic not in m["clinics"] \
            else None

    def _member_refusal(self, m: dict[str, Any], patient: UUID) -> str | None:
        if patient == m["holder"]:
            return "patient_is_holder"
        return None if patient in m["assoc"] else "patient_not_in_account"

    @rule(account_pick=PICK, clinic=BY)
    def identify(self, account_pick: int, clinic: UUID | None) -> None:
        account = self._account(account_pick)
        m = self.model[account]
        if self._expect(account, lambda a: a.identify(clinic), self._clinic_refusal(m, clinic)):
            m["identity"] = True

    @rule(account_pick=PICK, patient_pick=PICK, clinic=BY)
    def validate_association(self, account_pick: int, patient_pick: int,
                             clinic: UUID | None) -> None:
        account, patient = self._account(account_pick), self._patient(patient_pick)
        m = self.model[account]
        refusal = (self._member_refusal(m, patient) or self._clinic_refusal(m, clinic)
                   or (None if m["identity"] else "identity_not_validated"))
        if self._expect(account, lambda a: a.validate_association(patient, clinic), refusal):
            m["assoc"][patient] = True

    @rule(account_pick=PICK, patient_pick=PICK, clinic=BY, identify=st.booleans(),
          validate=st.booleans())
    def presence_sequence(self, account_pick: int, patient_pick: int, clinic: UUID | None,
                          identify: bool, validate: bool) -> None:
        account, patient = self._account(account_pick), self._patient(patient_pick)
        m = self.model[account]
        refusal = None
        if identify or validate:
            holds = patient == m["holder"] or patient in m["assoc"]
            refusal = (None if holds else "patient_not_in_account") \
                or self._clinic_refusal(m, clinic)
            if refusal is None and validate:
                refusal = self._member_refusal(m, patient) or (
                    None if m["identity"] or identify else "identity_not_validated")
        if self._expect(account, lambda a: a.confirm_at_presence(patient, clinic, identify,
                                                                 validate), refusal):
            m["identity"] = m["identity"] or identify
            if validate:
                m["assoc"][patient] = True

    # -- invariants ----------------------------------------------------------------------
    @invariant()
    def accounts_match_the_model(self) -> None:
        for account_id, m in self.model.items():
            account = self.account[account_id]
            assert account.identity_validated == m["identity"]
            assert {p: account.association_validated(p) for p in account.member_ids} == m["assoc"]
            assert set(account.clinic_ids) == m["clinics"]

    @invariant()
    def association_never_green_while_identity_red(self) -> None:
        for account in self.account.values():
            for member in account.member_ids:
                icons = account.icons_for(member)
                assert not (icons.identity is Icon.RED and icons.association is Icon.GREEN)
                if account.association_validated(member):
                    assert account.identity_validated

    @invariant()
    def green_only_after_a_clinic_validated_since_the_last_change(self) -> None:
        for account_id, events in self.events.items():
            identity, assoc, clinics = False, {}, set()
            for e in events:
                kind = type(e).__name__
                if kind == "BookingRecorded":
                    clinics.add(e.clinic_id)
                elif kind == "HolderIdentified":
                    assert e.clinic_id is None or e.clinic_id in clinics
                    identity = True
                elif kind == "AssociationValidated":
                    assert identity and (e.clinic_id is None or e.clinic_id in clinics)
                    assoc[e.patient_id] = True
                elif kind in ("AssociationRequested", "MemberDetailsChanged"):
                    assoc[e.patient_id] = False
                elif kind == "HolderDetailsChanged":
                    identity, assoc = False, dict.fromkeys(assoc, False)
            account = self.account[account_id]
            assert account.identity_validated == identity
            assert {p: account.association_validated(p) for p in account.member_ids} == assoc

    @invariant()
    def events_rebuild_the_same_account(self) -> None:
        for account_id, events in self.events.items():
            rebuilt = None
            for e in events:
                rebuilt = e.mutate(rebuilt)
            assert rebuilt is not None
            assert rebuilt.__dict__ == self.account[account_id].__dict__


AccountMachine.TestCase.settings = settings(
    max_examples=150, stateful_step_count=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_account_invariants = AccountMachine.TestCase
