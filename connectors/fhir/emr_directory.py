"""Pull a clinic's staff and services from its EMR's FHIR R4 API (seed 002 "Personnel",
"Services offerts"; SPEC W2).

``EmrDirectory`` searches ``Practitioner`` and ``PractitionerRole`` (staff) or
``HealthcareService`` (services), follows the searchset's ``next`` links (on the same base
URL only), and returns one ``collection`` Bundle that ``connectors.fhir.directory`` reads
into import rows. Auth is the vendor profile's: none, a bearer API token, HTTP Basic, or OAuth
2.0 client credentials (token fetched once, fetched again when the EMR answers 401).

Requests go through a ``Transport``: ``GuardedTransport`` is ``adapters.outbound``'s SSRF-safe
client (the host resolved once and pinned, no redirect, bounded time and size, generic errors);
only the hosts of the EMR's configured base and token URLs are fetched (they may be on a
private network: the operator named them). The EMR's own ``next`` links are followed only
under its base URL. Credentials never appear in errors or logs. ``EmrPull`` is what ``hub.imports`` asks: vendor key → Bundle text,
with the vendor profile's endpoint and auth and the deployment's credentials.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol
from urllib.parse import urlencode, urlsplit

import structlog

from adapters.outbound import OutboundClient, OutboundPolicy, OutboundRefused, OutboundUnreachable
from aggregates.errors import DomainError
from connectors.fhir.codes import EXT_DURATION
from hub.emr.vendors import VendorProfiles, load_profiles
from hub.settings import EmrConnectionSettings

log = structlog.get_logger("connectors.fhir.emr")

AuthMode = Literal["none", "bearer", "basic", "client_credentials"]
SEARCHES = {"staff": ("Practitioner", "PractitionerRole"), "services": ("HealthcareService",)}
PAGE_SIZE = 100
MAX_PAGES = 500
MAX_BYTES = 20 * 1024 * 1024
#: A service the EMR lists without a duration gets this one; the clinic sets its own after the
#: wizard (seed 002 "Services offerts": durée, catégorie, disponibilité en ligne).
DEFAULT_DURATION_MINUTES = 15


class EmrUnavailable(DomainError):
    """The EMR did not give the directory (unreachable, refused the hub's credentials, or
    answered something that is not FHIR)."""

    code = "emr_unavailable"


class HttpAnswer(Protocol):
    @property
    def status(self) -> int: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def body(self) -> bytes: ...


class Transport(Protocol):
    def request(self, method: str, url: str, headers: Mapping[str, str] | None = None,
                body: bytes | None = None) -> HttpAnswer: ...


@dataclass(frozen=True)
class EmrConnection:
    """Where and how the hub reaches one EMR's FHIR API (secrets kept out of ``repr``)."""

    vendor: str
    base_url: str
    auth: AuthMode = "none"
    token_url: str = ""
    token: str = field(default="", repr=False)
    username: str = ""
    password: str = field(default="", repr=False)
    client_id: str = ""
    client_secret: str = field(default="", repr=False)


