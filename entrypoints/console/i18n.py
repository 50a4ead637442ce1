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
    # setup wizard (seed 002)
    "setup": ("Assistant d'installation", "Setup wizard"),
    "setup_intro": ("Configurez une nouvelle clinique en six étapes. La progression est conservée : "
                    "vous pouvez quitter et revenir à l'adresse de cette page.",
                    "Set up a new clinic in six steps. Progress is kept: you can leave and come "
                    "back to this page's address."),
    "setup_start": ("Commencer une configuration", "Start a setup"),
    "setup_preset_emr": ("DMÉ déjà connu pour la clinique (facultatif)", "EMR on file for the clinic (optional)"),
    "setup_application_type": ("Type d'application", "Application type"),
    "app_clinic": ("Clinique", "Clinic"),
    "app_public_health": ("Santé publique", "Public health"),
    "app_enterprise": ("Entreprise", "Enterprise"),
    "app_pharmacy": ("Pharmacie", "Pharmacy"),
    "none": ("Aucun", "None"),
    "progress": ("Progression", "Progress"),
    "step_complete": ("complétée", "complete"),
    "step_current": ("étape en cours", "current step"),
    "step_todo": ("à faire", "to do"),
    "step_clinic": ("Votre clinique", "Your clinic"),
    "step_providers": ("Fournisseur de rendez-vous", "Appointment providers"),
    "step_emr": ("Fournisseur de DMÉ", "EMR provider"),
    "step_staff": ("Personnel", "Staff"),
    "step_services": ("Services offerts", "Services"),
    "step_patients": ("Patients", "Patients"),
    "previous": ("Précédent", "Previous"),
    "next": ("Suivant", "Next"),
    "save_and_next": ("Enregistrer et continuer", "Save and continue"),
    "optional": ("facultatif", "optional"),
    "field_name": ("Nom de la clinique", "Clinic name"),
    "name_help": ("200 caractères au maximum.", "At most 200 characters."),
    "field_street": ("Adresse", "Address"),
    "field_suite": ("Bureau", "Suite"),
    "field_city": ("Ville", "City"),
    "field_province": ("Province", "Province"),
    "field_postal_code": ("Code postal", "Postal code"),
    "field_phone": ("Numéro de téléphone", "Phone number"),
    "field_extension": ("Poste", "Extension"),
    "field_logo": ("Logo", "Logo"),
    "choose": ("Sélectionner", "Select"),
    "logo_help": ("PNG, GIF ou JPEG, {mb} Mo au maximum.", "PNG, GIF or JPEG, at most {mb} MB."),
    "logo_kept": ("Logo enregistré ({type}, {size} octets).", "Logo saved ({type}, {size} bytes)."),
    "providers_intro": ("Vos disponibilités Web seront visibles sur les fournisseurs suivants :",
                        "Your online availability will be shown on these providers:"),
    "emr_intro": ("Sélectionnez votre fournisseur de dossier médical électronique (DMÉ) actuel. Un seul choix est possible.",
                  "Choose your current electronic medical record (EMR) provider. One choice only."),
    "emr_alert": ("Le DMÉ sélectionné diffère de celui indiqué dans nos systèmes pour votre clinique. "
                  "Comme cela engendre des ajustements, une équipe communiquera avec vous pour la suite.",
                  "The EMR you chose differs from the one on file for your clinic. A team will contact "
                  "you about the next steps."),
    "import_staff_intro": ("Lancez l'importation de votre personnel médical depuis votre DMÉ.",
                           "Start importing your medical staff from your EMR."),
    "import_services_intro": ("Lancez l'importation de vos services depuis votre DMÉ.",
                              "Start importing your services from your EMR."),
    "import_staff": ("Importer le personnel", "Import the staff"),
    "import_services": ("Importer les services", "Import the services"),
    "import_running": ("Veuillez patienter pendant l'importation des données…", "Please wait while the data is imported…"),
    "import_ok_staff": ("{n} personnes importées avec succès", "{n} people imported"),
    "import_ok_services": ("{n} services importés avec succès", "{n} services imported"),
    "import_conflicts": ("Des conflits sont survenus lors de la synchronisation des données. Vous pouvez "
                         "corriger les conflits dans votre DMÉ et synchroniser de nouveau, ou poursuivre "
                         "et faire les ajustements ultérieurement.",
                         "Conflicts arose while syncing. Fix them in your EMR and sync again, or go on "
                         "and adjust later."),
    "import_failed": ("Une erreur est survenue lors de la synchronisation des données. Notre équipe en "
                      "est informée. Vous pouvez réessayer.",
                      "An error occurred while syncing. Our team has been told. You may try again."),
    "standalone_done": ("Aucun DMÉ : cette étape est complétée, vous saisirez les données plus tard.",
                        "No EMR: this step is complete; you will enter the data later."),
    "refresh": ("Actualiser", "Refresh"),
    "patients_intro": ("La synchronisation des patients se fera lors des rendez-vous, lorsqu'ils seront "
                       "donnés par la clinique ou pris sur le portail patient.",
                       "Patients are synced with their appointments, whether given by the clinic or "
                       "booked on the patient portal."),
    "understood": ("J'ai compris", "I understand"),
    "create_clinic": ("Créer la clinique", "Create the clinic"),
    "clinic_created": ("La clinique est créée.", "The clinic is created."),
}

#: Names people know the EMRs and booking portals by (seed 002).
PROVIDER_NAMES: dict[str, str] = {
    "kinlogix": "Kinlogix", "medesync": "Medesync", "myle": "Myle - Par MEDFAR", "ofys": "OFYS",
    "omnimed": "Omnimed", "softinfo": "Softinfo", "toubib": "Toubib",
    "standalone": "Aucun DMÉ (standalone) / No EMR", "rvsq": "Rendez-vous Santé Québec",
    "clic-sante": "Clic Santé", "bonjour-sante": "Bonjour-santé",
    "pomelo": "Pomelo (autrefois Chronometriq)", "myle-portal": "Myle - Par MEDFAR",
    "tap-medical": "TAP médical",
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
    "step_out_of_order": ("Complétez d'abord les étapes précédentes.", "Complete the previous steps first."),
    "no_emr": ("Aucun DMÉ : rien à importer.", "No EMR: nothing to import."),
    "import_running": ("Une importation est déjà en cours.", "An import is already running."),
    "setup_incomplete": ("Toutes les étapes doivent être complétées.", "Every step must be complete."),
    "setup_completed": ("Cette clinique est déjà créée.", "This clinic is already created."),
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
