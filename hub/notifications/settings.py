"""Notification configuration (``HUB_SMTP_*``, ``HUB_GATEWAY_*``, ``HUB_LINK_SECRET``, ...)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class NotificationSettings(BaseSettings):
    """How messages leave the hub and how patients' replies come back; read in bootstrap."""

    model_config = SettingsConfigDict(env_prefix="HUB_", extra="ignore")

    #: SMTP relay for e-mails; empty: e-mails stay planned until one is configured.
    smtp_host: str = ""
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_sender: str = "Hub <no-reply@hub.invalid>"
    smtp_starttls: bool = False
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_timeout_seconds: float = Field(default=20, gt=0)
    #: SMS and voice gateway base URL (JSON over HTTP, docs/notifications.md); empty: unset.
    gateway_url: str = ""
    #: Bearer token sent to the gateway; also the HMAC key of its webhooks' signatures.
    gateway_token: SecretStr = SecretStr("")
    gateway_timeout_seconds: float = Field(default=10, gt=0)
    #: Key that signs the confirm/cancel links in e-mails; empty: e-mails carry no links.
    link_secret: SecretStr = SecretStr("")
    #: Where patients reach the hub's link pages (the e-mails' links start with it).
    public_url: str = "http://127.0.0.1:8000"
    #: Delivery: attempts per message, first retry delay (doubled each time), claim lease.
    max_attempts: int = Field(default=5, ge=1)
    retry_base_seconds: float = Field(default=60, gt=0)
    claim_lease_seconds: float = Field(default=300, gt=0)
    #: ``hub notifications run`` loop pause between rounds.
    poll_seconds: float = Field(default=5, gt=0)