class EmrDirectory:
    """One EMR's staff and services, as FHIR Bundles."""

    def __init__(self, connection: EmrConnection, transport: Transport,
                 page_size: int = PAGE_SIZE, max_pages: int = MAX_PAGES) -> None:
        self.connection = connection
        self.transport = transport
        self.page_size = page_size
        self.max_pages = max_pages
        self._access_token: str | None = None
        self._lock = threading.Lock()

    def bundle(self, kind: str) -> dict[str, Any]:
        """Every active resource of ``kind`` (``staff`` or ``services``) in one Bundle."""
        entries: list[dict[str, Any]] = []
        for resource_type in SEARCHES[kind]:
            entries += self.search(resource_type, {"active": "true"})
        log.info("emr directory pulled", vendor=self.connection.vendor, kind=kind,
                 resources=len(entries))
        return {"resourceType": "Bundle", "type": "collection", "entry": entries}

    def search(self, resource_type: str, params: Mapping[str, str]) -> list[dict[str, Any]]:
        """All pages of a search; ``next`` links must stay under the connection's base URL."""
        base = self.connection.base_url.rstrip("/")
        url: str | None = f"{base}/{resource_type}?{urlencode({**params, '_count': self.page_size})}"
        entries: list[dict[str, Any]] = []
        pages = 0
        while url:
            pages += 1
            if pages > self.max_pages:
                raise EmrUnavailable(f"the EMR's {resource_type} search has more than "
                                     f"{self.max_pages} pages", resource_type=resource_type)
            page = self._get_json(url)
            if page.get("resourceType") != "Bundle":
                raise EmrUnavailable(f"the EMR answered its {resource_type} search with a "
                                     f"{page.get('resourceType')!r}, not a Bundle")
            for entry in page.get("entry") or []:
                resource = entry.get("resource") if isinstance(entry, dict) else None
                if isinstance(resource, dict) and resource.get("resourceType") == resource_type:
                    entries.append({k: v for k, v in entry.items() if k != "search"})
            url = next((link.get("url") for link in page.get("link") or []
                        if isinstance(link, dict) and link.get("relation") == "next"), None)
            if url is not None and not _under(url, base):
                raise EmrUnavailable("the EMR's next page is not under its FHIR base URL; "
                                     "the hub does not follow it", resource_type=resource_type)
        return entries

    # -- HTTP ------------------------------------------------------------------------------
    def _get_json(self, url: str) -> dict[str, Any]:
        answer = self._get(url)
        if answer.status == 401 and self.connection.auth == "client_credentials":
            with self._lock:
                self._access_token = None  # expired or revoked: ask for a new one, once
            answer = self._get(url)
        if answer.status in (401, 403):
            raise EmrUnavailable(f"the EMR refused the hub's credentials (HTTP {answer.status})",
                                 status=answer.status)
        if not 200 <= answer.status < 300:
            raise EmrUnavailable(f"the EMR answered HTTP {answer.status}", status=answer.status)
        try:
            data = json.loads(answer.body)
        except ValueError:
            raise EmrUnavailable("the EMR's answer is not JSON") from None
        if not isinstance(data, dict):
            raise EmrUnavailable("the EMR's answer is not a FHIR resource")
        return data

    def _get(self, url: str) -> HttpAnswer:
        headers = {"Accept": "application/fhir+json", **self._authorization()}
        return self.transport.request("GET", url, headers=headers)

    def _authorization(self) -> dict[str, str]:
        c = self.connection
        if c.auth == "bearer":
            return {"Authorization": f"Bearer {c.token}"}
        if c.auth == "basic":
            return {"Authorization": f"Basic {_basic(c.username, c.password)}"}
        if c.auth == "client_credentials":
            return {"Authorization": f"Bearer {self._client_token()}"}
        return {}

    def _client_token(self) -> str:
        with self._lock:
            if self._access_token:
                return self._access_token
        c = self.connection
        answer = self.transport.request(
            "POST", c.token_url,
            headers={"Authorization": f"Basic {_basic(c.client_id, c.client_secret)}",
                     "Content-Type": "application/x-www-form-urlencoded",
                     "Accept": "application/json"},
            body=b"grant_type=client_credentials",
        )
        if answer.status != 200:
            raise EmrUnavailable(f"the EMR's token endpoint refused the hub's client "
                                 f"(HTTP {answer.status})", status=answer.status)
        try:
            token = json.loads(answer.body)["access_token"]
        except (ValueError, KeyError, TypeError):
            raise EmrUnavailable("the EMR's token endpoint gave no access_token") from None
        if not isinstance(token, str) or not token:
            raise EmrUnavailable("the EMR's token endpoint gave no access_token")
        with self._lock:
            self._access_token = token
        return token


