"""Helpers shared by tests (moved out of conftest.py)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from fastapi.testclient import TestClient

from tests.support.scheduling import ADDRESS, future, patient

Headers = dict[str, str]



def clinic_body(name: str = "Clinique Test", application_type: str = "public_health") -> dict:
    return {"name": name, "address": ADDRESS, "phone": "418-555-0000",
            "application_type": application_type}



def slot_body(professional_id: str, service_ids: list[str], hours: float = 72, capacity: int = 10,
              locked: bool = False, products: list[str] | None = None) -> dict:
    start = future(hours)
    return {"start": start.isoformat(), "end": (start + timedelta(minutes=30)).isoformat(),
            "professional_id": professional_id, "capacity": capacity, "service_ids": service_ids,
            "products": ["Pfizer"] if products is None else products, "locked": locked}



def booking_body(slot_id: str, service_id: str, n: int = 1, **extra: object) -> dict:
    return {"slot_id": slot_id, "service_id": service_id, "patient": patient(n), **extra}



class HttpClinic:
    """A clinic built through the API: a GP, an online consult, an offline service, a slot."""

    def __init__(self, client: TestClient, headers: Headers, name: str = "Clinique Test",
                 capacity: int = 10, application_type: str = "public_health") -> None:
        self.client = client
        self.headers = headers
        self.id = self.post("/v1/clinics", clinic_body(name, application_type))["id"]
        self.gp = self.post(f"/v1/clinics/{self.id}/professionals",
                            {"name": "Dre Test", "type": "gp"})["id"]
        self.consult = self.post(f"/v1/clinics/{self.id}/services", {
            "name": "Consultation", "duration_minutes": 15, "category": "in_person",
            "online": True, "cancellation_delay_hours": 24})["id"]
        self.desk = self.post(f"/v1/clinics/{self.id}/services", {
            "name": "Suivi au comptoir", "duration_minutes": 15, "category": "in_person",
            "online": False, "cancellation_delay_hours": 24})["id"]
        self.slot = self.open_slot(capacity=capacity)

    def post(self, path: str, body: dict) -> dict:
        answer = self.client.post(path, json=body, headers=self.headers)
        assert answer.status_code == 201, answer.text
        return answer.json()

    def open_slot(self, **kwargs: object) -> str:
        return self.post(f"/v1/clinics/{self.id}/slots",
                         slot_body(self.gp, [self.consult, self.desk], **kwargs))["id"]

    def book(self, n: int = 1, headers: Headers | None = None, **extra: object) -> dict:
        answer = self.client.post("/v1/appointments", headers=headers or self.headers,
                                  json=booking_body(self.slot, self.consult, n, **extra))
        assert answer.status_code == 201, answer.text
        return answer.json()



class LiveServer:
    """The real app under uvicorn in a thread, on a free loopback port."""

    def __init__(self, app, port: int) -> None:
        import uvicorn

        self.url = f"http://127.0.0.1:{port}"
        self.app = app
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                                    log_level="warning", access_log=False))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert self.thread.is_alive(), "uvicorn stopped while starting"
            assert time.monotonic() < deadline, "uvicorn did not start within 20 s"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)

