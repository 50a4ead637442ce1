"""Random search parameters and bodies never get a 5xx from the FHIR endpoints: always a
searchset Bundle or an OperationOutcome (valid R4B), and refused writes write nothing."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.fhir import assert_valid
from tests.support.scheduling import Setup

TYPES = st.sampled_from(["Slot", "Appointment", "Schedule", "Practitioner", "HealthcareService",
                         "Location", "Patient", "$bulk-publish"])
NAMES = st.sampled_from(["schedule", "start", "status", "identifier", "patient.identifier", "date",
                         "_count", "_offset", "_id", "actor", "location", "service-type", "bogus"])
VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["ge2026-11-23", "lt2026-11-23T10:00:00-05:00", "gt", "free", "busy", "0", "-1",
                     "999999999999", "Schedule/", "|", "sys|", "|v", "NAM|TREM85010112"]),
)
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                    max_leaves=10)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(resource_type=TYPES, params=st.lists(st.tuples(NAMES, VALUES), max_size=4))
def test_random_searches(client, pg_app, auth, resource_type: str, params: list[tuple[str, str]]) -> None:
    world = getattr(pg_app, "_fuzz_world", None) or Setup(pg_app)
    pg_app._fuzz_world = world  # type: ignore[attr-defined]
    answer = client.get(f"/fhir/r4/{resource_type}", params=params, headers=auth("emr", world.clinic))
    assert answer.status_code < 500, answer.text
    if resource_type != "$bulk-publish" or answer.status_code != 200:
        assert_valid(answer.json())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(JSON, st.fixed_dictionaries({"resourceType": st.just("Appointment"), "status": st.text(max_size=8)},
                                                  optional={"slot": JSON, "participant": JSON, "contained": JSON})))
def test_random_appointment_bodies(client, pg_app, auth, body: object) -> None:
    world = getattr(pg_app, "_fuzz_world", None) or Setup(pg_app)
    pg_app._fuzz_world = world  # type: ignore[attr-defined]
    head = pg_app.head()
    answer = client.post("/fhir/r4/Appointment", json=body, headers=auth("emr", world.clinic))
    assert 400 <= answer.status_code < 500, answer.text
    assert_valid(answer.json())
    assert pg_app.head() == head
