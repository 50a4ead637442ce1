"""Configuration from the environment (CONTRACT: ``HUB_*`` variables)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIN_SECRET_CHARS = 16
WEAK_SECRETS = frozenset({"change_me", "changeme", "change-me", "secret", "password", "example",
                          "test", "default", "xxxxxxxxxxxxxxxx", "0123456789abcdef"})


class EmrConnectionSettings(BaseModel):
    """How the hub reaches one EMR vendor's FHIR API (``HUB_EMR_CONNECTIONS``, by vendor key):
    ``host`` fills the vendor profile's endpoint templates, or ``base_url``/``token_url`` replace
    them; the credentials match the profile's ``fhir_auth``."""

    model_config = ConfigDict(extra="forbid")

    host: str = ""
    base_url: str = ""
    token_url: str = ""
    token: SecretStr = SecretStr("")
    username: str = ""
    password: SecretStr = SecretStr("")
    client_id: str = ""
    client_secret: SecretStr = SecretStr("")


class Settings(BaseSettings):
    """Everything the hub reads from its environment; built in ``bootstrap``, never at import."""

    model_config = SettingsConfigDict(env_prefix="HUB_", extra="ignore")

    database_url: str = "sqlite:///./.hub/hub.db"
    kafka_bootstrap: str = ""
    kafka_topic_prefix: str = "hub"
    kafka_partitions: int = Field(default=3, ge=1)
    timezone: str = "America/Montreal"
    log_format: Literal["console", "json"] = "console"
    log_level: str = "INFO"
    #: PostgreSQL connection pool size for the event store.
    pool_size: int = Field(default=10, ge=1)
    #: Longest wait for a PostgreSQL connection (seconds): a lost database answers 503 fast.
    db_connect_timeout_seconds: int = Field(default=5, ge=1, le=60)
    #: PostgreSQL: write with the eventsourcing library's own recorder, which locks the events
    #: table for every insert (one commit at a time). Off: the hub's recorder, writers commit
    #: concurrently and log followers wait for late commits (docs/benchmarks.md).
    pg_table_lock: bool = False
    #: Aggregates kept in memory (fast-forwarded from the store on each load); 0 disables.
    aggregate_cache_size: int = Field(default=10_000, ge=0)
    #: How many times a command is retried when another writer got to the slot first.
    max_conflict_retries: int = Field(default=64, ge=1)
    #: Commands (bookings, cancellations, ...) one ``hub serve`` process runs at once; the
    #: others wait their turn in arrival order (``hub.command_gate``, docs/scaling.md). 0: no
    #: limit.
    api_command_concurrency: int = Field(default=2, ge=0, le=256)
    #: Largest HTTP request body the API accepts (bytes); larger ones get 413.
    api_max_body_bytes: int = Field(default=1_048_576, ge=1024)
    #: SMART Scheduling Links: booking portal deep link (``{slot_id}``, ``{clinic_id}``,
    #: ``{service_id}`` are filled in); empty: no booking-deep-link extension is published.
    smart_booking_link: str = ""
    #: ``Cache-Control: max-age`` of the public ``$bulk-publish`` manifest and files (seconds).
    smart_max_age: int = Field(default=60, ge=0)

    #: ``hub serve`` follows the log and keeps the read models current (off: a separate
    #: ``hub projections run`` does it).
    projections_in_server: bool = True
    #: Longest wait of a read given ``?min_position=`` for its projection (seconds).
    read_wait_seconds: float = Field(default=5.0, ge=0, le=60)

    # -- patient messages (docs/notifications.md) ----------------------------------------
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
    #: Bearer token sent to the gateway.
    gateway_token: SecretStr = SecretStr("")
    #: Key of the gateway webhooks' signatures (HMAC over timestamp and body, docs/
    #: notifications.md); empty: webhooks are refused.
    gateway_webhook_secret: SecretStr = SecretStr("")
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

    # -- 2nd-dose rescheduling (docs/vaccination.md) ----------------------------------------
    #: Prescribed days from the 1st dose to the 2nd, over the defaults, e.g.
    #: ``Pfizer-BioNTech=21-112,Moderna=28-112,AstraZeneca=56`` (``PRODUCT=MIN[-MAX]``).
    dose_intervals: str = ""
    #: Lifetime of a self-service confirmation code (minutes).
    self_service_code_minutes: int = Field(default=10, ge=1, le=60)
    #: Codes one NAM, or one address, may ask for per hour.
    self_service_codes_per_hour: int = Field(default=5, ge=1, le=100)
    #: Target group of the self-service (seed 000 §6): minimum age in years.
    self_service_min_age: int = Field(default=12, ge=0, le=130)
    #: Server key mixed into the stored hashes of self-service codes and tokens (set it in
    #: production: without it, someone reading the log could guess a live code offline).
    self_service_key: SecretStr = SecretStr("")

    # -- API tokens (README "HTTP API", docs/privacy.md) -----------------------------------
    #: Lifetime of a new API token (``hub tokens create --expires-in`` overrides it).
    token_ttl_days: int = Field(default=90, ge=1, le=730)
    #: How long a rotated token's old secret keeps working (``--grace`` overrides it).
    token_rotation_grace_minutes: int = Field(default=60, ge=0, le=7 * 24 * 60)
    #: PostgreSQL: a server remembers a live API token (instead of reading it for every
    #: request) while it hears every revocation and rotation, at most this long (seconds);
    #: 0: never (``hub.access.token_cache``).
    token_memory_seconds: float = Field(default=10.0, ge=0, le=300)
    #: Long-running processes (``hub serve``, ``hub mllp``): allocations between two young-
    #: generation garbage collections (Python's default is 700, which with the aggregate
    #: cache made collections ≈ 8 % of a server's CPU); 0 keeps Python's default
    #: (``hub.runtime.tune_gc``).
    gc_threshold: int = Field(default=50_000, ge=0, le=10_000_000)

    # -- users and sessions (docs/users.md) ---------------------------------------------
    #: How long a user's secret code (enrolment) works once issued.
    user_code_valid_hours: int = Field(default=168, ge=1, le=24 * 90)
    #: How long an e-mailed password reset link works.
    password_reset_valid_minutes: int = Field(default=60, ge=5, le=24 * 60)
    #: Lifetime of a session token from ``POST /v1/sessions``.
    session_ttl_minutes: int = Field(default=480, ge=5, le=24 * 60)
    #: Failed sign-ins accepted per client address within 15 minutes (then 429).
    sign_in_client_limit: int = Field(default=20, ge=1)

    # -- Kafka relay (``HUB_RELAY_*``, docs/relay.md); the defaults suit production -------
    relay_batch_size: int = Field(default=500, ge=1, le=10_000)
    relay_poll_interval: float = Field(default=0.05, gt=0, le=10)
    relay_send_timeout: float = Field(default=10.0, gt=0, le=300)
    relay_max_in_flight: int = Field(default=1, ge=1, le=5)
    relay_linger_ms: int = Field(default=5, ge=0, le=1000)
    relay_backoff_max: float = Field(default=30.0, gt=0, le=600)
    relay_lease_ttl: float = Field(default=30.0, gt=0, le=3600)
    relay_replication_factor: int = Field(default=1, ge=1)
    relay_ce_source: str = "/hub"
    #: ``hub relay --once`` gives up (exit 1, position kept) when the broker stays down this long.
    relay_once_deadline_seconds: float = Field(default=60.0, gt=0, le=3600)

    # -- privacy and outbound requests (docs/privacy.md) ---------------------------------
    #: Root key of personal-data protection (base64 of 32 random bytes): wraps the patients'
    #: data keys and keys the NAM index. Empty: kept in ``privacy_key_file``, made on first use.
    privacy_key: SecretStr = SecretStr("")
    privacy_key_file: str = "./.hub/privacy.key"
    #: Also encrypt the whole state of every stored event (AES-GCM, base64 of 32 bytes);
    #: empty: only the personal fields are encrypted.
    store_cipher_key: SecretStr = SecretStr("")
    #: Hosts the hub may fetch on a caller's behalf (availability feeds, EMR bases): comma-
    #: separated names or ``*.domain``; empty: any public host. A host listed by exact name may
    #: be on a private network.
    outbound_allowed_hosts: str = ""
    #: Allow loopback and private-network targets for every host (on-premises setups only).
    outbound_allow_private: bool = False
    #: Longest time of one outbound request, and largest answer (bytes).
    outbound_timeout_seconds: float = Field(default=30, gt=0, le=300)
    outbound_max_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)
    #: ``hub mllp``: addresses or networks (CIDR), comma-separated, that may connect; empty: any.
    mllp_allowed_peers: str = ""
    #: ``hub mllp`` over TLS: the listener's certificate (chain) and key, PEM files; empty: plain
    #: TCP (then keep it on a private network behind the peer allowlist).
    mllp_tls_cert: str = ""
    mllp_tls_key: str = ""
    #: CA bundle (PEM) the EMRs' client certificates must chain to: mutual TLS; empty: none asked.
    mllp_tls_client_ca: str = ""
    #: With mutual TLS: names (certificate CN or DNS SAN), comma-separated, that may send;
    #: empty: any certificate the CA signed.
    mllp_tls_allowed_clients: str = ""

    @field_validator("link_secret", "gateway_token", "gateway_webhook_secret", "privacy_key",
                     "store_cipher_key")
    @classmethod
    def _strong_secret(cls, secret: SecretStr, info: ValidationInfo) -> SecretStr:
        """A secret is empty (its feature off) or strong: a placeholder or a short, guessable
        value is refused at start-up rather than signing links anyone can forge."""
        text = secret.get_secret_value()
        name = f"HUB_{(info.field_name or '').upper()}"
        if text and (len(text) < MIN_SECRET_CHARS or text.strip().lower() in WEAK_SECRETS
                     or len(set(text)) < 6):
            raise ValueError(f"{name} is too weak: use at least {MIN_SECRET_CHARS} random "
                             "characters (e.g. `openssl rand -base64 32`), or leave it empty")
        return secret

    # -- setup wizard (docs/setup.md) ------------------------------------------------------
    #: Per EMR vendor key (``omnimed``, ``myle-emr``, ...): where and how to pull staff and
    #: services from its FHIR API, as JSON. Hosts named here may be on a private network.
    emr_connections: dict[str, EmrConnectionSettings] = Field(default_factory=dict)

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, url: str) -> str:
        if not url.startswith(("sqlite://", "postgresql://", "postgres://", "memory://")):
            raise ValueError(
                "HUB_DATABASE_URL must start with sqlite:///, postgresql:// or memory://"
            )
        return url

    @field_validator("dose_intervals")
    @classmethod
    def _known_intervals(cls, text: str) -> str:
        from aggregates.doses import DoseIntervals
        from aggregates.errors import InvalidValue

        try:
            DoseIntervals.parse(text)
        except InvalidValue as exc:
            raise ValueError(f"HUB_DOSE_INTERVALS: {exc.message}") from None
        return text

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"HUB_TIMEZONE {zone!r} is not a known IANA time zone") from None
        return zone
