"""Setup wizard end to end on PostgreSQL through the API (W1–W2, seed 002), against a simulated
EMR FHIR R4 server on loopback: a full run creates a clinic whose staff and services match
the EMR; each field limit is refused with a clear 4xx and nothing written; leaving and coming
back resumes at the right step; conflicts are listed, and a retry after the EMR is fixed works.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from aggregates.clinic import Clinic
from aggregates.notification import PortalCommunication, portal_setting_id
from entrypoints.api.app import create_app
from hub.access.tokens import issue
from hub.scheduling.service import Scheduling
from hub.settings import EmrConnectionSettings, Settings
from tests.support.emr_fhir_sim import EmrFhirSim

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
       b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
       b"\x00\x00\x00IEND\xaeB`\x82")
CLINIC = {"name": "Clinique du Parc", "phone": "(418) 555-5555", "extension": "12",
          "address": {"street": "350 Boulevard Charest Est", "suite": "210", "city": "Québec",
                      "province": "QC", "postal_code": "g1k3h5"}}
Headers = dict[str, str]


@pytest.fixture
def emr() -> Iterator[EmrFhirSim]:
    """Omnimed's FHIR API (OAuth client credentials, as its vendor profile says), two per page."""
    with EmrFhirSim(auth="client_credentials", page_size=2) as sim:
        sim.add_practitioner("p1", "Dre Julie Tremblay", role="MD", licence="11111")
        sim.add_practitioner("p2", "Marc Gagnon", role="INF")
        sim.add_practitioner("p3", "Léa Roy", role="IPS", licence="33333")
        sim.add_service("s1", "Consultation sans rendez-vous")
        sim.add_service("s2", "Suivi de grossesse")
        sim.add_service("s3", "Vaccination")
        yield sim


def settings_for(sim: EmrFhirSim) -> Settings:
    return Settings(emr_connections={"omnimed": EmrConnectionSettings(
        base_url=sim.base_url, token_url=sim.token_url, client_id=sim.client_id,
        client_secret=sim.client_secret)})


@pytest.fixture
def wizard(pg_app: Scheduling, emr: EmrFhirSim) -> Iterator[TestClient]:
    with TestClient(create_app(pg_app, settings_for(emr))) as test_client:
        yield test_client


@pytest.fixture
def admin(wizard: TestClient) -> Headers:
    _, secret = issue(wizard.app.state.services.access, "admin", [])  # type: ignore[attr-defined]
    return {"Authorization": f"Bearer {secret}"}


def ok(answer: Any, status: int = 200) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body: dict[str, Any] = answer.json()
    return body


def settled(client: TestClient, setup_id: str, kind: str, headers: Headers) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        body = ok(client.get(f"/v1/setups/{setup_id}", headers=headers))
        report = body["imports"][kind]
        if report and report["status"] != "running":
            return body
        time.sleep(0.05)
    raise AssertionError(f"{kind} import still running: {body}")


def through_emr(client: TestClient, headers: Headers, emr: str = "omnimed",
                preset: str | None = "omnimed") -> str:
    setup = ok(client.post("/v1/setups", json={"preset_emr": preset}, headers=headers), 201)
    url = f"/v1/setups/{setup['id']}"
    ok(client.put(f"{url}/clinic", json=CLINIC, headers=headers))
    ok(client.put(f"{url}/providers", json={"portals": ["rvsq", "myle-portal"]}, headers=headers))
    ok(client.put(f"{url}/emr", json={"emr": emr}, headers=headers))
    return str(setup["id"])


def names(client: TestClient, path: str, headers: Headers) -> set[str]:
    return {item["name"] for item in ok(client.get(path, headers=headers))["items"]}


