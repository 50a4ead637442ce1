"""The console's words, French first with English (CONTRACT: French by default, ``?lang=en``).

One catalogue: each key has its French and English text. Templates call ``t("key")``; a key
missing from the catalogue shows itself (a test catches it), never a blank.
"""

from __future__ import annotations

from typing import Literal

Language = Literal["fr", "en"]
LANGUAGES: tuple[Language, ...] = ("fr", "en")

CATALOGUE: dict[str, tuple[str, str]] = {
    # frame
    "console": ("Console du hub", "Hub console"),
    "skip": ("Aller au contenu", "Skip to content"),
    "nav": ("Navigation principale", "Main navigation"),
    "clinics": ("Cliniques", "Clinics"),
    "suivi": ("Suivi", "Suivi"),
    "ops": ("Opérations", "Operations"),
    "events": ("Journal des événements", "Event stream"),
    "audit": ("Audit", "Audit"),
    "sign_out": ("Se déconnecter", "Sign out"),
    "signed_in_as": ("Connecté : {who} ({role})", "Signed in: {who} ({role})"),
    "language": ("Langue", "Language"),
    "other_language": ("English", "Français"),
    # sign in
    "sign_in": ("Connexion", "Sign in"),
    "sign_in_intro": ("Connectez-vous pour suivre les rendez-vous de vos cliniques.",
                      "Sign in to follow your clinics' appointments."),
    "email": ("Courriel", "E-mail"),
    "password": ("Mot de passe", "Password"),
    "api_token": ("Jeton d'API", "API token"),
    "api_token_help": ("Un jeton créé par « hub tokens create » (rôles clinic_staff, ops ou admin).",
                       "A token from `hub tokens create` (roles clinic_staff, ops or admin)."),
    "sign_in_with_token": ("Se connecter avec un jeton", "Sign in with a token"),
    "bad_token": ("Ce jeton est inconnu, révoqué ou expiré.", "This token is unknown, revoked or expired."),
    "bad_credentials": ("Courriel ou mot de passe incorrect.", "Wrong e-mail or password."),
    "role_refused": ("Le rôle {role} n'a pas accès à la console (personnel, ops ou admin seulement).",
                     "Role {role} has no access to the console (staff, ops or admin only)."),
    "signed_out": ("Vous êtes déconnecté.", "You are signed out."),
    "session_over": ("Votre session a pris fin : connectez-vous de nouveau.",
                     "Your session has ended: please sign in again."),
    "csrf": ("Le formulaire a expiré : rechargez la page et recommencez.",
             "The form has expired: reload the page and try again."),
    "forbidden": ("Vous n'avez pas accès à cette page.", "You have no access to this page."),
    "not_found": ("Page introuvable.", "Page not found."),
    "invalid_input": ("Valeur invalide : {what}.", "Invalid value: {what}."),
    # clinics
    "choose_clinic": ("Choisissez une clinique", "Choose a clinic"),
    "no_clinics": ("Aucune clinique.", "No clinics."),
    # suivi
    "suivi_of": ("Suivi — {clinic}", "Suivi — {clinic}"),
    "filters": ("Filtres", "Filters"),
    "date": ("Date", "Date"),
    "view": ("Liste", "List"),
    "view_all": ("Tous les rendez-vous", "All appointments"),
    "view_without_cancellation": ("Tous les rendez-vous sans annulation", "All appointments without cancellations"),
    "professional": ("Professionnel", "Professional"),
    "service": ("Service", "Service"),
    "product": ("Produit", "Product"),
    "status": ("Statut", "Status"),
    "source": ("Provenance", "Source"),
    "any": ("Tous", "Any"),
    "apply": ("Appliquer", "Apply"),
    "time": ("Heure", "Time"),
    "patient": ("Patient", "Patient"),
    "nam": ("NAM", "Health number"),
    "account": ("Compte", "Account"),
    "confirmation": ("Confirmation", "Confirmation"),
    "actions": ("Actions", "Actions"),
    "count": ("{n} rendez-vous", "{n} appointments"),
    "no_appointments": ("Aucun rendez-vous pour ces filtres.", "No appointments for these filters."),
    "status_undefined": ("Non défini", "Undefined"),
    "status_present": ("Présent", "Present"),
    "status_absent": ("Absent", "Absent"),
    "status_cancelled": ("Annulé", "Cancelled"),
    "source_emr": ("DMÉ", "EMR"),
    "source_portal": ("Portail", "Portal"),
    "source_admin": ("Clinique", "Clinic"),
    "source_citizen": ("Citoyen", "Citizen"),
    "mark_present": ("Présent", "Present"),
    "mark_absent": ("Absent", "Absent"),
    "mark_undefined": ("Remettre à non défini", "Back to undefined"),
    "mark_present_for": ("Indiquer présent : {who}", "Mark present: {who}"),
    "mark_absent_for": ("Indiquer absent : {who}", "Mark absent: {who}"),
    "reschedule": ("Déplacer", "Reschedule"),
    "reschedule_for": ("Déplacer le rendez-vous de {who}", "Reschedule {who}'s appointment"),
    "cancel": ("Annuler", "Cancel"),
    "cancel_for": ("Annuler le rendez-vous de {who}", "Cancel {who}'s appointment"),
    "reason": ("Motif", "Reason"),
    "confirm_cancel": ("Annuler ce rendez-vous", "Cancel this appointment"),
    "back_to_suivi": ("Retour au Suivi", "Back to Suivi"),
    "conf_confirmation_sent": ("Confirmation envoyée", "Confirmation sent"),
    "conf_reminder_sent": ("Rappel envoyé", "Reminder sent"),
    "conf_confirmed": ("Confirmé", "Confirmed"),
    "conf_cancelled": ("Annulé par le patient", "Cancelled by the patient"),
    "conf_none": ("—", "—"),
    "by_channel": ("par {channel}", "by {channel}"),
    "channel_email": ("courriel", "e-mail"),
    "channel_sms": ("SMS", "SMS"),
    "channel_phone": ("téléphone", "phone"),
    "identity_grey": ("Aucun compte", "No account"),
    "identity_red": ("Identité non validée", "Identity not validated"),
    "identity_green": ("Identité validée", "Identity validated"),
    "association_grey": ("Aucune association", "No association"),
    "association_red": ("Association non validée", "Association not validated"),
    "association_green": ("Association validée", "Association validated"),
    "saved_status": ("Statut enregistré : {status}.", "Status saved: {status}."),
    "saved_cancel": ("Rendez-vous annulé.", "Appointment cancelled."),
    "saved_reschedule": ("Rendez-vous déplacé au {when}.", "Appointment moved to {when}."),
    # reschedule
    "reschedule_title": ("Déplacer un rendez-vous", "Reschedule an appointment"),
    "current_appointment": ("Rendez-vous actuel : {when} — {service}", "Current appointment: {when} — {service}"),
    "free_slots": ("Plages disponibles (14 prochains jours)", "Free slots (next 14 days)"),
    "no_free_slots": ("Aucune plage disponible pour ce service.", "No free slot for this service."),
    "places_left": ("{n} place(s)", "{n} place(s)"),
    "move_here": ("Déplacer ici", "Move here"),
    "move_to": ("Déplacer au {when}", "Move to {when}"),
    # ops
    "ops_title": ("Opérations : positions et retard", "Operations: positions and lag"),
    "log_head": ("Tête du journal : position {head}", "Log head: position {head}"),
    "projection": ("Projection", "Projection"),
    "position": ("Position", "Position"),
    "lag": ("Retard", "Lag"),
    "rebuilding": ("Reconstruction", "Rebuild"),
    "rebuilding_at": ("en cours : position {at} sur {head}", "running: position {at} of {head}"),
    "relay": ("Relais Kafka", "Kafka relay"),
    "relay_never": ("jamais démarré", "never started"),
    "events_title": ("Journal des événements", "Event stream"),
    "after_position": ("Après la position", "After position"),
    "show": ("Afficher", "Show"),
    "next_page": ("Page suivante", "Next page"),
    "no_events": ("Aucun événement.", "No events."),
    "aggregate": ("Agrégat", "Aggregate"),
    "type": ("Type", "Type"),
    "event": ("Événement", "Event"),
    "when": ("Quand", "When"),
    "who": ("Qui", "Who"),
    "role": ("Rôle", "Role"),
    "channel": ("Canal", "Channel"),
    "what": ("Quoi", "What"),
    "version": ("Version", "Version"),
    "audit_of": ("Audit de {aggregate}", "Audit of {aggregate}"),
    "audit_search": ("Identifiant d'un agrégat", "An aggregate's id"),
    "open_audit": ("Ouvrir l'audit", "Open the audit"),
    "no_audit": ("Aucun événement pour cet agrégat.", "No events for this aggregate."),
}

