"""The one visibility rule (``hub/access/visibility.py``), proved on every route of the app.

A clinic's staff book an appointment for a patient only that clinic holds, who also has a
citizen account opened by another portal. Then, for every route (enumerated from the OpenAPI,
so routes added later are covered) and every role that must not see them — a portal of the
same clinic that did not book it, an EMR and staff of another clinic, a signed-in 811 nurse
acting for no clinic — each request naming
those ids is answered without any of the patient's data or the appointment's id, and a
refused request writes nothing.
"""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.e2e.test_api_scope_matrix import PUBLIC_ROUTES, _operations, _query
from tests.support.http import HttpClinic, booking_body
from tests.support.scheduling import patient
from tests.support.users import signed_in

SECRET = patient(7, first_name="Secrète", last_name="Dupuis-Confidentiel",
                 email="secrete.dupuis@exemple.ca", cell="+15145550777")


def test_every_route_shows_a_token_only_what_it_may_see(client: TestClient, auth, admin) -> None:
    scheduling = client.app.state.services.scheduling
    mine, other = HttpClinic(client, admin, name="Mine"), HttpClinic(client, admin, name="Other")
    staff = auth("clinic_staff", mine.id)
    hidden = mine.book(headers=staff, patient=SECRET)
    opener = auth("portal", mine.id)
    account = client.post("/v1/accounts", headers=opener,
                          json={"email": "famille@exemple.ca", "holder": SECRET}).json()
    assert client.get(f"/v1/appointments/{hidden['id']}/notifications",
                      headers=staff).status_code == 200  # its messages are planned
    ids = {"clinic_id": mine.id, "slot_id": mine.slot, "appointment_id": hidden["id"],
           "patient_id": hidden["patient_id"], "account_id": account["id"],
           "professional_id": mine.gp, "service_id": mine.consult, "aggregate_id": hidden["id"],
           "resource_type": "Appointment", "resource_id": hidden["id"], "id": hidden["id"]}
    personal = {SECRET["nam"], "Secrète", "Dupuis-Confidentiel", "secrete.dupuis@exemple.ca",
                "+15145550777"}
    secrets = personal | {hidden["id"], hidden["patient_id"], account["id"]}
    body = {**booking_body(mine.slot, mine.consult, 8), "status": "present",
            "patient": patient(8), "confirmed": True, "email": "x@exemple.ca",
            "holder": patient(8), "nam": patient(8)["nam"], "slot_id": mine.slot,
            "first_name": "Changé"}
    viewers = {"portal that did not book": auth("portal", mine.id),
               "emr of another clinic": auth("emr", other.id),
               "staff of another clinic": auth("clinic_staff", other.id),
               "811 nurse (a referrer)": signed_in(client, admin, ["info_sante_811"]).headers}
    #: a referrer's own sign-out would end the session the rest of the loop uses
    own_session = {("811 nurse (a referrer)", "DELETE", "/v1/sessions/current")}
    checked = 0
    for method, template, operation in _operations(client):
        if (method, template) in PUBLIC_ROUTES:
            continue
        path = re.sub(r"{(\w+)}", lambda m: ids.get(m.group(1), hidden["id"]), template)
        for who, headers in viewers.items():
            if (who, method, template) in own_session:
                continue
            head = scheduling.head()
            answer = client.request(method, path, headers=headers, params=_query(operation, ids),
                                    json=body if method in ("POST", "PUT", "PATCH") else None)
            where = f"{who} {method} {path}: {answer.status_code} {answer.text[:300]}"
            assert answer.status_code < 500, where
            if answer.status_code >= 400:
                assert scheduling.head() == head, f"{where} was refused but wrote"
            # a refusal may repeat the ids the request named, never anything else
            kept = secrets if answer.status_code < 400 else {
                s for s in secrets if s in personal or s not in path}
            shown = sorted(s for s in kept if s in answer.text)
            assert not shown, f"{where} shows {shown}"
            checked += 1
    assert checked >= 4 * 40
    # the same reads by those who may see them do show the appointment
    for headers in (staff, admin):
        assert client.get(f"/v1/appointments/{hidden['id']}", headers=headers).status_code == 200
        assert client.get(f"/fhir/r4/Appointment/{hidden['id']}",
                          headers=headers).status_code == 200
    assert client.get(f"/v1/accounts/{account['id']}", headers=opener).status_code == 200
    for headers in viewers.values():  # the NAM search too
        answer = client.post("/v1/patients/search", json={"nam": SECRET["nam"]}, headers=headers)
        assert answer.status_code in (403, 404) and "Secrète" not in answer.text
