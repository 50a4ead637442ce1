"""What the routes use, built once when the server starts (``create_app``'s lifespan)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from adapters.outbound import OutboundClient
from adapters.phireads import MemoryPhiReads, PhiReads
from adapters.sqlaccessstore import AccessStore
from adapters.token_changes import TokenChanges
from connectors.fhir.answers import SearchAnswers
from entrypoints.api.commands import CommandLane
from entrypoints.api.readmodels import Freshness
from hub.access.sessions import TOKEN_PREFIX as SESSION_TOKEN_PREFIX
from hub.access.token_cache import RememberedTokens
from hub.access.tokens import Principal, authenticate, expired_at
from hub.accounts.service import Accounts
from hub.bootstrap import UserAccess, point_in_time
from hub.imports.service import Imports
from hub.notifications.center import NotificationCenter
from hub.readmodels.asof import PointInTime
from hub.readmodels.leader import Leadership
from hub.readmodels.rebuilds import Rebuilds
from hub.readmodels.runner import Projector
from hub.scheduling.service import Scheduling
from hub.settings import Settings
from hub.setup.service import ClinicSetups
from hub.vaccination.service import Vaccination


@dataclass
class ApiServices:
    """The application services one API process serves (``request.app.state.services``)."""

    settings: Settings
    scheduling: Scheduling
    access: AccessStore
    imports: Imports
    projections: Projector
    notifications: NotificationCenter
    setups: ClinicSetups
    vaccination: Vaccination
    users: UserAccess
    accounts: Accounts
    #: Fetches the URLs callers give (feeds), under the SSRF rules of the settings.
    outbound: OutboundClient = field(default_factory=OutboundClient)
    #: Who read which patient's personal data (``GET /v1/phi-reads``).
    phi_reads: PhiReads = field(default_factory=MemoryPhiReads)
    #: API tokens remembered while their changes are heard (None: read for every request).
    tokens: RememberedTokens | None = None
    token_changes: TokenChanges | None = None
    #: How far the read models are known to have got (spares the freshness check a query).
    freshness: Freshness = field(default_factory=Freshness)
    #: FHIR Slot searches answered at the log's current head, per caller's scope.
    fhir_answers: SearchAnswers = field(default_factory=SearchAnswers)
    #: The threads commands run on (``HUB_API_COMMAND_CONCURRENCY``; 0: anyio's threadpool).
    commands: CommandLane = field(default_factory=lambda: CommandLane(0))
    #: This process's part in electing the store's one read-model runner (None: not here).
    leadership: Leadership | None = None
    _as_of: dict[str, PointInTime] = field(default_factory=dict)
    _as_of_lock: threading.Lock = field(default_factory=threading.Lock)
    #: Read model rebuilds started from the ops console (``projections`` rebuilt in threads).
    rebuilds: Rebuilds = field(init=False)

    def __post_init__(self) -> None:
        self.rebuilds = Rebuilds(self.projections)

    def as_of(self, name: str) -> PointInTime:
        """Projection ``name`` as of past positions (``?as_of_position=``), built on first use."""
        with self._as_of_lock:
            if name not in self._as_of:
                self._as_of[name] = point_in_time(self.scheduling, name, self.settings)
            return self._as_of[name]

    def remembered(self, token: str) -> Principal | None:
        """The caller behind an API token this server remembers (no I/O), else None."""
        if self.tokens is None or token.startswith(SESSION_TOKEN_PREFIX):
            return None
        return self.tokens.remembered(token)

    def authenticate(self, token: str) -> Principal | None:
        """The caller behind a bearer token: a signed-in user's session, else an API token."""
        if token.startswith(SESSION_TOKEN_PREFIX):
            return self.users.sessions.authenticate(token)
        if self.tokens is not None:
            return self.tokens.authenticate(token)
        return authenticate(self.access, token)

    def forget_tokens(self) -> None:
        """A token changed in this process: read every token again (other processes hear it
        through ``token_changes``)."""
        if self.tokens is not None:
            self.tokens.forget()

    def token_expired_at(self, token: str) -> str | None:
        """When a refused API token expired (None: refused for another reason)."""
        if token.startswith(SESSION_TOKEN_PREFIX):
            return None
        return expired_at(self.access, token)

    def close(self) -> None:
        for past in self._as_of.values():
            past.close()
        if self.token_changes is not None:
            self.token_changes.close()
        self.rebuilds.close()
        self.commands.close()
        if self.leadership is not None:
            self.leadership.close()
        self.projections.close()
        self.imports.close()
        self.access.close()
        self.users.close()
