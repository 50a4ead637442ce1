"""The whole setup wizard in Chromium (seed 002): progress bar, the pre-set EMR alert, staff and
services imported in the background from a simulated EMR, then "Créer la clinique"."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from entrypoints.web import create_web_app
from hub.access.tokens import issue
from hub.settings import EmrConnectionSettings, Settings
from tests.e2e.console.test_console_staff import sign_in_at
from tests.support.browser import Screens
from tests.support.emr_fhir_sim import EmrFhirSim
from tests.support.http import LiveServer
from tests.support.scheduling import free_port, make_app

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
       b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
       b"\x00\x00\x00IEND\xaeB`\x82")


@pytest.fixture
def wizard(tmp_path) -> Iterator[tuple[str, str]]:
    """The console on a fresh store whose Omnimed connection is a simulated EMR; an admin token."""
    with EmrFhirSim(auth="client_credentials", page_size=2) as emr:
        emr.add_practitioner("p1", "Dre Julie Tremblay", role="MD", licence="11111")
        emr.add_practitioner("p2", "Marc Gagnon", role="INF")
        emr.add_practitioner("p3", "Léa Roy", role="IPS", licence="33333")
        emr.add_service("s1", "Consultation sans rendez-vous")
        emr.add_service("s2", "Vaccination")
        settings = Settings(emr_connections={"omnimed": EmrConnectionSettings(
            base_url=emr.base_url, token_url=emr.token_url, client_id=emr.client_id,
            client_secret=emr.client_secret)})
        app = make_app(f"sqlite:///{tmp_path}/hub.db")
        with LiveServer(create_web_app(app, settings), free_port()) as server:
            _, token = issue(server.app.state.services.access, "admin", [])
            yield server.url, token
        app.close()


def states(page: Page) -> list[str]:
    return [li.get_attribute("data-state") or "" for li in page.locator("ol.progress li").all()]


def test_the_whole_wizard(page: Page, wizard: tuple[str, str], output_path: str) -> None:
    url, token = wizard
    screens = Screens(page, output_path)
    sign_in_at(page, url, token)
    page.get_by_role("link", name="Assistant d'installation").click()
    page.get_by_label("DMÉ déjà connu pour la clinique (facultatif)").select_option(label="Omnimed")
    page.get_by_role("button", name="Commencer une configuration").click()

    # 1 Votre clinique: a wrong postal code is refused in words, the fields stay filled.
    expect(page.get_by_role("heading", name="Votre clinique")).to_be_visible()
    assert states(page) == ["current", "todo", "todo", "todo", "todo", "todo"]
    page.get_by_label("Nom de la clinique").fill("Clinique du Parc")
    page.get_by_label("Adresse").fill("350 Boulevard Charest Est")
    page.get_by_label("Bureau (facultatif)").fill("210")
    page.get_by_label("Ville").fill("Québec")
    page.get_by_label("Province").select_option("QC")
    page.get_by_label("Code postal").fill("G1K")
    page.get_by_label("Numéro de téléphone").fill("(418) 555-5555")
    page.get_by_label("Logo (facultatif)").set_input_files(
        {"name": "logo.png", "mimeType": "image/png", "buffer": PNG})
    screens.check("setup-clinic")
    page.get_by_role("button", name="Enregistrer et continuer").click()
    expect(page.get_by_role("alert")).to_contain_text("Code postal")
    expect(page.get_by_label("Nom de la clinique")).to_have_value("Clinique du Parc")
    page.get_by_label("Code postal").fill("g1k3h5")
    page.get_by_label("Logo (facultatif)").set_input_files(
        {"name": "logo.png", "mimeType": "image/png", "buffer": PNG})
    page.get_by_role("button", name="Enregistrer et continuer").click()

    # 2 Fournisseur de rendez-vous.
    expect(page.get_by_role("heading", name="Fournisseur de rendez-vous")).to_be_visible()
    assert states(page)[:2] == ["complete", "current"]
    page.get_by_label("Rendez-vous Santé Québec").check()
    page.get_by_role("button", name="Enregistrer et continuer").click()

    # 3 Fournisseur de DMÉ: another EMR than the pre-set one raises the alert.
    expect(page.get_by_role("heading", name="Fournisseur de DMÉ")).to_be_visible()
    page.get_by_label("Kinlogix").check()
    page.get_by_role("button", name="Enregistrer et continuer").click()
    expect(page.get_by_role("status")).to_contain_text("Le DMÉ sélectionné diffère")
    screens.check("setup-emr-alert")
    page.get_by_label("Omnimed").check()
    page.get_by_role("button", name="Enregistrer et continuer").click()

    # 4 Personnel and 5 Services: imported in the background; the page follows the import.
    for step, button, done in (("Personnel", "Importer le personnel", "3 personnes importées avec succès"),
                               ("Services offerts", "Importer les services", "2 services importés avec succès")):
        expect(page.get_by_role("heading", name=step)).to_be_visible()
        if step == "Services offerts":  # an unreadable export file is refused in words
            page.get_by_label("Fichier d'exportation du DMÉ (facultatif)").set_input_files(
                {"name": "services.csv", "mimeType": "text/csv", "buffer": b"\x00\x01 pas un export"})
            page.get_by_role("button", name=button).click()
            expect(page.get_by_role("alert")).to_be_visible()
        page.get_by_role("button", name=button).click()
        expect(page.get_by_role("status")).to_contain_text(done, timeout=30_000)
        screens.check(f"setup-{button.split()[-1]}")
        page.get_by_role("link", name="Suivant").click()

    # 6 Patients: "J'ai compris", then "Créer la clinique" opens the new clinic's Suivi.
    expect(page.get_by_role("heading", name="Patients")).to_be_visible()
    assert states(page) == ["complete"] * 5 + ["current"]
    screens.check("setup-patients")
    page.get_by_label("J'ai compris").check()
    page.get_by_role("button", name="Créer la clinique").click()
    expect(page.get_by_role("status")).to_have_text("La clinique est créée.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Suivi — Clinique du Parc")
    expect(page).to_have_url(re.compile(r"/console/clinics/[0-9a-f-]+/suivi"))
    expect(page.get_by_label("Professionnel").locator("option")).to_have_count(4)  # Tous + 3
