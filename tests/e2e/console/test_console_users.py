"""Users in Chromium (seed 003): an administrator adds a user and hands over the secret code;
the user enrols with it, signs in with e-mail and password and follows the clinic's Suivi."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.console.conftest import Console
from tests.e2e.console.test_console_staff import sign_in
from tests.support.browser import Screens

PASSWORD = "une phrase de passe assez longue"


def test_add_a_user_who_enrols_and_signs_in(page: Page, console: Console, output_path: str) -> None:
    screens = Screens(page, output_path)
    sign_in(page, console, console.token("admin"))
    page.get_by_role("link", name="Utilisateurs").click()
    expect(page.get_by_role("heading", name="Utilisateurs", level=1)).to_be_visible()

    page.get_by_label("Docteure").check()
    page.get_by_label("Prénom").fill("Lorraine")
    page.get_by_label("Nom", exact=True).fill("Baines")
    page.get_by_label("Courriel").fill("lorraine.baines@clinique.example")
    page.get_by_label("Rendez-vous santé Québec (agendas").check()
    page.get_by_label("Cliniques (pour l'agenda)").select_option(str(console.clinic_id))
    screens.check("users-add")
    page.get_by_role("button", name="Ajouter un utilisateur").click()
    expect(page.get_by_role("status")).to_contain_text("Utilisateur ajouté")
    code = page.locator("#secret-code").inner_text()
    assert re.fullmatch(r"[A-Z0-9-]{8,}", code), code
    row = page.locator("tr[data-user='lorraine.baines@clinique.example']")
    expect(row).to_contain_text("Inscription à terminer")
    screens.check("users-added")

    # The same e-mail twice is refused in words.
    page.get_by_label("Docteure").check()
    page.get_by_label("Prénom").fill("Lorraine")
    page.get_by_label("Nom", exact=True).fill("Baines")
    page.get_by_label("Courriel").fill("lorraine.baines@clinique.example")
    page.get_by_label("Rendez-vous santé Québec (agendas").check()
    page.get_by_label("Cliniques (pour l'agenda)").select_option(str(console.clinic_id))
    page.get_by_role("button", name="Ajouter un utilisateur").click()
    expect(page.get_by_role("alert")).to_have_text("Un utilisateur a déjà ce courriel : modifiez cet utilisateur.")
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_role("status")).to_have_text("Vous êtes déconnecté.")

    # The user enrols with the code, then signs in with e-mail and password.
    page.get_by_role("link", name=re.compile("^Nouvel utilisateur")).click()
    # the sign-in page has a "Courriel" field too: fill only once the enrolment page is there
    expect(page.get_by_role("heading", name="Terminer mon inscription", level=1)).to_be_visible()
    page.get_by_label("Courriel").fill("lorraine.baines@clinique.example")
    page.get_by_label("Code secret").fill(code)
    page.get_by_label("Nouveau mot de passe").fill(PASSWORD)
    screens.check("enroll")
    page.get_by_role("button", name="Terminer mon inscription").click()
    # Argon2id hashing takes seconds on a loaded machine
    expect(page.get_by_role("status")).to_contain_text("Inscription terminée", timeout=20_000)
    page.get_by_label("Courriel").fill("lorraine.baines@clinique.example")
    page.get_by_label("Mot de passe").fill("pas le bon mot de passe")
    page.get_by_role("button", name="Connexion", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text("Courriel ou mot de passe incorrect.")
    page.get_by_label("Courriel").fill("lorraine.baines@clinique.example")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Connexion", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Suivi — Clinique des Érables")
    expect(page.locator("header")).to_contain_text("clinic_staff")
