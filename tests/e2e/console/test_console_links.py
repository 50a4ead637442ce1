"""The citizen's confirm and cancel pages in Chromium, opened from the links of the e-mails the
hub really sent (SMTP): French first, English, a superseded link and a late cancellation refused
in words, a GET that changes nothing (each screen screenshotted and checked by axe-core)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage

import httpx
import pytest
from playwright.sync_api import Page, expect

from aggregates.appointment import Appointment
from entrypoints.web import create_web_app
from hub.notifications.center import NotificationCenter
from hub.scheduling.service import Scheduling
from hub.settings import Settings
from tests.support.browser import Screens
from tests.support.http import LiveServer
from tests.support.notifications import SmtpSink, smtp_sink  # noqa: F401
from tests.support.scheduling import Setup, free_port, make_app, patient


@dataclass
class Hub:
    url: str
    app: Scheduling
    server: LiveServer
    smtp: SmtpSink

    @property
    def center(self) -> NotificationCenter:
        center: NotificationCenter = self.server.app.state.services.notifications
        return center

    def links(self, address: str, kind: str = "Rappel") -> dict[str, str]:
        """The links of the latest e-mail of ``kind`` sent to ``address``."""
        self.center.run_once()
        mail: EmailMessage = [m for m in self.smtp.to(address) if kind in m["Subject"]][-1]
        text = mail.get_body(("plain",)).get_content()
        found = re.findall(r"^(.*?): (http://\S+/v1/links/\S+)", text, re.M)
        return {("confirm" if "onfirm" in name else "cancel"): link for name, link in found}


@pytest.fixture
def hub(tmp_path, smtp_sink: SmtpSink) -> Iterator[Hub]:  # noqa: F811
    port = free_port()
    settings = Settings(database_url=f"sqlite:///{tmp_path}/hub.db",
                        link_secret="link-key-0123456789abcdef", public_url=f"http://127.0.0.1:{port}",
                        smtp_host=smtp_sink.host, smtp_port=smtp_sink.port)
    app = make_app(settings.database_url)
    with LiveServer(create_web_app(app, settings), port) as server:
        yield Hub(server.url, app, server, smtp_sink)
    app.close()


def test_confirm_and_cancel_from_the_e_mail(page: Page, hub: Hub, output_path: str) -> None:
    screens = Screens(page, output_path)
    setup = Setup(hub.app)
    soon = setup.open_slot(hours=30)  # under 48 h: confirmation and reminder leave at once
    booked = hub.app.book(soon, setup.consult, patient(1, email="pat@example.ca"), "emr")
    links = hub.links("pat@example.ca")
    assert set(links) == {"confirm", "cancel"}

    # The reminder's confirm link opens the console's page, in French; nothing changes yet.
    page.goto(links["confirm"])
    expect(page).to_have_url(re.compile(r"/links/[^/]+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirmer ma présence")
    expect(page.locator("dl.details")).to_contain_text("Clinique Test")
    expect(page.locator("dl.details")).to_contain_text("Consultation")
    _, communication = hub.center.for_appointment(booked.id)
    assert communication is not None and communication.status == "confirmation_sent"
    screens.check("confirm-ask")
    page.get_by_role("button", name="Je confirme ma présence").click()
    expect(page.get_by_role("status")).to_have_text(
        "Merci : votre présence est confirmée. La clinique en est informée.")
    _, communication = hub.center.for_appointment(booked.id)
    assert communication is not None and communication.status == "confirmed"
    assert communication.channel == "email"
    screens.check("confirm-done")

    # The cancel link, in English this time.
    page.goto(links["cancel"])
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cancel my appointment")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_text(re.compile("^You can cancel online until"))).to_be_visible()
    assert hub.app.load(Appointment, booked.id, "appointment").active
    screens.check("cancel-ask-en")
    page.get_by_role("button", name="I cancel my appointment").click()
    expect(page.get_by_role("status")).to_have_text(
        "Your appointment is cancelled. The time is freed for someone else.")
    assert hub.app.load(Appointment, booked.id, "appointment").cancelled
    screens.check("cancel-done-en")
    # Once cancelled, the link says so instead of offering the button again.
    page.goto(links["cancel"])
    expect(page.get_by_role("alert")).to_have_text(
        "This appointment was already cancelled: nothing changed.")
    expect(page.get_by_role("button", name="I cancel my appointment")).to_have_count(0)


def test_superseded_late_and_altered_links_are_refused_in_words(page: Page, hub: Hub,
                                                                output_path: str) -> None:
    screens = Screens(page, output_path)
    setup = Setup(hub.app)
    # A link sent before the appointment was moved no longer works.
    moved = hub.app.book(setup.slot, setup.consult, patient(2, email="moved@example.ca"), "emr")
    old = hub.links("moved@example.ca", kind="Confirmation")["cancel"]
    hub.app.reschedule(moved.id, setup.open_slot(hours=96))
    answer = page.goto(old)
    assert answer is not None and answer.status == 409
    expect(page.get_by_role("heading", level=1)).to_have_text("Ce lien ne peut pas être utilisé")
    expect(page.get_by_role("alert")).to_have_text(re.compile(
        "^Votre rendez-vous a été déplacé depuis l'envoi de ce courriel"))
    expect(page.get_by_role("button")).to_have_count(0)
    assert hub.app.load(Appointment, moved.id, "appointment").active
    screens.check("superseded")

    # Past the service's delay (24 h), the page tells to call the clinic, with its number.
    late = hub.app.book(setup.open_slot(hours=10), setup.consult,
                        patient(3, email="late@example.ca"), "emr")
    links = hub.links("late@example.ca")
    page.goto(links["cancel"])
    expect(page.get_by_role("alert")).to_contain_text("ne peut plus être annulé en ligne")
    expect(page.get_by_role("alert")).to_contain_text("418-555-0000")
    assert hub.app.load(Appointment, late.id, "appointment").active
    screens.check("cancel-too-late")
    # ... while its confirm link still works.
    page.goto(links["confirm"])
    expect(page.get_by_role("button", name="Je confirme ma présence")).to_be_visible()

    # An altered link.
    token = links["confirm"].rsplit("/", 1)[1]
    answer = page.goto(f"{hub.url}/links/{token[:-3]}{'AAA' if not token.endswith('AAA') else 'BBB'}")
    assert answer is not None and answer.status == 400
    expect(page.get_by_role("alert")).to_have_text(
        "Ce lien n'est pas valide : utilisez le lien de votre courriel tel quel, sans le modifier.")
    screens.check("altered")


def test_following_needs_the_pages_csrf_token(hub: Hub) -> None:
    """A form posted from another site (no CSRF cookie) changes nothing."""
    setup = Setup(hub.app)
    booked = hub.app.book(setup.slot, setup.consult, patient(4, email="csrf@example.ca"), "emr")
    cancel = hub.links("csrf@example.ca", kind="Confirmation")["cancel"]
    token = cancel.rsplit("/", 1)[1]
    answer = httpx.post(f"{hub.url}/links/{token}", data={"csrf": "forged"})
    assert answer.status_code == 403
    assert hub.app.load(Appointment, booked.id, "appointment").active
