"""A sender killed mid-send (SIGKILL) never makes a patient receive a message twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from aggregates.notification import Notification
from hub.bootstrap import notification_center
from hub.scheduling.service import Scheduling
from hub.settings import Settings
from tests.support.notifications import Gateway, SmtpSink
from tests.support.scheduling import Setup, patient

ROOT = Path(__file__).resolve().parents[3]


def start_sender(store_url: str, smtp: SmtpSink, gateway: Gateway) -> subprocess.Popen:
    env = {**os.environ, "HUB_DATABASE_URL": store_url, "HUB_SMTP_HOST": smtp.host,
           "HUB_SMTP_PORT": str(smtp.port), "HUB_GATEWAY_URL": gateway.url,
           "HUB_CLAIM_LEASE_SECONDS": "1", "HUB_LOG_LEVEL": "WARNING"}
    return subprocess.Popen([sys.executable, "-m", "entrypoints", "notifications", "run", "--once"], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_until(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def claimed(app: Scheduling, appointment_id) -> list[Notification]:
    notifications, _ = notification_center(app).for_appointment(appointment_id)
    return [n for n in notifications if n.sending is not None]


def test_killed_mid_send_email_is_not_resent_and_sms_is_delivered_once(
        app: Scheduling, setup: Setup, store_url: str, smtp_sink: SmtpSink, gateway: Gateway) -> None:
    mail = app.book(setup.slot, setup.consult, patient(1, email="once@example.ca"), "emr")
    smtp_sink.stall = 1.0
    sender = start_sender(store_url, smtp_sink, gateway)
    wait_until(lambda: claimed(app, mail.id) and smtp_sink.arrived == 1)  # mid-send
    sender.send_signal(signal.SIGKILL)
    sender.wait(timeout=10)
    time.sleep(1.2)  # the stalled SMTP session ends (aiosmtpd drops a message whose client died)
    mails_before = len(smtp_sink.received)
    assert mails_before <= 1

    text = app.book(setup.slot, setup.consult,
                    patient(2, email=None, cell="+15145550002"), "emr")
    gateway.stall = 1.0
    sender = start_sender(store_url, smtp_sink, gateway)
    wait_until(lambda: claimed(app, text.id) and gateway.arrived == 1)
    sender.send_signal(signal.SIGKILL)
    sender.wait(timeout=10)
    wait_until(lambda: len(gateway.delivered) == 1)
    smtp_sink.stall = gateway.stall = 0.0
    time.sleep(1.1)  # the dead sender's claims outlive their lease

    settings = Settings(smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                    gateway_url=gateway.url, claim_lease_seconds=1)
    center = notification_center(app, settings)
    assert center.run_once().sent == 1  # the SMS, again under its key (the 2nd sender may
    # already have closed the stale e-mail claim: its lease had run out when it started)
    [email, _] = center.for_appointment(mail.id)[0]
    assert email.status == "failed" and "never sent twice" in email.last_error
    [sms, _] = center.for_appointment(text.id)[0]
    assert sms.status == "sent" and sms.attempts == 2
    assert len(smtp_sink.to("once@example.ca")) == mails_before  # not sent again
    assert len(gateway.to("+15145550002")) == 1
    assert center.run_once().sent == 0
