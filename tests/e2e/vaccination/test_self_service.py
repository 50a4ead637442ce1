"""The citizen's 2nd-dose self-service (V3, V4) over HTTP on PostgreSQL, codes and messages
through a real SMS gateway and a real SMTP server."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi.testclient import TestClient

from aggregates.appointment import Appointment
from aggregates.doses import coupon_for
from aggregates.patient import Patient
from aggregates.slot import Slot
from entrypoints.api.services import ApiServices
from hub.scheduling.service import Scheduling
from tests.support.notifications import Gateway, SmtpSink
from tests.support.vaccination import Site, code_in

LOOKUP = "/v1/self-service/lookup"


def lookup(client: TestClient, n: int, **body: Any) -> dict[str, Any]:
    answer = client.post(LOOKUP, json={"nam": f"AAAA800101{n:02d}", "phone": f"418 555-{n:04d}",
                                       **body})
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def sms_code(gateway: Gateway, n: int) -> str:
    return code_in(gateway.to(f"418555{n:04d}")[-1]["text"])


def verify(client: TestClient, request_id: str, code: str) -> dict[str, Any]:
    answer = client.post(f"/v1/self-service/{request_id}/verify", json={"code": code})
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_citizen_finds_verifies_rebooks_and_gets_both_confirmations(
    vclient: TestClient, pg_app: Scheduling, services: ApiServices, site: Site, gateway: Gateway,
    smtp_sink: SmtpSink,
) -> None:
    first, second = site.vaccinated(1)
    earlier = site.slot(days=3, capacity=2, products=["Pfizer-BioNTech"])
    services.notifications.run_once()  # the booking confirmations are out of the way
    sent = lookup(vclient, 1)
    assert sent["channel"] == "sms" and sent["sent_to"] == "***0001"
    verified = verify(vclient, sent["request_id"], sms_code(gateway, 1))
    assert verified["eligible"] and verified["reasons"] == [] and verified["refusal"] is None
    assert verified["appointment"]["id"] == str(second)
    assert verified["appointment"]["product"] == "Pfizer-BioNTech"
    assert verified["products"] == ["Pfizer-BioNTech"]

    assert services.projections.wait("availability", pg_app.head(), 10)  # written directly
    slots = vclient.get("/v1/self-service/availability", headers=bearer(verified["token"]))
    assert slots.status_code == 200, slots.text
    offered = [s["slot_id"] for s in slots.json()]
    assert str(earlier) in offered and str(site.first_slot) not in offered

    answer = vclient.post("/v1/self-service/rebook", headers=bearer(verified["token"]),
                          json={"slot_id": str(earlier), "email": "nouveau@example.ca"})
    assert answer.status_code == 201, answer.text
    done = answer.json()
    assert done["cancelled_appointment_id"] == str(second)
    new = pg_app.load(Appointment, UUID(done["appointment_id"]), "appointment")
    old = pg_app.load(Appointment, second, "appointment")
    assert (new.active, new.dose, new.first_dose_id, new.source) == (True, 2, first, "citizen")
    assert old.cancelled and not old.active
    # the e-mail typed stays with the new appointment; the patient record does not change
    assert new.as_given["email"] == "nouveau@example.ca"
    record = pg_app.load(Patient, new.patient_id, "patient")
    assert (record.email, record.version) == ("c1@example.ca", 1)
    assert pg_app.load(Slot, site.planned_slot, "slot").holds(second) is False

    again = vclient.post("/v1/self-service/rebook", headers=bearer(verified["token"]),
                         json={"slot_id": str(earlier)})
    assert again.status_code == 401, again.text  # the token allowed one rebooking

    services.notifications.run_once()
    subjects = [m["Subject"] for m in smtp_sink.to("nouveau@example.ca")]
    assert any(s.startswith("Confirmation") for s in subjects), subjects
    # the cancelled appointment's notice goes where its own booking said (CONTRACT "Patients")
    before = [m["Subject"] for m in smtp_sink.to("c1@example.ca")]
    assert any(s.startswith("Annulation") for s in before), before


def test_a_brute_force_of_the_code_is_locked_out_and_the_appointment_unchanged(
    vclient: TestClient, pg_app: Scheduling, site: Site, gateway: Gateway,
) -> None:
    _, second = site.vaccinated(2)
    before = pg_app.load(Appointment, second, "appointment").version
    sent = lookup(vclient, 2)
    right = sms_code(gateway, 2)
    wrong = [c for c in (f"{i:06d}" for i in range(10)) if c != right]
    codes = []
    for guess in wrong[:7]:
        answer = vclient.post(f"/v1/self-service/{sent['request_id']}/verify", json={"code": guess})
        assert answer.status_code == 409, answer.text
        codes.append((answer.json()["error"]["code"], answer.json()["error"]["details"]["tries_left"]))
    assert codes == [("wrong_code", 4), ("wrong_code", 3), ("wrong_code", 2), ("wrong_code", 1),
                     ("code_locked", 0), ("code_locked", 0), ("code_locked", 0)]
    late = vclient.post(f"/v1/self-service/{sent['request_id']}/verify", json={"code": right})
    assert late.status_code == 409 and late.json()["error"]["code"] == "code_locked"
    forged = vclient.post("/v1/self-service/rebook", json={"slot_id": str(site.planned_slot)},
                          headers=bearer(f"{sent['request_id']}.guess"))
    assert forged.status_code == 401
    after = pg_app.load(Appointment, second, "appointment")
    assert after.version == before and after.active


def test_codes_are_rate_limited_per_nam(vclient: TestClient, site: Site) -> None:
    site.vaccinated(3)
    for _ in range(5):
        lookup(vclient, 3)
    answer = vclient.post(LOOKUP, json={"nam": "AAAA80010103", "phone": "4185550003"})
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "too_many_requests"
    assert answer.json()["error"]["details"]["retry_after_seconds"] > 0


def test_coupon_and_email(vclient: TestClient, site: Site, smtp_sink: SmtpSink) -> None:
    """By coupon, with a phone that is not a cell: the code goes by e-mail."""
    _, second = site.vaccinated(4, cell=None, phone="4185550004")
    coupon = coupon_for(second)
    sent = lookup(vclient, 4, nam=None, coupon=f"{coupon[:4]}-{coupon[4:]}".lower())
    assert sent["channel"] == "email" and sent["sent_to"] == "c***@example.ca"
    code = code_in(smtp_sink.to("c4@example.ca")[-1].get_body(("plain",)).get_content())
    assert verify(vclient, sent["request_id"], code)["eligible"]


def refused(client: TestClient, body: dict[str, Any]) -> str:
    answer = client.post(LOOKUP, json=body)
    assert answer.status_code in (409, 422), answer.text
    error = answer.json()["error"]
    return str(error["code"])


def test_exception_cases_each_have_their_own_answer(
    vclient: TestClient, pg_app: Scheduling, services: ApiServices, site: Site, gateway: Gateway,
) -> None:
    site.vaccinated(5)
    assert refused(vclient, {"nam": "AAAA80010105", "phone": "4185559999"}) == "identification_failed"
    assert refused(vclient, {"nam": "ZZZZ80010105", "phone": "4185550005"}) == "identification_failed"
    site.vaccinated(6, nam="AAAA15010106", birth_date="2015-01-01")
    assert refused(vclient, {"nam": "AAAA15010106", "phone": "4185550006"}) == "not_in_target_group"

    # the product is not identified on either dose
    site.vaccinated(7, product=None)
    verified = verify(vclient, lookup(vclient, 7)["request_id"], sms_code(gateway, 7))
    assert verified["refusal"]["code"] == "product_not_identified"
    assert [r["code"] for r in verified["reasons"]] == ["product_identified"]
    assert "1 877 644-4545" in verified["refusal"]["message_fr"]

    # only the 2nd dose is in the hub (1st dose given elsewhere)
    services.vaccination.records.book(site.planned_slot, site.services["Moderna"],
                                      {"nam": "AAAA80010108", "first_name": "A", "last_name": "B",
                                       "birth_date": "1980-01-01", "cell": "4185550008"},
                                      "admin", None, 2)
    verified = verify(vclient, lookup(vclient, 8)["request_id"], sms_code(gateway, 8))
    assert verified["refusal"]["code"] == "first_dose_not_recorded"
    slot = site.slot(days=3)
    blocked = vclient.post("/v1/self-service/rebook", headers=bearer(verified["token"]),
                           json={"slot_id": str(slot)})
    assert blocked.status_code == 409 and blocked.json()["error"]["code"] == "first_dose_not_recorded"

    # the citizen says the product is wrong: nothing written
    _, second = site.vaccinated(9)
    verified = verify(vclient, lookup(vclient, 9)["request_id"], sms_code(gateway, 9))
    head = pg_app.head()
    wrong = vclient.post("/v1/self-service/rebook", headers=bearer(verified["token"]),
                         json={"slot_id": str(slot), "details_confirmed": False})
    assert wrong.status_code == 409 and wrong.json()["error"]["code"] == "product_declared_wrong"
    assert pg_app.head() == head


def test_astrazeneca_first_dose_may_switch_and_the_freed_place_keeps_its_product(
    vclient: TestClient, pg_app: Scheduling, site: Site, gateway: Gateway,
) -> None:
    _, second = site.vaccinated(10, product="AstraZeneca")
    switch_slot = site.slot(days=5, capacity=1, products=["AstraZeneca"])
    pg_app.assign_product(switch_slot, "Moderna")  # seed 000 §9: AZ slots also take Moderna
    verified = verify(vclient, lookup(vclient, 10)["request_id"], sms_code(gateway, 10))
    assert verified["products"] == ["AstraZeneca", "Pfizer-BioNTech", "Moderna"]
    projections = vclient.app.state.services.projections  # type: ignore[attr-defined]
    assert projections.wait("availability", pg_app.head(), 10)  # the slots were written directly
    offered = vclient.get("/v1/self-service/availability?product=Moderna",
                          headers=bearer(verified["token"])).json()
    assert str(switch_slot) in [s["slot_id"] for s in offered]
    pfizer = vclient.post("/v1/self-service/rebook", headers=bearer(verified["token"]),
                          json={"slot_id": str(switch_slot), "product": "Pfizer"})
    assert pfizer.status_code == 409 and pfizer.json()["error"]["code"] == "product_not_assigned"
    done = vclient.post("/v1/self-service/rebook", headers=bearer(verified["token"]),
                        json={"slot_id": str(switch_slot), "product": "Moderna"})
    assert done.status_code == 201, done.text
    new = pg_app.load(Appointment, UUID(done.json()["appointment_id"]), "appointment")
    assert new.product == "Moderna" and new.service_id == site.services["Moderna"]
    # S4: the old AstraZeneca place goes back to its slot with its product
    planned = pg_app.load(Slot, site.planned_slot, "slot")
    assert not planned.holds(second) and "AstraZeneca" in planned.products
    pg_app.cancel(new.id)
    assert "Moderna" in pg_app.load(Slot, switch_slot, "slot").products


def test_a_first_dose_only_citizen_books_the_2nd_dose(
    vclient: TestClient, pg_app: Scheduling, site: Site, gateway: Gateway,
) -> None:
    first, _ = site.vaccinated(11, second=False)
    slot = site.slot(days=4, capacity=1)
    verified = verify(vclient, lookup(vclient, 11)["request_id"], sms_code(gateway, 11))
    assert verified["eligible"] and verified["appointment"]["id"] == str(first)
    done = vclient.post("/v1/self-service/rebook", headers=bearer(verified["token"]),
                        json={"slot_id": str(slot)})
    assert done.status_code == 201, done.text
    assert done.json()["cancelled_appointment_id"] is None
    outside = site.slot(days=200, capacity=1)
    verified = verify(vclient, lookup(vclient, 11)["request_id"], sms_code(gateway, 11))
    far = vclient.post("/v1/self-service/rebook", headers=bearer(verified["token"]),
                       json={"slot_id": str(outside)})
    assert far.status_code == 409 and far.json()["error"]["code"] == "outside_prescribed_interval"