def test_a_full_run_creates_the_clinic_with_the_emr_staff_and_services(
    wizard: TestClient, admin: Headers, pg_app: Scheduling, emr: EmrFhirSim
) -> None:
    setup = ok(wizard.post("/v1/setups", json={"preset_emr": "omnimed"}, headers=admin), 201)
    assert [(s["name"], s["complete"]) for s in setup["steps"]] == [
        ("clinic", False), ("providers", False), ("emr", False), ("staff", False),
        ("services", False), ("patients", False)]
    url = f"/v1/setups/{setup['id']}"
    step = ok(wizard.put(f"{url}/clinic", json=CLINIC, headers=admin))
    assert step["clinic"]["address"]["postal_code"] == "G1K 3H5"
    assert step["clinic"]["phone"] == "+14185555555" and step["current_step"] == "providers"
    logo = ok(wizard.put(f"{url}/logo", content=PNG, headers={**admin, "Content-Type": "image/png"}))
    assert logo["logo"]["media_type"] == "image/png" and logo["logo"]["size"] == len(PNG)
    assert wizard.get(logo["logo"]["url"], headers=admin).content == PNG
    ok(wizard.put(f"{url}/providers", json={"portals": ["rvsq", "myle-portal"]}, headers=admin))
    chosen = ok(wizard.put(f"{url}/emr", json={"emr": "omnimed"}, headers=admin))
    assert chosen["alert"] is None and chosen["current_step"] == "staff"

    started = ok(wizard.post(f"{url}/staff", headers=admin), 202)
    assert started["imports"]["staff"]["status"] in ("running", "succeeded")
    staff = settled(wizard, setup["id"], "staff", admin)["imports"]["staff"]
    assert (staff["status"], staff["imported"], staff["conflicts"]) == ("succeeded", 3, [])
    ok(wizard.post(f"{url}/services", headers=admin), 202)
    after = settled(wizard, setup["id"], "services", admin)
    assert (after["imports"]["services"]["status"], after["imports"]["services"]["imported"]) == (
        "succeeded", 3)
    assert after["current_step"] == "patients"
    done = ok(wizard.put(f"{url}/patients", json={"acknowledged": True}, headers=admin))
    assert all(s["complete"] for s in done["steps"]) and done["current_step"] is None

    created = ok(wizard.post(f"{url}/complete", headers=admin), 201)
    clinic_id = created["clinic_id"]
    clinic = ok(wizard.get(f"/v1/clinics/{clinic_id}", headers=admin))
    assert clinic["name"] == "Clinique du Parc"
    assert names(wizard, f"/v1/clinics/{clinic_id}/professionals", admin) == {
        "Dre Julie Tremblay", "Marc Gagnon", "Léa Roy"}
    assert names(wizard, f"/v1/clinics/{clinic_id}/services", admin) == {
        "Consultation sans rendez-vous", "Suivi de grossesse", "Vaccination"}
    professionals = ok(wizard.get(f"/v1/clinics/{clinic_id}/professionals", headers=admin))["items"]
    assert {p["name"]: p["type"] for p in professionals}["Marc Gagnon"] == "nurse"
    served = wizard.get(f"/v1/clinics/{clinic_id}/logo")  # public
    assert (served.status_code, served.content, served.headers["content-type"]) == (
        200, PNG, "image/png")
    kept = pg_app.load(Clinic, UUID(clinic_id), "clinic")
    assert (kept.phone_extension, kept.emr, kept.portals) == ("12", "omnimed", ["rvsq", "myle-portal"])
    assert kept.address["suite"] == "210"
    # N4: RVSQ messages its own bookings (its profile says so); Myle's portal does not.
    rvsq = pg_app.load(PortalCommunication, portal_setting_id("rvsq"), "portal")
    assert rvsq.notifies_itself and not pg_app.exists(portal_setting_id("myle-portal"))
    # the EMR was asked with OAuth client credentials, page after page
    practitioner_pages = emr.fhir_requests("Practitioner")
    assert len(practitioner_pages) == 2
    assert all((r.authorization or "").startswith("Bearer ") for r in practitioner_pages)
    again = wizard.post(f"{url}/complete", headers=admin)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "setup_completed")


def test_each_field_limit_is_refused_and_nothing_written(
    wizard: TestClient, admin: Headers, pg_app: Scheduling
) -> None:
    setup = ok(wizard.post("/v1/setups", json={}, headers=admin), 201)
    url = f"/v1/setups/{setup['id']}"
    early = wizard.put(f"{url}/providers", json={"portals": ["rvsq"]}, headers=admin)
    assert (early.status_code, early.json()["error"]["code"]) == (409, "step_out_of_order")
    assert early.json()["error"]["details"]["missing"] == ["clinic"]
    address = CLINIC["address"]
    cases: list[tuple[dict[str, Any], str]] = [
        ({**CLINIC, "name": "x" * 201}, "name"),
        ({**CLINIC, "address": {**address, "postal_code": "90210"}}, "address.postal_code"),
        ({**CLINIC, "address": {**address, "province": "NY"}}, "address.province"),
        ({**CLINIC, "phone": "555-5555"}, "phone"),
        ({**CLINIC, "extension": "poste 12"}, "extension"),
    ]
    head = pg_app.head()
    for body, field in cases:
        refused = wizard.put(f"{url}/clinic", json=body, headers=admin)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["details"]["field"] == field, refused.text
    not_an_image = wizard.put(f"{url}/logo", content=b"<svg xmlns='http://www.w3.org/2000/svg'/>",
                              headers={**admin, "Content-Type": "image/png"})
    assert (not_an_image.status_code, not_an_image.json()["error"]["code"]) == (
        422, "logo_type_refused")
    too_large = wizard.put(f"{url}/logo", content=PNG + b"\0" * (5 * 1024 * 1024),
                           headers={**admin, "Content-Type": "image/png"})
    assert too_large.status_code == 413, too_large.text
    assert pg_app.head() == head  # nothing written
    kept = ok(wizard.get(url, headers=admin))
    assert kept["clinic"] is None and kept["logo"] is None and kept["current_step"] == "clinic"
    largest = ok(wizard.put(f"{url}/logo", content=PNG + b"\0" * (5 * 1024 * 1024 - len(PNG)),
                            headers={**admin, "Content-Type": "application/octet-stream"}))
    assert largest["logo"]["size"] == 5 * 1024 * 1024