#: What the hub's refusals mean, in words for people (the code comes from the use case).
REFUSALS: dict[str, tuple[str, str]] = {
    "slot_full": ("Il ne reste aucune place dans cette plage.", "No place is left in this slot."),
    "slot_locked": ("Cette plage est verrouillée.", "This slot is locked."),
    "cancellation_too_late": ("Le délai d'annulation de ce service est dépassé.",
                              "This service's cancellation delay has passed."),
    "appointment_closed": ("Ce rendez-vous est annulé ou supprimé : il ne peut plus changer.",
                           "This appointment is cancelled or deleted: it can no longer change."),
    "appointment_over": ("Ce rendez-vous est passé.", "This appointment is over."),
    "service_not_accepted": ("Cette plage n'accepte pas ce service.", "This slot does not accept this service."),
    "product_not_assigned": ("Cette plage n'offre pas ce produit.", "This slot does not offer this product."),
    "clinic_inactive": ("Cette clinique n'est plus active.", "This clinic is no longer active."),
    "not_found": ("Introuvable (ou hors de vos cliniques).", "Not found (or outside your clinics)."),
    "forbidden": ("Vous n'avez pas le droit de faire cela.", "You may not do this."),
    "store_busy": ("Le hub est occupé : réessayez dans un instant.", "The hub is busy: try again in a moment."),
}


def pick(lang: str | None) -> Language:
    return "en" if lang == "en" else "fr"


def translate(lang: Language, key: str, **values: object) -> str:
    """The text of ``key`` in ``lang`` with ``{name}`` placeholders filled."""
    texts = CATALOGUE.get(key)
    if texts is None:
        return key
    text = texts[0] if lang == "fr" else texts[1]
    return text.format(**values) if values else text


def refusal(lang: Language, code: str, message: str) -> str:
    """A refusal in words: the hub's own sentence for a known code, else the use case's message."""
    texts = REFUSALS.get(code)
    if texts is None:
        return message
    return texts[0] if lang == "fr" else texts[1]
