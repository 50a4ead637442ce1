"""The presence sequence in Chromium (seed 001 §3.3): a child booked through a parent's account
shows red icons; marking present identifies the parent and validates the association, and the
icons turn green."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from uuid import UUID

from playwright.sync_api import Page, expect

from hub.actor import Actor, acting_as
from hub.bootstrap import accounts_service
from projections.lists import suivi_choices
from tests.e2e.console.conftest import ZONE, Console
from tests.e2e.console.test_console_staff import sign_in
from tests.support.browser import Screens

PORTAL = Actor(subject="test-portal", role="portal", channel="http")


def book_with_account(console: Console) -> None:
    """A parent's account books its child into a new afternoon slot of the demo clinic."""
    app = console.app
    model = console.server.app.state.services.projections.get("suivi").view
    choices = suivi_choices(model, str(console.clinic_id))
    gp = next(UUID(p["id"]) for p in choices["professionals"] if p["name"].startswith("Dre "))
    consult = next(UUID(s["id"]) for s in choices["services"] if s["name"] == "Consultation")
    start = datetime.combine(console.day.date(), time(16, 0), ZONE)
    slot = app.open_slot(console.clinic_id, gp, start, start + timedelta(minutes=30), 2, [consult]).id
    parent = {"nam": "GAGJ85021412", "first_name": "Josée", "last_name": "Gagnon",
              "birth_date": "1985-02-14", "email": "josee.gagnon@exemple.ca", "language": "fr"}
    child = {"nam": "GAGT15590912", "first_name": "Théo", "last_name": "Gagnon",
             "birth_date": "2015-09-09", "language": "fr"}
    with acting_as(PORTAL):
        account = accounts_service(app).open("famille.gagnon@exemple.ca", parent)
        app.book(slot, consult, child, "citizen", account_id=account.id)
    console.caught_up()


def test_presence_sequence_turns_the_icons_green(page: Page, console: Console, output_path: str) -> None:
    screens = Screens(page, output_path)
    book_with_account(console)
    sign_in(page, console, console.token("clinic_staff", console.clinic_id))
    page.goto(console.suivi_url())
    row = page.locator("tr", has_text="Théo Gagnon")
    expect(row.locator("[data-icon=identity]")).to_have_attribute("data-state", "red")
    expect(row.locator("[data-icon=association]")).to_have_attribute("data-state", "red")
    expect(row.locator("[data-icon=identity]")).to_have_attribute("aria-label", "Identité non validée")

    row.get_by_role("button", name="Indiquer présent : Théo Gagnon").click()
    expect(page.get_by_role("heading", name="Présence, identification et association")).to_be_visible()
    expect(page.get_by_label("Je confirme avoir validé l'identité du détenteur du compte, Josée Gagnon.")).to_be_checked()
    screens.check("presence-sequence")
    page.get_by_role("button", name="Confirmer la présence").click()

    expect(page.get_by_role("status")).to_have_text("Statut enregistré : Présent.")
    row = page.locator("tr", has_text="Théo Gagnon")
    expect(row.locator(".badge")).to_have_text("Présent")
    expect(row.locator("[data-icon=identity]")).to_have_attribute("data-state", "green")
    expect(row.locator("[data-icon=association]")).to_have_attribute("data-state", "green")
    expect(row.locator("[data-icon=association]")).to_have_attribute("aria-label", "Association validée")
    screens.check("suivi-icons-green")


def test_identify_then_validate_the_association_from_the_icons(page: Page, console: Console,
                                                               output_path: str) -> None:
    """Seed 001 §3.1–3.2: each red icon of the Suivi is its own action, identity first."""
    screens = Screens(page, output_path)
    book_with_account(console)
    sign_in(page, console, console.token("clinic_staff", console.clinic_id))
    page.goto(console.suivi_url())
    row = page.locator("tr", has_text="Théo Gagnon")
    # The card icon is no action while the holder's identity is red.
    expect(row.get_by_role("link", name="Association non validée : valider l'association de Théo Gagnon")).to_have_count(0)
    row.get_by_role("link", name="Identité non validée : confirmer l'identité du détenteur du compte de Théo Gagnon").click()
    expect(page.get_by_role("heading", name="Confirmation de l'identité du patient")).to_be_visible()
    expect(page.locator("#holder")).to_contain_text("Josée Gagnon")
    screens.check("identity-check")
    page.get_by_label("Je confirme avoir validé l'identité du patient Josée Gagnon").check()
    page.get_by_role("button", name="Je confirme l'identité du patient").click()
    expect(page.get_by_role("status")).to_have_text("Identité validée : l'icône du profil est verte.")
    row = page.locator("tr", has_text="Théo Gagnon")
    expect(row.locator("[data-icon=identity]")).to_have_attribute("data-state", "green")
    expect(row.locator("[data-icon=association]")).to_have_attribute("data-state", "red")
    expect(row.locator(".badge")).to_have_text("Non défini")  # presence is another action
    screens.check("suivi-identified")

    row.get_by_role("link", name="Association non validée : valider l'association de Théo Gagnon").click()
    expect(page.get_by_role("heading", name="Association du patient")).to_be_visible()
    expect(page.locator("#patient")).to_contain_text("Théo Gagnon")
    expect(page.locator("#holder")).to_contain_text("Josée Gagnon")
    screens.check("association-check")
    page.get_by_label("Je confirme avoir validé l'identité du patient Théo Gagnon, dont le profil est "
                      "associé au compte de Josée Gagnon.").check()
    page.get_by_role("button", name="Je confirme l'identité du patient et son association avec le "
                                    "détenteur du compte").click()
    expect(page.get_by_role("status")).to_have_text("Association validée : l'icône de la carte est verte.")
    row = page.locator("tr", has_text="Théo Gagnon")
    expect(row.locator("[data-icon=association]")).to_have_attribute("data-state", "green")
    expect(row.get_by_role("link")).to_have_count(1)  # only "Déplacer" is left as a link
    screens.check("suivi-associated")