def test_leaving_and_coming_back_resumes_at_the_right_step(
    pg_app: Scheduling, emr: EmrFhirSim
) -> None:
    with TestClient(create_app(pg_app, settings_for(emr))) as first:
        _, secret = issue(first.app.state.services.access, "admin", [])  # type: ignore[attr-defined]
        headers = {"Authorization": f"Bearer {secret}"}
        setup_id = through_emr(first, headers)
        emr.delay = 0.3  # the staff import is still running when the person leaves
        ok(first.post(f"/v1/setups/{setup_id}/staff", headers=headers), 202)
    emr.delay = 0
    with TestClient(create_app(pg_app, settings_for(emr))) as later:  # another session, process
        back = settled(later, setup_id, "staff", headers)
        assert [s["complete"] for s in back["steps"]] == [True, True, True, True, False, False]
        assert back["current_step"] == "services"
        assert back["clinic"]["name"] == "Clinique du Parc" and back["emr"] == "omnimed"
        assert back["portals"] == ["rvsq", "myle-portal"]


def test_conflicts_are_listed_and_a_retry_after_fixing_the_emr_succeeds(
    wizard: TestClient, admin: Headers, emr: EmrFhirSim
) -> None:
    emr.add_practitioner("p4", "Sophie Côté", role="ZZZ")
    emr.add_practitioner("p5", "Luc Morin", role="MD", licence="11111")  # p1's licence
    emr.add_service("s4", "")
    setup_id = through_emr(wizard, admin)
    url = f"/v1/setups/{setup_id}"
    ok(wizard.post(f"{url}/staff", headers=admin), 202)
    staff = settled(wizard, setup_id, "staff", admin)["imports"]["staff"]
    assert (staff["status"], staff["imported"]) == ("conflicts", 3)
    assert {(c["source_id"], c["reason"]) for c in staff["conflicts"]} == {
        ("p4", "unknown professional type 'ZZZ'"), ("p5", "duplicate licence 11111")}
    ok(wizard.post(f"{url}/services", headers=admin), 202)  # conflicts: the person may go on
    services = settled(wizard, setup_id, "services", admin)["imports"]["services"]
    assert services["status"] == "conflicts"
    assert services["conflicts"] == [
        {"source_id": "s4", "name": "", "reason": "missing required field: name"}]
    # the clinic fixes its EMR, then imports again
    emr.add_practitioner("p4", "Sophie Côté", role="INF")
    emr.add_practitioner("p5", "Luc Morin", role="MD", licence="55555")
    emr.add_service("s4", "Prélèvements")
    ok(wizard.post(f"{url}/staff", headers=admin), 202)
    staff = settled(wizard, setup_id, "staff", admin)["imports"]["staff"]
    assert (staff["status"], staff["imported"], staff["attempt"], staff["conflicts"]) == (
        "succeeded", 5, 2, [])
    ok(wizard.post(f"{url}/services", headers=admin), 202)
    assert settled(wizard, setup_id, "services", admin)["imports"]["services"]["imported"] == 4
    ok(wizard.put(f"{url}/patients", json={"acknowledged": True}, headers=admin))
    clinic_id = ok(wizard.post(f"{url}/complete", headers=admin), 201)["clinic_id"]
    assert len(names(wizard, f"/v1/clinics/{clinic_id}/professionals", admin)) == 5
    assert "Prélèvements" in names(wizard, f"/v1/clinics/{clinic_id}/services", admin)


def test_an_emr_error_can_be_retried(wizard: TestClient, admin: Headers, emr: EmrFhirSim) -> None:
    setup_id = through_emr(wizard, admin)
    emr.fail_next(100, status=503)
    ok(wizard.post(f"/v1/setups/{setup_id}/staff", headers=admin), 202)
    failed = settled(wizard, setup_id, "staff", admin)
    assert failed["imports"]["staff"]["status"] == "failed"
    assert "HTTP 503" in failed["imports"]["staff"]["error"]
    assert failed["current_step"] == "staff"
    early = wizard.post(f"/v1/setups/{setup_id}/services", headers=admin)
    assert (early.status_code, early.json()["error"]["code"]) == (409, "step_out_of_order")
    emr.recover()
    ok(wizard.post(f"/v1/setups/{setup_id}/staff", headers=admin), 202)
    assert settled(wizard, setup_id, "staff", admin)["imports"]["staff"]["status"] == "succeeded"


