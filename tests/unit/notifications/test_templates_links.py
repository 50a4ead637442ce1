"""N5 templates in French and English; N3 signed links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest

from hub.notifications.links import InvalidLink, LinkExpired, sign, verify
from hub.notifications.replies import is_yes
from hub.notifications.templates import render

MTL = ZoneInfo("America/Montreal")
DETAILS = {"patient_name": "Marie Tremblay", "clinic_name": "Clinique des Érables",
           "clinic_phone": "418-555-0100", "clinic_address": "1200 boul. René-Lévesque, Québec",
           "professional_name": "Dre Isabelle Tremblay", "service_name": "Consultation",
           "category": "in_person", "start": "2026-03-10T14:00:00+00:00", "cancellation_delay_hours": 24}


@pytest.mark.parametrize("kind, language, expected", [
    ("confirmation", "fr", "Ce message est pour confirmer le rendez-vous présentiel de Marie Tremblay, le "
     "mardi 10 mars 2026 à 10 h 00 avec Dre Isabelle Tremblay à Clinique des Érables."),
    ("reminder", "fr", "Ce message est pour vous rappeler le rendez-vous présentiel de Marie Tremblay, le "
     "mardi 10 mars 2026 à 10 h 00 avec Dre Isabelle Tremblay à Clinique des Érables. Appuyez sur 1 "
     "pour confirmer votre rendez-vous."),
    ("modification", "fr", "Ce message est pour vous informer d’une modification faite au rendez-vous "
     "présentiel de Marie Tremblay, le mardi 10 mars 2026 à 10 h 00 avec Dre Isabelle Tremblay à "
     "Clinique des Érables. Pour plus d’information, vous pouvez contacter la clinique au 418-555-0100."),
    ("cancellation", "fr", "Ce message est pour vous informer de l’annulation du rendez-vous présentiel "
     "de Marie Tremblay, le mardi 10 mars 2026 à 10 h 00 à Clinique des Érables. Pour plus "
     "d’information, vous pouvez contacter la clinique au 418-555-0100."),
    ("confirmation", "en", "This message is to confirm Marie Tremblay’s in-person appointment Tuesday, "
     "March 10, 2026 at 10:00 AM with Dre Isabelle Tremblay at Clinique des Érables."),
    ("reminder", "en", "This message is to remind you of Marie Tremblay’s in-person appointment Tuesday, "
     "March 10, 2026 at 10:00 AM with Dre Isabelle Tremblay at Clinique des Érables. Press one to "
     "confirm your appointment."),
    ("cancellation", "en", "This message is to inform you that Marie Tremblay’s in-person appointment on "
     "Tuesday, March 10, 2026 at 10:00 AM at Clinique des Érables has been cancelled. For more "
     "information, please contact the clinic at 418-555-0100."),
])
def test_phone_texts_follow_seed_004(kind: str, language: str, expected: str) -> None:
    assert render(kind, "phone", language, DETAILS, MTL).text == expected


def test_sms_invites_a_reply_only_when_it_can_confirm() -> None:
    assert render("confirmation", "sms", "fr", DETAILS, MTL).text.endswith("Répondez OK pour confirmer votre présence.")
    assert render("reminder", "sms", "en", DETAILS, MTL).text.endswith("Reply OK to confirm your attendance.")
    assert "OK" not in render("cancellation", "sms", "fr", DETAILS, MTL).text
    assert "Appuyez" not in render("reminder", "sms", "fr", DETAILS, MTL).text


@pytest.mark.parametrize("language", ["fr", "en"])
def test_emails_carry_clinic_date_professional_type_and_links(language: str) -> None:
    links = {"confirm": "https://hub/v1/links/C", "cancel": "https://hub/v1/links/X"}
    reminder = render("reminder", "email", language, {**DETAILS, "category": "phone"}, MTL, links)
    for needle in ("Clinique des Érables", "418-555-0100", "Dre Isabelle Tremblay", "2026",
                   "téléphonique" if language == "fr" else "phone", links["confirm"], links["cancel"]):
        assert needle in reminder.text and needle in reminder.html.replace("&#x27;", "'")
    confirmation = render("confirmation", "email", language, DETAILS, MTL, links)
    assert links["cancel"] in confirmation.text and links["confirm"] not in confirmation.text
    cancellation = render("cancellation", "email", language, DETAILS, MTL, links)
    assert "links/" not in cancellation.text and cancellation.subject


def test_links_are_signed_and_expire() -> None:
    appointment, notification = uuid4(), uuid4()
    now = datetime(2026, 5, 1, tzinfo=UTC)
    token = sign("k", "cancel", appointment, notification, now + timedelta(days=1))
    claim = verify("k", token, now)
    assert (claim.action, claim.appointment_id, claim.notification_id) == ("cancel", appointment, notification)
    with pytest.raises(LinkExpired):
        verify("k", token, now + timedelta(days=1))
    with pytest.raises(InvalidLink):
        verify("other key", token, now)
    payload, mac = token.split(".")
    forged = sign("attacker", "confirm", appointment, notification, now + timedelta(days=9)).split(".")[0]
    with pytest.raises(InvalidLink):
        verify("k", f"{forged}.{mac}", now)
    for garbage in ("", "abc", "a.b.c", "!!.??"):
        with pytest.raises(InvalidLink):
            verify("k", garbage, now)


@pytest.mark.parametrize("text, yes", [
    ("OK", True), ("ok", True), (" Oui ", True), ("OUI", True), ("oui!", True), ("Öui", True),
    ("ouí", True), ("Yes", True), ("y e s", True), ("YES.", True),
    ("non", False), ("no", False), ("okay", False), ("oui merci", False), ("", False), ("1", False),
])
def test_sms_yes_words(text: str, yes: bool) -> None:
    assert is_yes(text) is yes
