"""N5: what a message says, in French and English, for each kind and channel.

The phone texts are seed 004's; SMS add "reply OK"; e-mails carry the clinic, the date, the
professional, the type, and the confirm (reminders) and cancel links.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

CATEGORY = {
    "fr": {"in_person": "présentiel", "phone": "téléphonique", "virtual": "virtuel",
           "home": "à domicile", "silent": ""},
    "en": {"in_person": "in-person", "phone": "phone", "virtual": "virtual", "home": "home visit",
           "silent": ""},
}
DAYS = {"fr": ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"],
        "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]}
MONTHS = {"fr": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
                 "septembre", "octobre", "novembre", "décembre"],
          "en": ["January", "February", "March", "April", "May", "June", "July", "August",
                 "September", "October", "November", "December"]}

# Seed 004, "Voici les messages qui sont envoyés par téléphone" (the reminder call adds PRESS_ONE).
PHONE = {
    "fr": {
        "confirmation": "Ce message est pour confirmer le rendez-vous {type} de {patient}, le {date} "
                        "avec {professional} à {clinic}.",
        "reminder": "Ce message est pour vous rappeler le rendez-vous {type} de {patient}, le {date} "
                    "avec {professional} à {clinic}.",
        "modification": "Ce message est pour vous informer d’une modification faite au rendez-vous "
                        "{type} de {patient}, le {date} avec {professional} à {clinic}. Pour plus "
                        "d’information, vous pouvez contacter la clinique au {phone}.",
        "cancellation": "Ce message est pour vous informer de l’annulation du rendez-vous {type} de "
                        "{patient}, le {date} à {clinic}. Pour plus d’information, vous pouvez "
                        "contacter la clinique au {phone}.",
    },
    "en": {
        "confirmation": "This message is to confirm {patient}’s {type} appointment {date} with "
                        "{professional} at {clinic}.",
        "reminder": "This message is to remind you of {patient}’s {type} appointment {date} with "
                    "{professional} at {clinic}.",
        "modification": "This message is to inform you of a change to {patient}’s {type} appointment "
                        "{date} with {professional} at {clinic}. For more information, please "
                        "contact the clinic at {phone}.",
        "cancellation": "This message is to inform you that {patient}’s {type} appointment on {date} "
                        "at {clinic} has been cancelled. For more information, please contact the "
                        "clinic at {phone}.",
    },
}
PRESS_ONE = {"fr": " Appuyez sur 1 pour confirmer votre rendez-vous.",
             "en": " Press one to confirm your appointment."}
SMS_REPLY = {"fr": " Répondez OK pour confirmer votre présence.",
             "en": " Reply OK to confirm your attendance."}
SUBJECT = {
    "fr": {"confirmation": "Confirmation de votre rendez-vous", "reminder": "Rappel de votre rendez-vous",
           "modification": "Modification de votre rendez-vous",
           "cancellation": "Annulation de votre rendez-vous"},
    "en": {"confirmation": "Your appointment is confirmed", "reminder": "Appointment reminder",
           "modification": "Your appointment has changed", "cancellation": "Your appointment is cancelled"},
}
LABELS = {
    "fr": {"date": "Date", "clinic": "Clinique", "professional": "Professionnel", "type": "Type",
           "confirm": "Confirmer ma présence", "cancel": "Annuler mon rendez-vous",
           "cancel_until": "Annulation possible jusqu’à {hours} h avant le rendez-vous."},
    "en": {"date": "Date", "clinic": "Clinic", "professional": "Professional", "type": "Type",
           "confirm": "Confirm my attendance", "cancel": "Cancel my appointment",
           "cancel_until": "You may cancel up to {hours} h before the appointment."},
}


@dataclass(frozen=True)
class Message:
    """A rendered message: ``subject`` and ``html`` for e-mails only."""

    text: str
    subject: str = ""
    html: str = ""


def format_date(instant: datetime, language: str, zone: tzinfo) -> str:
    """``mardi 10 mars 2026 à 10 h 00`` / ``Tuesday, March 10, 2026 at 10:00 AM`` (local time)."""
    t = instant.astimezone(zone)
    if language == "en":
        hour = t.strftime("%I:%M %p").lstrip("0")
        return f"{DAYS['en'][t.weekday()]}, {MONTHS['en'][t.month - 1]} {t.day}, {t.year} at {hour}"
    return f"{DAYS['fr'][t.weekday()]} {t.day} {MONTHS['fr'][t.month - 1]} {t.year} à {t.hour} h {t.minute:02d}"


def fields(details: dict[str, Any], language: str, zone: tzinfo) -> dict[str, str]:
    lang = language if language in PHONE else "fr"
    return {
        "type": CATEGORY[lang].get(details.get("category", ""), ""),
        "patient": details.get("patient_name", ""),
        "date": format_date(datetime.fromisoformat(details["start"]), lang, zone),
        "professional": details.get("professional_name", ""),
        "clinic": details.get("clinic_name", ""),
        "phone": details.get("clinic_phone", ""),
        "address": details.get("clinic_address", ""),
    }


def render(kind: str, channel: str, language: str, details: dict[str, Any], zone: tzinfo,
           links: dict[str, str] | None = None) -> Message:
    """The message for one notification; ``links`` holds ``confirm``/``cancel`` URLs (e-mail)."""
    lang = language if language in PHONE else "fr"
    values = fields(details, lang, zone)
    sentence = " ".join(PHONE[lang][kind].format(**values).split())
    if channel == "phone":
        return Message(text=sentence + (PRESS_ONE[lang] if kind == "reminder" else ""))
    if channel == "sms":
        reply = SMS_REPLY[lang] if kind in ("confirmation", "reminder") else ""
        return Message(text=sentence + reply)
    return _email(kind, lang, values, details, sentence, links or {})


def _email(kind: str, lang: str, values: dict[str, str], details: dict[str, Any], sentence: str,
           links: dict[str, str]) -> Message:
    label = LABELS[lang]
    rows = [(label["date"], values["date"]), (label["clinic"], f"{values['clinic']}, {values['address']}, {values['phone']}"),
            (label["professional"], values["professional"]), (label["type"], values["type"])]
    text = [sentence, "", *(f"{k}: {v}" for k, v in rows)]
    buttons = []
    if kind == "reminder" and "confirm" in links:
        buttons.append((label["confirm"], links["confirm"]))
    if kind != "cancellation" and "cancel" in links:
        buttons.append((label["cancel"], links["cancel"]))
        text += ["", label["cancel_until"].format(hours=details.get("cancellation_delay_hours", 0))]
    text += [""] + [f"{name}: {url}" for name, url in buttons]
    esc = html.escape
    body = "".join(f"<tr><th align='left'>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
    anchors = " ".join(f"<a href='{esc(url)}' style='padding:8px 16px;border:1px solid #333'>{esc(name)}</a>"
                       for name, url in buttons)
    page = (f"<html><body><p>{esc(sentence)}</p><table>{body}</table><p>{anchors}</p></body></html>")
    subject = f"{SUBJECT[lang][kind]} — {values['clinic']}"
    return Message(text="\n".join(text).strip() + "\n", subject=subject, html=page)