def test_a_changed_preset_emr_alerts_and_standalone_skips_the_imports(
    wizard: TestClient, admin: Headers, pg_app: Scheduling
) -> None:
    setup_id = through_emr(wizard, admin, emr="toubib", preset="omnimed")
    answer = ok(wizard.get(f"/v1/setups/{setup_id}", headers=admin))
    assert answer["alert"]["code"] == "preset_emr_changed"
    assert "une équipe communiquera avec vous" in answer["alert"]["message"]
    topics = [n.topic for n in pg_app.recorder.select_notifications(start=1, limit=1000)]
    assert any(t.endswith("ClinicSetup.PresetEmrChanged") for t in topics)
    ok(wizard.post(f"/v1/setups/{setup_id}/staff", headers=admin), 202)  # no FHIR API: an error
    failed = settled(wizard, setup_id, "staff", admin)["imports"]["staff"]
    assert failed["status"] == "failed" and "FHIR" in failed["error"]
    standalone = ok(wizard.put(f"/v1/setups/{setup_id}/emr", json={"emr": "standalone"},
                               headers=admin))
    assert [s["complete"] for s in standalone["steps"]] == [True, True, True, True, True, False]
    refused = wizard.post(f"/v1/setups/{setup_id}/staff", headers=admin)
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "no_emr")
    ok(wizard.put(f"/v1/setups/{setup_id}/patients", json={"acknowledged": True}, headers=admin))
    clinic_id = ok(wizard.post(f"/v1/setups/{setup_id}/complete", headers=admin), 201)["clinic_id"]
    assert names(wizard, f"/v1/clinics/{clinic_id}/professionals", admin) == set()
    missing = wizard.get(f"/v1/clinics/{clinic_id}/logo")
    assert missing.status_code == 404


def test_only_admins_run_the_wizard(wizard: TestClient, admin: Headers,
                                    pg_app: Scheduling) -> None:
    clinic = pg_app.register_clinic("Autre", CLINIC["address"], "4185555555", "clinic").id
    _, secret = issue(wizard.app.state.services.access, "clinic_staff", [clinic])  # type: ignore[attr-defined]
    refused = wizard.post("/v1/setups", json={}, headers={"Authorization": f"Bearer {secret}"})
    assert refused.status_code == 403
    assert wizard.post("/v1/setups", json={}).status_code == 401


def test_each_portal_reads_its_own_feed(wizard: TestClient) -> None:
    manifest = ok(wizard.get("/fhir/r4/$bulk-publish?portal=rvsq"))
    assert all(o["url"].endswith("?portal=rvsq") for o in manifest["output"])
    assert wizard.get("/fhir/r4/$bulk-publish/Slot.ndjson?portal=pomelo").status_code == 200
    unknown = wizard.get("/fhir/r4/$bulk-publish?portal=doctolib")
    assert unknown.status_code == 400 and "unknown portal" in unknown.text


def test_an_emr_without_fhir_imports_its_export_instead(
    wizard: TestClient, admin: Headers, pg_app: Scheduling
) -> None:
    setup_id = through_emr(wizard, admin, emr="toubib", preset="toubib")
    url = f"/v1/setups/{setup_id}"
    ok(wizard.post(f"{url}/staff", headers=admin), 202)
    assert "FHIR" in settled(wizard, setup_id, "staff", admin)["imports"]["staff"]["error"]
    head = pg_app.head()
    malformed = wizard.post(f"{url}/staff", json={"source": "nom;type\nX;gp\n"}, headers=admin)
    assert (malformed.status_code, malformed.json()["error"]["code"]) == (422, "malformed_source")
    assert pg_app.head() == head
    csv_staff = "source_id,name,type,licence\nT1,Dre Anne Roy,gp,77777\nT2,Paul Côté,inf,\n"
    ok(wizard.post(f"{url}/staff", json={"source": csv_staff}, headers=admin), 202)
    staff = settled(wizard, setup_id, "staff", admin)["imports"]["staff"]
    assert (staff["status"], staff["imported"]) == ("succeeded", 2)
    csv_services = ("source_id,name,duration_minutes\nS1,Consultation,15\n")
    ok(wizard.post(f"{url}/services", json={"source": csv_services}, headers=admin), 202)
    assert settled(wizard, setup_id, "services", admin)["imports"]["services"]["imported"] == 1
    ok(wizard.put(f"{url}/patients", json={"acknowledged": True}, headers=admin))
    clinic_id = ok(wizard.post(f"{url}/complete", headers=admin), 201)["clinic_id"]
    assert names(wizard, f"/v1/clinics/{clinic_id}/professionals", admin) == {"Dre Anne Roy",
                                                                              "Paul Côté"}
    assert names(wizard, f"/v1/clinics/{clinic_id}/services", admin) == {"Consultation"}
