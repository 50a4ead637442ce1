"""The staff console in Chromium: sign in, the Suivi of a demo day with its filters, presence,
reschedule and cancel (each screen screenshotted and checked by axe-core)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.console.conftest import Console
from tests.support.browser import Screens


def sign_in(page: Page, console: Console, token: str, screens: Screens | None = None) -> None:
    sign_in_at(page, console.url, token, screens)


def sign_in_at(page: Page, url: str, token: str, screens: Screens | None = None) -> None:
    page.goto(f"{url}/console")
    expect(page.get_by_role("heading", name="Connexion")).to_be_visible()
    if screens:
        screens.check("sign-in")
    page.get_by_label("Jeton d'API").fill(token)
    page.get_by_role("button", name="Se connecter avec un jeton").click()
    # Wait for the signed-in page: a goto before the answer arrived would cancel the sign-in.
    expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible(timeout=20_000)


def test_staff_follow_the_day(page: Page, console: Console, output_path: str) -> None:
    screens = Screens(page, output_path)
    staff = console.token("clinic_staff", console.clinic_id)

    # A wrong token is refused in words, and the page stays the sign-in page.
    page.goto(f"{console.url}/console/login")
    page.get_by_label("Jeton d'API").fill("hub_not-a-token")
    page.get_by_role("button", name="Se connecter avec un jeton").click()
    expect(page.get_by_role("alert")).to_have_text("Ce jeton est inconnu, révoqué ou expiré.")

    sign_in(page, console, staff, screens)
    # Staff of one clinic land on its Suivi (today); go to the demo day.
    expect(page.get_by_role("heading", name=re.compile("^Suivi — Clinique des Érables"))).to_be_visible()
    page.goto(console.suivi_url())
    rows = page.locator("table.suivi tbody tr")
    total = rows.count()
    assert total >= 30, total
    expect(page.locator("#count")).to_have_text(f"{total} rendez-vous")
    # Confirmation column and account icons are there (grey: no account in the demo).
    expect(page.locator("table.suivi thead")).to_contain_text("Confirmation")
    expect(rows.first.locator("[data-icon=identity]")).to_have_attribute("aria-label", "Aucun compte")
    screens.check("suivi-day")

    # Filters of seed 000 §3: source, then view without cancellations.
    page.get_by_label("Provenance").select_option(label="DMÉ")
    page.get_by_role("button", name="Appliquer").click()
    expect(page).to_have_url(re.compile(r"source=emr"))
    emr_rows = page.locator("table.suivi tbody tr")
    emr = emr_rows.count()
    assert 0 < emr < total
    for i in range(emr):
        expect(emr_rows.nth(i).locator("td").nth(6)).to_have_text("DMÉ")
    page.get_by_label("Provenance").select_option(label="Tous")
    page.get_by_label("Liste").select_option(label="Tous les rendez-vous sans annulation")
    page.get_by_role("button", name="Appliquer").click()
    expect(page).to_have_url(re.compile(r"view=without_cancellation"))
    assert page.locator("table.suivi tbody tr.status-cancelled").count() == 0
    page.get_by_label("Statut").select_option(label="Présent")
    page.get_by_role("button", name="Appliquer").click()
    expect(page).to_have_url(re.compile(r"status=present"))
    present = page.locator("table.suivi tbody tr")
    for i in range(present.count()):
        expect(present.nth(i).locator(".badge")).to_have_text("Présent")
    screens.check("suivi-filtered")

    # Presence: mark an undefined appointment present (htmx swaps the page in place).
    page.goto(console.suivi_url(status="undefined", view="without_cancellation"))
    row = page.locator("table.suivi tbody tr").first
    appointment_id = row.get_attribute("data-appointment")
    name = row.locator(".name").inner_text()
    row.get_by_role("button", name=f"Indiquer présent : {name}").click()
    expect(page.get_by_role("status")).to_have_text("Statut enregistré : Présent.")
    page.goto(console.suivi_url())
    marked = page.locator(f"#row-{appointment_id}")
    expect(marked.locator(".badge")).to_have_text("Présent")

    # Reschedule: choose a free slot; the Suivi says where it went.
    marked.get_by_role("link", name=f"Déplacer le rendez-vous de {name}").click()
    expect(page.get_by_role("heading", name="Déplacer un rendez-vous")).to_be_visible()
    screens.check("reschedule")
    page.get_by_role("button", name=re.compile("^Déplacer au ")).first.click()
    expect(page.get_by_role("status")).to_contain_text("Rendez-vous déplacé au")

    # Cancel with a reason; cancelling again is refused in words.
    moved = page.locator(f"#row-{appointment_id}")
    moved.locator("summary").click()
    moved.get_by_label("Motif").fill("Patient malade")
    moved.get_by_role("button", name="Annuler ce rendez-vous").click()
    expect(page.get_by_role("status")).to_have_text("Rendez-vous annulé.")
    expect(page.locator(f"#row-{appointment_id} .badge")).to_have_text("Annulé")
    screens.check("suivi-after-writes")

    # English on demand, kept for the next pages.
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("columnheader", name="Time")).to_be_visible()
    page.goto(console.suivi_url())
    expect(page.get_by_role("button", name="Apply")).to_be_visible()
    screens.check("suivi-english")

    # Sign out: the console asks to sign in again.
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    page.goto(console.suivi_url())
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
