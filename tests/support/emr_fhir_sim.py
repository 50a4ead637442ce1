"""A simulated EMR FHIR R4 server for tests: real HTTP on loopback (seed 002 "Personnel",
"Services offerts": the hub pulls a clinic's staff and services from its EMR).

It serves ``Practitioner``, ``PractitionerRole`` and ``HealthcareService`` searches as
``searchset`` Bundles with ``next`` links (``_count`` pages), ``metadata``, and one read per
resource, under ``/fhir/r4`` like the vendor profiles' endpoint templates. Auth is one of the
vendor profiles' modes: ``none``, ``bearer`` (a fixed API token), ``basic``, or
``client_credentials`` (OAuth 2.0 token endpoint at ``/oauth2/token``, client secret in HTTP
Basic or in the form; tokens expire). Tests change the EMR's content between imports, make the
next requests fail, slow it down, and read the requests it received.

    with EmrFhirSim(auth="client_credentials") as emr:
        emr.add_practitioner("p1", "Dre Julie Tremblay", role="MD", licence="12345")
        emr.add_service("s1", "Consultation sans rendez-vous")
        ... emr.base_url, emr.client_id, emr.client_secret ...
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlencode, urlsplit

FHIR_JSON = "application/fhir+json"
BASE_PATH = "/fhir/r4"
TOKEN_PATH = "/oauth2/token"
SEARCHABLE = ("Practitioner", "PractitionerRole", "HealthcareService")
AUTH_MODES = ("none", "bearer", "basic", "client_credentials")
#: The code system an EMR might use for its own role codes (folded by the hub's aliases).
ROLE_SYSTEM = "urn:emr-sim:role"
LICENCE_SYSTEM = "https://www.cmq.org/fhir/sid/permis"


@dataclass
class Request:
    """What the simulator received (for assertions: paths, query, the credentials sent)."""

    method: str
    path: str
    query: dict[str, list[str]]
    authorization: str | None
    status: int = 0


@dataclass
class _Failure:
    remaining: int
    status: int
    body: str | None


@dataclass
class EmrFhirSim:
    """One EMR's FHIR R4 API on 127.0.0.1 (a free port), with its resources in memory."""

    auth: str = "bearer"
    #: The most resources a page holds, whatever ``_count`` asks.
    page_size: int = 50
    token_lifetime: float = 300.0
    resources: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: {t: {} for t in SEARCHABLE})
    requests: list[Request] = field(default_factory=list)
    #: Seconds each FHIR request waits before answering (to see imports run in the background).
    delay: float = 0.0
    #: Another origin for the ``next`` links (to check clients do not follow them off-site).
    next_link_origin: str | None = None

    def __post_init__(self) -> None:
        if self.auth not in AUTH_MODES:
            raise ValueError(f"auth must be one of {AUTH_MODES}")
        self.api_token = secrets.token_urlsafe(24)
        self.client_id = "hub-" + secrets.token_hex(4)
        self.client_secret = secrets.token_urlsafe(24)
        self.username, self.password = "hub", secrets.token_urlsafe(12)
        self._tokens: dict[str, float] = {}
        self._failures: list[_Failure] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> Self:
        sim: EmrFhirSim = self

        class Handler(_Handler):
            simulator = sim

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="emr-fhir-sim",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        if self._server is None:
            raise RuntimeError("the simulator is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def host(self) -> str:
        """``host:port``, what a vendor profile's ``{host}`` template takes."""
        return self.origin.removeprefix("http://")

    @property
    def base_url(self) -> str:
        return self.origin + BASE_PATH

    @property
    def token_url(self) -> str:
        return self.origin + TOKEN_PATH

    # -- content -------------------------------------------------------------------------
    def put(self, resource: dict[str, Any]) -> None:
        """Add or replace a resource (``resourceType`` and ``id`` required)."""
        with self._lock:
            self.resources[resource["resourceType"]][resource["id"]] = resource

    def remove(self, resource_type: str, resource_id: str) -> None:
        with self._lock:
            self.resources[resource_type].pop(resource_id, None)

    def clear(self) -> None:
        with self._lock:
            for group in self.resources.values():
                group.clear()

    def add_practitioner(self, id: str, name: str, role: str | None = "MD",
                         licence: str | None = None, active: bool = True) -> None:
        """A Practitioner and, when ``role`` is given, its PractitionerRole (EMR role code)."""
        practitioner: dict[str, Any] = {"resourceType": "Practitioner", "id": id, "active": active}
        if name:
            practitioner["name"] = [_human_name(name)]
        if licence:
            practitioner["identifier"] = [{"system": LICENCE_SYSTEM, "value": licence}]
        self.put(practitioner)
        if role is not None:
            self.put({
                "resourceType": "PractitionerRole", "id": f"role-{id}", "active": True,
                "practitioner": {"reference": f"Practitioner/{id}"},
                "code": [{"coding": [{"system": ROLE_SYSTEM, "code": role}], "text": role}],
            })

    def add_service(self, id: str, name: str, *, active: bool = True,
                    extension: list[dict[str, Any]] | None = None,
                    type_text: str | None = None) -> None:
        """A HealthcareService as an EMR lists it (name, optional type text and extensions)."""
        service: dict[str, Any] = {"resourceType": "HealthcareService", "id": id,
                                   "active": active}
        if name:
            service["name"] = name
        if type_text:
            service["type"] = [{"text": type_text}]
        if extension:
            service["extension"] = extension
        self.put(service)

    # -- behaviour -----------------------------------------------------------------------
    def fail_next(self, count: int = 1, status: int = 500, body: str | None = None) -> None:
        """The next ``count`` FHIR requests answer ``status`` (an OperationOutcome, or ``body``)."""
        with self._lock:
            self._failures.append(_Failure(count, status, body))

    def recover(self) -> None:
        """Failures asked with ``fail_next`` stop: the EMR answers again."""
        with self._lock:
            self._failures.clear()

    def expire_tokens(self) -> None:
        """Every OAuth token issued so far stops working (the client must get a new one)."""
        with self._lock:
            self._tokens.clear()

    def fhir_requests(self, resource_type: str | None = None) -> list[Request]:
        if resource_type is None:
            return [r for r in self.requests if r.path.startswith(BASE_PATH + "/")]
        path = f"{BASE_PATH}/{resource_type}"
        return [r for r in self.requests if r.path == path or r.path.startswith(path + "/")]

    # -- used by the handler -------------------------------------------------------------
    def _take_failure(self) -> _Failure | None:
        with self._lock:
            while self._failures and self._failures[0].remaining <= 0:
                self._failures.pop(0)
            if not self._failures:
                return None
            self._failures[0].remaining -= 1
            return self._failures[0]

    def _issue_token(self) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = time.monotonic() + self.token_lifetime
        return token

    def _authorised(self, header: str | None) -> bool:
        if self.auth == "none":
            return True
        if not header:
            return False
        scheme, _, value = header.partition(" ")
        if self.auth == "basic":
            return scheme.lower() == "basic" and value == _basic(self.username, self.password)
        if scheme.lower() != "bearer":
            return False
        if self.auth == "bearer":
            return secrets.compare_digest(value, self.api_token)
        with self._lock:
            expiry = self._tokens.get(value)
        return expiry is not None and expiry > time.monotonic()

    def _search(self, resource_type: str, query: dict[str, list[str]]) -> dict[str, Any]:
        with self._lock:
            matches = sorted(self.resources[resource_type].values(), key=lambda r: r["id"])
        if "active" in query:
            wanted = query["active"][0] == "true"
            matches = [r for r in matches if r.get("active", True) == wanted]
        if "_id" in query:
            ids = set(query["_id"][0].split(","))
            matches = [r for r in matches if r["id"] in ids]
        count = _int(query.get("_count"), self.page_size, 1, self.page_size)  # the server's cap
        offset = _int(query.get("_offset"), 0, 0, 10**9)
        page = matches[offset: offset + count]
        own = {k: v for k, v in query.items() if k != "_offset"}
        links = [{"relation": "self", "url": self._url(resource_type, own, offset)}]
        if offset + count < len(matches):
            origin = self.next_link_origin or self.origin
            links.append({"relation": "next",
                          "url": self._url(resource_type, own, offset + count, origin)})
        return {
            "resourceType": "Bundle", "type": "searchset", "total": len(matches), "link": links,
            "entry": [{"fullUrl": f"{self.base_url}/{resource_type}/{r['id']}", "resource": r,
                       "search": {"mode": "match"}} for r in page],
        }

    def _url(self, resource_type: str, query: dict[str, list[str]], offset: int,
             origin: str | None = None) -> str:
        params = [(k, v) for k, values in query.items() for v in values]
        if offset:
            params.append(("_offset", str(offset)))
        suffix = "?" + urlencode(params) if params else ""
        return f"{origin or self.origin}{BASE_PATH}/{resource_type}{suffix}"


def _human_name(name: str) -> dict[str, Any]:
    """``Dre Julie Tremblay`` as EMRs send it: prefix, given names and family, no text."""
    words = name.split()
    prefix = [words.pop(0)] if len(words) > 2 and words[0].rstrip(".") in ("Dr", "Dre") else []
    human: dict[str, Any] = {"use": "official", "family": words[-1]}
    if words[:-1]:
        human["given"] = words[:-1]
    if prefix:
        human["prefix"] = prefix
    return human


def _basic(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def _int(values: list[str] | None, default: int, low: int, high: int) -> int:
    try:
        return max(low, min(high, int(values[0]))) if values else default
    except ValueError:
        return default


def outcome(code: str, text: str) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": code, "diagnostics": text}]}


class _Handler(BaseHTTPRequestHandler):
    simulator: EmrFhirSim
    received: Request
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read ``simulator.requests`` instead."""

    def _send(self, status: int, body: dict[str, Any] | str, media: str = FHIR_JSON,
              headers: dict[str, str] | None = None) -> None:
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
        self.send_response(status)
        self.send_header("Content-Type", media)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        self.received.status = status

    def _record(self) -> tuple[str, dict[str, list[str]]]:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        self.received = Request(self.command, parts.path, query, self.headers.get("Authorization"))
        self.simulator.requests.append(self.received)
        return parts.path, query

    def do_POST(self) -> None:
        path, _ = self._record()
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode("utf-8", "replace"))
        sim = self.simulator
        if path != TOKEN_PATH or sim.auth != "client_credentials":
            self._send(404, outcome("not-found", f"no such endpoint {path}"))
            return
        client_id = form.get("client_id", [""])[0]
        client_secret = form.get("client_secret", [""])[0]
        scheme, _, value = (self.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() == "basic":
            try:
                client_id, _, client_secret = base64.b64decode(value).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                client_id = client_secret = ""
        if form.get("grant_type", [""])[0] != "client_credentials":
            self._send(400, {"error": "unsupported_grant_type"}, "application/json")
        elif client_id != sim.client_id or not secrets.compare_digest(client_secret,
                                                                      sim.client_secret):
            self._send(401, {"error": "invalid_client"}, "application/json")
        else:
            self._send(200, {"access_token": sim._issue_token(), "token_type": "Bearer",
                             "expires_in": int(sim.token_lifetime)}, "application/json",
                       {"Cache-Control": "no-store"})

    def do_GET(self) -> None:
        path, query = self._record()
        sim = self.simulator
        if not path.startswith(BASE_PATH + "/"):
            self._send(404, outcome("not-found", f"no such endpoint {path}"))
            return
        if sim.delay:
            time.sleep(sim.delay)
        if not sim._authorised(self.headers.get("Authorization")):
            self._send(401, outcome("login", "authentication required"),
                       headers={"WWW-Authenticate": "Bearer" if sim.auth != "basic" else "Basic"})
            return
        failure = sim._take_failure()
        if failure is not None:
            self._send(failure.status, failure.body or outcome("exception", "EMR unavailable"))
            return
        resource_path = path[len(BASE_PATH) + 1:].strip("/").split("/")
        if resource_path == ["metadata"]:
            self._send(200, _capability_statement())
        elif len(resource_path) == 1 and resource_path[0] in SEARCHABLE:
            self._send(200, sim._search(resource_path[0], query))
        elif len(resource_path) == 2 and resource_path[0] in SEARCHABLE:
            found = sim.resources[resource_path[0]].get(resource_path[1])
            if found is None:
                self._send(404, outcome("not-found", f"{'/'.join(resource_path)} not found"))
            else:
                self._send(200, found)
        else:
            self._send(404, outcome("not-supported", f"unknown resource {resource_path[0]}"))


def _capability_statement() -> dict[str, Any]:
    return {
        "resourceType": "CapabilityStatement", "status": "active", "date": "2026-01-01",
        "kind": "instance", "fhirVersion": "4.0.1", "format": ["json"],
        "rest": [{"mode": "server", "resource": [
            {"type": t, "interaction": [{"code": "read"}, {"code": "search-type"}],
             "searchParam": [{"name": "active", "type": "token"},
                             {"name": "_id", "type": "token"}]}
            for t in SEARCHABLE]}],
    }