def _basic(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def _under(url: str, base: str) -> bool:
    """Same scheme, host and port as ``base``, and a path below its path."""
    a, b = urlsplit(url), urlsplit(base)
    return ((a.scheme, a.netloc) == (b.scheme, b.netloc)
            and (a.path == b.path or a.path.startswith(b.path.rstrip("/") + "/")))


class GuardedTransport:
    """The EMR's requests through the SSRF-safe outbound client, limited to the hosts of its
    configured URLs; refusals and failures become ``EmrUnavailable`` (generic words)."""

    def __init__(self, client: OutboundClient) -> None:
        self.client = client

    @classmethod
    def for_connection(cls, connection: EmrConnection,
                       bounds: OutboundPolicy | None = None) -> GuardedTransport:
        """Only ``connection``'s base and token hosts, within ``bounds``' time and size."""
        limits = bounds or OutboundPolicy(deadline=20.0, max_bytes=MAX_BYTES)
        hosts = frozenset(h for h in (urlsplit(connection.base_url).hostname,
                                      urlsplit(connection.token_url).hostname) if h)
        return cls(OutboundClient(OutboundPolicy(
            allowed_hosts=frozenset(h.lower() for h in hosts),
            allow_private=limits.allow_private, connect_timeout=limits.connect_timeout,
            deadline=limits.deadline, max_bytes=limits.max_bytes,
            ssl_context=limits.ssl_context)))

    def request(self, method: str, url: str, headers: Mapping[str, str] | None = None,
                body: bytes | None = None) -> HttpAnswer:
        try:
            return self.client.request(method, url, headers=headers, body=body)
        except OutboundRefused as refused:
            raise EmrUnavailable(f"the EMR's address is refused: {refused.message}") from None
        except OutboundUnreachable:
            host = urlsplit(url).hostname or "the EMR"
            raise EmrUnavailable(f"{host} gave no usable answer") from None


def connection_for(vendor: str, settings: EmrConnectionSettings | None,
                   profiles: VendorProfiles | None = None) -> EmrConnection:
    """The vendor profile's FHIR endpoint and auth, with this deployment's host and secrets."""
    profile = (profiles or load_profiles()).profiles.get(vendor)
    if profile is None or profile.kind != "emr":
        raise EmrUnavailable(f"{vendor!r} is not an EMR vendor the hub knows")
    if "fhir-r4" not in profile.protocols or "fhir" not in profile.endpoints:
        raise EmrUnavailable(f"{profile.name} offers no FHIR R4 API to pull staff and services "
                             "from; the support team will import its export", vendor=vendor)
    if settings is None:
        raise EmrUnavailable(f"the hub has no connection to {profile.name} yet "
                             "(HUB_EMR_CONNECTIONS); the support team will set it up",
                             vendor=vendor)
    base_url = settings.base_url or _filled(profile.endpoints["fhir"], settings.host, vendor)
    token_url = settings.token_url
    if profile.fhir_auth == "client_credentials" and not token_url:
        token_url = _filled(profile.endpoints["token"], settings.host, vendor)
    return EmrConnection(
        vendor=vendor, base_url=base_url, auth=profile.fhir_auth or "none", token_url=token_url,
        token=settings.token.get_secret_value(), username=settings.username,
        password=settings.password.get_secret_value(), client_id=settings.client_id,
        client_secret=settings.client_secret.get_secret_value(),
    )


def _filled(template: str, host: str, vendor: str) -> str:
    if not host:
        raise EmrUnavailable(f"no host is configured for {vendor} (HUB_EMR_CONNECTIONS)",
                             vendor=vendor)
    return template.replace("{host}", host)


class EmrPull:
    """``hub.imports``' ``EmrDirectory``: vendor key → its staff or services as Bundle text."""

    def __init__(self, connections: Mapping[str, EmrConnectionSettings],
                 transport: Transport | None = None, profiles: VendorProfiles | None = None,
                 page_size: int = PAGE_SIZE, bounds: OutboundPolicy | None = None) -> None:
        """``transport``: one for every EMR (tests); by default each EMR gets a
        ``GuardedTransport`` for its own hosts, within ``bounds`` (time, size, TLS)."""
        self.connections = dict(connections)
        self.transport = transport
        self.profiles = profiles
        self.page_size = page_size
        self.bounds = bounds

    def pull(self, kind: str, emr: str) -> str:
        connection = connection_for(emr, self.connections.get(emr), self.profiles)
        transport = self.transport or GuardedTransport.for_connection(connection, self.bounds)
        directory = EmrDirectory(connection, transport, page_size=self.page_size)
        bundle = directory.bundle(kind)
        if kind == "services":
            for entry in bundle["entry"]:
                _default_duration(entry["resource"])
        return json.dumps(bundle, ensure_ascii=False)


def _default_duration(service: dict[str, Any]) -> None:
    extensions = service.setdefault("extension", [])
    if not any(isinstance(e, dict) and e.get("url") == EXT_DURATION for e in extensions):
        extensions.append({"url": EXT_DURATION, "valueDuration": {
            "value": DEFAULT_DURATION_MINUTES, "unit": "min", "system": "http://unitsofmeasure.org",
            "code": "min"}})
