"""2nd doses in Chromium (seed 000): staff select 2nd-dose rows in the Suivi and preview the
batch invitation; a citizen finds their appointment, enters the code received by SMS, confirms
and rebooks their 2nd dose earlier."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from aggregates.appointment import Appointment
from entrypoints.web import create_web_app
from hub.access.tokens import issue
from hub.settings import Settings
from tests.e2e.console.test_console_staff import sign_in_at
from tests.support.browser import Screens
from tests.support.http import LiveServer
from tests.support.notifications import Gateway, SmtpSink, gateway, smtp_sink  # noqa: F401
from tests.support.scheduling import free_port, make_app
from tests.support.vaccination import Site, citizen, code_in

ZONE = ZoneInfo("America/Montreal")


@dataclass
class Campaign:
    url: str
    site: Site
    staff: str
    gateway: Gateway
    seconds: list


@pytest.fixture
def campaign(tmp_path, smtp_sink: SmtpSink, gateway: Gateway) -> Iterator[Campaign]:  # noqa: F811
    """A vaccination site: four citizens had their 1st dose a month ago, 2nd doses planned in
    two months; one has neither e-mail nor cell (not eligible); an earlier slot is open."""
    app = make_app(f"sqlite:///{tmp_path}/hub.db")
    port = free_port()
    settings = Settings(smtp_host=smtp_sink.host, smtp_port=smtp_sink.port, gateway_url=gateway.url,
                        public_url=f"http://127.0.0.1:{port}")
    with LiveServer(create_web_app(app, settings), port) as server:
        services = server.app.state.services
        site = Site(app, services.vaccination.records)
        seconds = [site.vaccinated(n)[1] for n in (1, 2, 3)]
        seconds.append(site.vaccinated(4, email=None, cell=None, phone="4185550404")[1])
        site.slot(days=10, capacity=5)
        services.projections.catch_up()
        _, staff = issue(services.access, "clinic_staff", [site.clinic])
        yield Campaign(server.url, site, staff, gateway, seconds)
    app.close()


def test_batch_invitation_preview(page: Page, campaign: Campaign, output_path: str) -> None:
    screens = Screens(page, output_path)
    sign_in_at(page, campaign.url, campaign.staff)
    start: datetime = campaign.site.app.load(Appointment, campaign.seconds[0], "appointment").start
    day = start.astimezone(ZONE).date()
    page.goto(f"{campaign.url}/console/clinics/{campaign.site.clinic}/suivi?date={day}"
              "&view=without_cancellation")
    page.get_by_label("Dose").select_option(label="dose 2")
    page.get_by_role("button", name="Appliquer").click()
    expect(page).to_have_url(re.compile(r"dose=2"))
    rows = page.locator("table.suivi tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.first).to_contain_text("(dose 2)")
    for i in range(4):
        rows.nth(i).locator("input[type=checkbox]").check()
    screens.check("suivi-batch")
    page.get_by_role("button", name="Déplacer la sélection (100 au maximum)").click()
    expect(page.get_by_role("heading", name="Invitation à déplacer des rendez-vous")).to_be_visible()
    expect(page.get_by_text("4 rendez-vous sélectionnés")).to_be_visible()
    page.get_by_label("Devancer la date du rendez-vous").check()
    page.get_by_role("button", name="Aperçu").click()
    expect(page.get_by_role("heading", name="Aperçu des messages")).to_be_visible()
    table = page.locator("table.invitations tbody tr")
    expect(table).to_have_count(4)
    expect(page.locator("tr[data-eligible=yes]")).to_have_count(3)
    expect(page.locator("tr[data-eligible=no]")).to_have_count(1)
    expect(page.locator("tr[data-eligible=yes]").first).to_contain_text("courriel")
    screens.check("invitation-preview")
    page.get_by_role("button", name="Envoyer").click()
    expect(page.get_by_role("status")).to_contain_text("3 invitation(s) envoyée(s) ; 1 non admissible(s).")


def test_citizen_rebooks_their_second_dose(page: Page, campaign: Campaign, output_path: str) -> None:
    screens = Screens(page, output_path)
    person = citizen(2)
    page.goto(f"{campaign.url}/self-service")
    expect(page.get_by_role("heading", name="Vaccin 2e dose : déplacer mon rendez-vous")).to_be_visible()
    page.get_by_label("Numéro d'assurance maladie (NAM)").fill(person["nam"])
    page.get_by_label("Numéro de téléphone").fill(person["cell"])
    screens.check("self-service-find")
    page.get_by_role("button", name="Rechercher").click()
    expect(page.get_by_role("status")).to_contain_text("Un code de confirmation a été envoyé")

    sent = campaign.gateway.to("+1" + person["cell"]) or campaign.gateway.to(person["cell"])
    code = code_in(sent[-1]["text"])
    page.get_by_label("Code de confirmation").fill(code)
    screens.check("self-service-code")
    page.get_by_role("button", name="Valider").click()

    expect(page.get_by_role("heading", name="Confirmation des détails")).to_be_visible()
    expect(page.locator("dl.details")).to_contain_text("Pfizer-BioNTech")
    page.get_by_label("Je confirme que ces informations sont exactes").check()
    page.get_by_label("Je désire prendre un nouveau rendez-vous").check()
    screens.check("self-service-confirm")
    page.get_by_role("button", name="Continuer").click()

    expect(page.get_by_role("heading", name="Choix de la date et de l'heure")).to_be_visible()
    page.locator("input[name=slot_id]").first.check()
    screens.check("self-service-slots")
    page.get_by_role("button", name="Réserver").click()
    expect(page.get_by_role("status")).to_contain_text("Merci d'avoir pris un rendez-vous")
    expect(page.get_by_text("Précédent rendez-vous annulé avec succès !")).to_be_visible()
    screens.check("self-service-done")
