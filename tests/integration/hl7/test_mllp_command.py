"""``hub mllp --port P`` and ``hub hl7-outbound --once`` as processes, with an EMR on MLLP (SQLite)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from uuid import UUID

from aggregates.appointment import Appointment
from connectors.hl7v2.mllp import MllpClient
from hub.emr.feeds import EmrFeeds
from tests.integration.hl7.test_outbound import staff_slot
from tests.support.emr_sim import EmrReceiver, ServerThread, read_ack
from tests.support.hl7 import emr_clinic
from tests.support.scheduling import future, make_app, patient

ROOT = Path(__file__).resolve().parents[3]


def test_hub_mllp_listener_applies_siu_and_answers_acks(sqlite_url: str) -> None:
    app = make_app(sqlite_url)
    hl7 = emr_clinic(app)
    env = {**os.environ, "HUB_DATABASE_URL": sqlite_url, "HUB_LOG_FORMAT": "json"}
    proc = subprocess.Popen([sys.executable, "-m", "entrypoints", "mllp", "--port", "0"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert "listening on" in line, proc.stderr.read() if proc.poll() is not None else line
        port = int(line.rsplit(":", 1)[1])
        with MllpClient("127.0.0.1", port, timeout=20) as client:
            booked = read_ack(client.send(hl7.emr.siu("S12", "FL1", future(48))))
            unknown = read_ack(client.send(hl7.emr.siu("S12", "FL2", future(48)).replace(
                "OMNIMED|CLIN01", "KINLOGIX|X", 1)))
        assert booked.code == "AA", booked.error
        assert unknown.code == "AR" and "not registered" in unknown.error
        appointment_id = booked.text.split()[1]
        assert app.load(Appointment, UUID(appointment_id), "appointment").source == "emr"
    finally:
        proc.terminate()
        proc.wait(10)
        app.close()


def test_hub_mllp_refuses_a_bad_port() -> None:
    result = subprocess.run([sys.executable, "-m", "entrypoints", "mllp", "--port", "70000"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60,
                            env={**os.environ, "HUB_DATABASE_URL": "memory://"})
    assert result.returncode == 1 and "--port must be between 0 and 65535" in result.stderr


def test_hub_hl7_outbound_once_sends_what_is_due(sqlite_url: str) -> None:
    app = make_app(sqlite_url)
    hl7 = emr_clinic(app)
    emr = EmrReceiver()
    server = ServerThread(emr)
    try:
        EmrFeeds(app).subscribe(hl7.clinic, hl7.sender, "127.0.0.1", server.port)
        setup, slot = staff_slot(hl7)
        app.book(slot, setup.consult, patient(1), "admin")
        env = {**os.environ, "HUB_DATABASE_URL": sqlite_url, "HUB_LOG_FORMAT": "json"}
        run = subprocess.run([sys.executable, "-m", "entrypoints", "hl7-outbound", "--once"], cwd=ROOT,
                             env=env, capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        assert "1 SIU messages sent" in run.stdout
        assert len(emr.received) == 1 and "SIU^S12^SIU_S12" in emr.received[0]
        again = subprocess.run([sys.executable, "-m", "entrypoints", "hl7-outbound", "--once"], cwd=ROOT,
                               env=env, capture_output=True, text=True, timeout=120)
        assert "0 SIU messages sent" in again.stdout and len(emr.received) == 1
    finally:
        server.stop()
        app.close()
