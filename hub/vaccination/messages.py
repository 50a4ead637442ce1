"""What the 2nd-dose messages say, in French and English: invitations (V1) and codes (V3).

An invitation is rendered once, when staff preview or send the batch; the notification keeps
the rendered message and the sender delivers exactly that (the preview is what is sent).
"""

from __future__ import annotations

import html
from datetime import datetime, tzinfo

from aggregates.invitation import InvitationMessage
from hub.notifications.templates import Message, format_date

INVITATION_SUBJECT = {
    "fr": {InvitationMessage.ADVANCE_DATE: "Devancez votre rendez-vous de 2e dose",
           InvitationMessage.MOVED_OR_CANCELLED: "Votre vaccination de 2e dose est déplacée ou annulée"},
    "en": {InvitationMessage.ADVANCE_DATE: "Move your 2nd-dose appointment to an earlier date",
           InvitationMessage.MOVED_OR_CANCELLED: "Your 2nd-dose vaccination was moved or cancelled"},
}
INVITATION_BODY = {
    "fr": {
        InvitationMessage.ADVANCE_DATE:
            "Bonjour {patient}, vous pouvez devancer votre rendez-vous de 2e dose du {date} à "
            "{clinic}. Votre rendez-vous actuel reste valide tant que vous n'en avez pas choisi un "
            "autre.",
        InvitationMessage.MOVED_OR_CANCELLED:
            "Bonjour {patient}, la vaccination de 2e dose prévue le {date} à {clinic} est déplacée "
            "ou annulée. Veuillez choisir une nouvelle date pour votre 2e dose.",
    },
    "en": {
        InvitationMessage.ADVANCE_DATE:
            "Hello {patient}, you may move your 2nd-dose appointment of {date} at {clinic} to an "
            "earlier date. Your current appointment stays valid until you choose another one.",
        InvitationMessage.MOVED_OR_CANCELLED:
            "Hello {patient}, the 2nd-dose vaccination planned on {date} at {clinic} was moved or "
            "cancelled. Please choose a new date for your 2nd dose.",
    },
}
HOW_TO = {
    "fr": "Choisissez votre nouvelle date sur {url} avec votre numéro d'assurance maladie ou le "
          "coupon {coupon}, et votre numéro de téléphone.",
    "en": "Choose your new date at {url} with your health insurance number or the coupon "
          "{coupon}, and your phone number.",
}
CODE_TEXT = {
    "fr": "Votre code de confirmation pour déplacer votre rendez-vous de 2e dose : {code}. "
          "Il expire dans {minutes} minutes. Ne le communiquez à personne.",
    "en": "Your confirmation code to move your 2nd-dose appointment: {code}. It expires in "
          "{minutes} minutes. Do not share it with anyone.",
}
CODE_SUBJECT = {"fr": "Votre code de confirmation", "en": "Your confirmation code"}


def _lang(language: str | None) -> str:
    return "en" if language == "en" else "fr"


def invitation(message: str, language: str | None, patient: str, start: datetime, clinic: str,
               coupon: str, url: str, channel: str, zone: tzinfo) -> Message:
    """The invitation to move one 2nd dose, as an e-mail (subject, text, HTML) or an SMS."""
    lang = _lang(language)
    kind = InvitationMessage(message)
    body = INVITATION_BODY[lang][kind].format(patient=patient, date=format_date(start, lang, zone),
                                              clinic=clinic)
    how = HOW_TO[lang].format(url=url, coupon=coupon)
    text = f"{body} {how}"
    if channel != "email":
        return Message(text=text)
    page = (f"<html><body><p>{html.escape(body)}</p><p>{html.escape(how)}</p>"
            f"<p><a href='{html.escape(url)}'>{html.escape(url)}</a></p></body></html>")
    return Message(text=f"{body}\n\n{how}\n", subject=f"{INVITATION_SUBJECT[lang][kind]} — {clinic}",
                   html=page)


def code(language: str | None, value: str, minutes: int, channel: str) -> Message:
    lang = _lang(language)
    text = CODE_TEXT[lang].format(code=value, minutes=minutes)
    if channel != "email":
        return Message(text=text)
    return Message(text=text + "\n", subject=CODE_SUBJECT[lang],
                   html=f"<html><body><p>{html.escape(text)}</p></body></html>")


def as_dict(message: Message) -> dict[str, str]:
    return {"subject": message.subject, "text": message.text, "html": message.html}
