"""The one place where the hub is built: settings, the event store, the application, its
followers (read models, Kafka relay, patient messages) and the drivers they use.

Nothing is built at import time. Each builder takes the ``Settings`` and keyword overrides, so
tests swap a part (a clock, channels, a publisher) without touching the rest.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment

from adapters.channels import Channel
from adapters.eventstore import persistence_env
from adapters.gateway import GatewayChannel
from adapters.leases import InProcessLease, Lease, store_lease
from adapters.outbound import OutboundClient, OutboundPolicy
from adapters.passwords import Argon2Passwords
from adapters.pgrecorder import is_postgres, without_jit
from adapters.schemalock import schema_setup_lock
from adapters.smtp import SmtpChannel
from adapters.userstore import UserStore, user_store_for
from aggregates.doses import DoseIntervals
from aggregates.eligibility import TargetGroup
from hub.access.sessions import ClientThrottle, Sessions
from hub.access.users import Passwords, Users
from hub.accounts.service import Accounts
from hub.accounts.staff import StaffEmailIndex
from hub.logging import configure_logging
from hub.notifications.center import NotificationCenter
from hub.notifications.delivery import DeliveryPolicy, Dispatcher
from hub.notifications.process import NotificationProcess
from hub.notifications.replies import Replies
from hub.notifications.webhooks import WebhookGuard
from hub.privacy.keys import privacy_root
from hub.readmodels.asof import PointInTime
from hub.readmodels.registry import PROJECTIONS
from hub.readmodels.runner import Projector
from hub.scheduling.service import Scheduling
from hub.settings import Settings
from hub.vaccination.invitations import Invitations
from hub.vaccination.records import DoseRecords
from hub.vaccination.self_service import SelfService, SelfServicePolicy
from hub.vaccination.service import Vaccination
from projections.base import ReadModelProjection
from projections.readmodel import SHADOW, PostgresReadModel, ReadModel, SQLiteReadModel


def bootstrap(
    settings: Settings | None = None,
    clock: Callable[[], datetime] | None = None,
    configure_logs: bool = True,
) -> Scheduling:
    """Build the scheduling application on the configured store (tables created on first use)."""
    settings = settings or Settings()
    if configure_logs:
        configure_logging(settings.log_format, settings.log_level)
    env = persistence_env(settings.database_url, pool_size=settings.pool_size,
                          connect_timeout=settings.db_connect_timeout_seconds,
                          table_lock=settings.pg_table_lock)
    if settings.aggregate_cache_size:
        env["AGGREGATE_CACHE_MAXSIZE"] = str(settings.aggregate_cache_size)
        env["AGGREGATE_CACHE_FASTFORWARD"] = "y"
    cipher_key = settings.store_cipher_key.get_secret_value()
    if cipher_key:
        env["CIPHER_TOPIC"] = "eventsourcing.cryptography:AESCipher"
        env["CIPHER_KEY"] = cipher_key
    with schema_setup_lock(env):
        return Scheduling(env=env, clock=clock, max_conflict_retries=settings.max_conflict_retries,
                          privacy_root=privacy_root(settings))


def setting_up(app: Any) -> Any:
    """Hold while creating tables on ``app``'s store: processes started together on an empty
    PostgreSQL schema take turns (``adapters.schemalock``); re-entrant within a process."""
    return schema_setup_lock(dict(app.env))


def outbound_client(settings: Settings) -> OutboundClient:
    """Fetches URLs given by callers (feeds, EMR bases) under the SSRF rules of ``HUB_OUTBOUND_*``."""
    hosts = frozenset(h.strip().lower() for h in settings.outbound_allowed_hosts.split(",") if h.strip())
    return OutboundClient(OutboundPolicy(
        allowed_hosts=hosts, allow_private=settings.outbound_allow_private,
        deadline=settings.outbound_timeout_seconds, max_bytes=settings.outbound_max_bytes))


# -- read models ----------------------------------------------------------------------------
def read_model_factory(app: Any, pool_size: int = 2) -> InfrastructureFactory[Any]:
    """An infrastructure factory on the application's database, for the read models.

    Read models live in the same database as the events: PostgreSQL tables in the store's
    schema (``?schema=`` honoured), or tables in the SQLite file. With the in-memory store
    (``memory://``) they live in an in-memory SQLite database of their own.
    """
    env = dict(app.env)
    module = env.get("PERSISTENCE_MODULE", "eventsourcing.popo")
    if module == "eventsourcing.postgres":
        env.update(POSTGRES_POOL_SIZE=str(pool_size), POSTGRES_MAX_OVERFLOW=str(pool_size * 4))
    elif module != "eventsourcing.sqlite":
        env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "CREATE_TABLE": "y",
               "SQLITE_DBNAME": f"file:readmodels-{uuid.uuid4().hex}?mode=memory&cache=shared"}
    factory = InfrastructureFactory.construct(Environment("projections", env))
    without_jit(getattr(factory, "datastore", None))
    return factory


def open_read_model(factory: InfrastructureFactory[Any], cls: type[ReadModelProjection],
                    suffix: str = "") -> ReadModel:
    """The read model of one projection (its tables created when missing)."""
    datastore = factory.datastore  # type: ignore[attr-defined]  # both SQL factories have one
    model_cls = PostgresReadModel if type(factory).__module__ == "eventsourcing.postgres" else SQLiteReadModel
    model = model_cls(datastore, cls.name, cls.tables, suffix)
    model.create_table()
    model.create_tables()
    return model


def read_models_lease(app: Any) -> Lease:
    """The lease of the store's one read-model runner among its API processes
    (``hub.readmodels.leader``): a PostgreSQL session lock per schema, on a connection made
    as the store's own are; in one process (SQLite, memory) always held."""
    if is_postgres(app.recorder):
        datastore = app.recorder.datastore
        return store_lease(datastore, f"hub-read-models:{datastore.schema or 'public'}")
    return InProcessLease()


def build_projector(app: Any, names: Iterable[str] | None = None, settings: Any = None,
                    batch_size: int = 1_000, poll_seconds: float = 0.1) -> Projector:
    """A runner for the named projections (default: all) of ``app``'s log."""
    chosen = list(names or PROJECTIONS)
    unknown = [n for n in chosen if n not in PROJECTIONS]
    if unknown:
        raise KeyError(f"unknown projection {', '.join(unknown)}; known: {', '.join(PROJECTIONS)}")
    factory = read_model_factory(app)
    with setting_up(app):
        projections = [PROJECTIONS[n](open_read_model(factory, PROJECTIONS[n]), settings) for n in chosen]

    model_cls = PostgresReadModel if type(factory).__module__ == "eventsourcing.postgres" else SQLiteReadModel
    datastore = factory.datastore  # type: ignore[attr-defined]  # both SQL factories have one

    def shadow(projection: ReadModelProjection) -> ReadModel:
        return model_cls(datastore, projection.name, projection.tables, SHADOW)

    return Projector(app, projections, shadow, batch_size=batch_size, poll_seconds=poll_seconds,
                     on_close=factory.close)


def point_in_time(app: Any, name: str, settings: Any = None) -> PointInTime:
    """Projection ``name`` as of past log positions, each built from the log into a private
    in-memory SQLite read model (``?as_of_position=``)."""
    cls = PROJECTIONS[name]

    def open_model() -> tuple[ReadModel, Callable[[], None]]:
        factory = InfrastructureFactory.construct(Environment("asof", {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite", "CREATE_TABLE": "y",
            "SQLITE_DBNAME": f"file:asof-{uuid.uuid4().hex}?mode=memory&cache=shared"}))
        return open_read_model(factory, cls), factory.close

    return PointInTime(app, cls, open_model, settings)


# -- users and sessions ---------------------------------------------------------------------
@dataclass
class UserAccess:
    """Users' commands and sessions, with the store of their password hashes."""

    users: Users
    sessions: Sessions
    store: UserStore

    def close(self) -> None:
        self.store.close()


def user_access(app: Scheduling, settings: Settings | None = None,
                passwords: Passwords | None = None,
                mailer: Channel | None = None) -> UserAccess:
    """Users and sessions on ``app``: Argon2id passwords, the e-mail relay for reset links
    (default: the configured one, ``HUB_SMTP_HOST``, if any)."""
    settings = settings or Settings()
    store = user_store_for(app.recorder)
    passwords = passwords or Argon2Passwords()
    mailer = mailer or channels_from(settings).get("email")
    users = Users(app, store, passwords,
                  code_valid_for=timedelta(hours=settings.user_code_valid_hours),
                  reset_valid_for=timedelta(minutes=settings.password_reset_valid_minutes),
                  mailer=mailer, public_url=settings.public_url)
    sessions = Sessions(app, store, passwords, users,
                        ttl=timedelta(minutes=settings.session_ttl_minutes),
                        throttle=ClientThrottle(settings.sign_in_client_limit))
    return UserAccess(users, sessions, store)


# -- patient messages -----------------------------------------------------------------------
def channels_from(settings: Settings) -> dict[str, Channel]:
    """The configured channels: e-mail when ``HUB_SMTP_HOST`` is set, SMS and phone when
    ``HUB_GATEWAY_URL`` is set; a message for a missing channel waits until it is configured."""
    channels: dict[str, Channel] = {}
    if settings.smtp_host:
        channels["email"] = SmtpChannel(
            settings.smtp_host, settings.smtp_port, settings.smtp_sender, settings.smtp_starttls,
            settings.smtp_username, settings.smtp_password.get_secret_value(),
            settings.smtp_timeout_seconds)
    if settings.gateway_url:
        gateway = GatewayChannel(settings.gateway_url, settings.gateway_token.get_secret_value(),
                                 settings.gateway_timeout_seconds)
        channels["sms"] = channels["phone"] = gateway
    return channels


def notification_center(app: Scheduling, settings: Settings | None = None,
                        zone: str | None = None, channels: dict[str, Channel] | None = None,
                        clock: Callable[[], datetime] | None = None) -> NotificationCenter:
    """Planning, delivery and replies of patient messages on ``app``."""
    settings = settings or Settings()
    zone = zone or settings.timezone
    webhook_secret = settings.gateway_webhook_secret.get_secret_value()
    policy = DeliveryPolicy(
        max_attempts=settings.max_attempts,
        retry_base=timedelta(seconds=settings.retry_base_seconds),
        lease=timedelta(seconds=settings.claim_lease_seconds),
        link_secret=settings.link_secret.get_secret_value(),
        public_url=settings.public_url,
    )
    return NotificationCenter(
        app=app, poll_seconds=settings.poll_seconds,
        process=NotificationProcess(app, zone),
        dispatcher=Dispatcher(app, channels_from(settings) if channels is None else channels, zone,
                              policy, clock),
        replies=Replies(app, policy.link_secret, clock),
        webhooks=WebhookGuard(webhook_secret) if webhook_secret else None,
    )


# -- 2nd-dose rescheduling ------------------------------------------------------------------
def vaccination(app: Scheduling, settings: Settings | None = None,
                channels: dict[str, Channel] | None = None) -> Vaccination:
    """Doses, invitations and the citizen's self-service on ``app`` (codes go out through
    ``channels``, by default the configured ones)."""
    settings = settings or Settings()
    records = DoseRecords(app, DoseIntervals.parse(settings.dose_intervals))
    policy = SelfServicePolicy(
        code_minutes=settings.self_service_code_minutes,
        codes_per_window=settings.self_service_codes_per_hour,
        target_group=TargetGroup(min_age_years=settings.self_service_min_age),
        key=settings.self_service_key.get_secret_value().encode(),
    )
    return Vaccination(
        records=records,
        invitations=Invitations(app, records, settings.timezone, settings.public_url),
        self_service=SelfService(app, records, channels_from(settings) if channels is None else channels,
                                 policy),
    )
def accounts_service(app: Scheduling) -> Accounts:
    """Citizen accounts (A1–A6) on ``app``; staff e-mails from the users it knows (A6)."""
    return Accounts(app, StaffEmailIndex(app))
