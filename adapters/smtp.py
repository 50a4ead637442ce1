"""E-mail over SMTP (``smtplib``): one connection per message, a Message-ID per notification."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import formatdate

import structlog

from adapters.channels import DeliveryFailed, Outgoing
from adapters.redaction import redact_text

log = structlog.get_logger("adapters.smtp")


class SmtpChannel:
    """Sends e-mails through an SMTP relay. SMTP has no idempotency key, so a message whose
    sender died mid-send is not retried (``idempotent = False``): at most once."""

    idempotent = False

    def __init__(self, host: str, port: int, sender: str, starttls: bool = False,
                 username: str = "", password: str = "", timeout: float = 20.0) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.starttls, self.username, self.password = starttls, username, password
        self.timeout = timeout

    def compose(self, message: Outgoing) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.address
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = f"<{message.key}@hub.notification>"
        mail["Content-Language"] = message.language
        mail.set_content(message.text)
        if message.html:
            mail.add_alternative(message.html, subtype="html")
        return mail

    def send(self, message: Outgoing) -> None:
        mail = self.compose(message)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise DeliveryFailed(f"recipient refused (SMTP {', '.join(map(str, codes))})",
                                 permanent=all(c >= 500 for c in codes)) from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryFailed(f"SMTP {exc.smtp_code}: {redact_text(repr(exc.smtp_error))}",
                                 permanent=exc.smtp_code >= 500) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(f"SMTP relay {self.host}:{self.port} unavailable: "
                                 f"{redact_text(str(exc))}") from None
        log.info("e-mail sent", notification_id=str(message.key))
