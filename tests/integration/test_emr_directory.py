"""The FHIR R4 client that pulls an EMR's staff and services, against the simulated EMR on
loopback: each auth mode of the vendor profiles, paging, a token fetched again after expiry,
refusals (bad credentials, off-site next link, redirect, not FHIR) without leaking secrets.
Requests go through the SSRF-safe outbound client, limited to the EMR's configured hosts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from pydantic import SecretStr

from connectors.directory import SOURCES
from connectors.fhir.emr_directory import (
    EmrConnection,
    EmrDirectory,
    EmrPull,
    EmrUnavailable,
    GuardedTransport,
    connection_for,
)
from hub.settings import EmrConnectionSettings
from tests.support.emr_fhir_sim import EmrFhirSim


def connection(sim: EmrFhirSim, **changes: Any) -> EmrConnection:
    values: dict[str, Any] = {
        "vendor": "omnimed", "base_url": sim.base_url, "auth": sim.auth,
        "token_url": sim.token_url, "token": sim.api_token, "username": sim.username,
        "password": sim.password, "client_id": sim.client_id, "client_secret": sim.client_secret,
    }
    return EmrConnection(**{**values, **changes})


def guarded(made: EmrConnection, **options: Any) -> EmrDirectory:
    """The directory as ``EmrPull`` makes it: guarded, limited to the connection's hosts."""
    return EmrDirectory(made, GuardedTransport.for_connection(made), **options)


@pytest.fixture(params=["none", "bearer", "basic", "client_credentials"])
def sim(request: pytest.FixtureRequest) -> Iterator[EmrFhirSim]:
    with EmrFhirSim(auth=request.param, page_size=2) as emr:
        for n in range(5):
            emr.add_practitioner(f"p{n}", f"Praticien {n}", role="MD", licence=f"L{n}")
        emr.add_practitioner("gone", "Parti", role="MD", active=False)
        emr.add_service("s1", "Consultation")
        yield emr


def test_every_auth_mode_pulls_all_pages(sim: EmrFhirSim) -> None:
    directory = guarded(connection(sim), page_size=2)
    bundle = directory.bundle("staff")
    Bundle.model_validate(bundle)
    parsed = SOURCES.parse("staff", json.dumps(bundle))
    assert sorted(r.source_id for r in parsed.rows) == ["p0", "p1", "p2", "p3", "p4"]
    assert parsed.conflicts == []
    assert len(sim.fhir_requests("Practitioner")) == 3 and len(sim.fhir_requests("PractitionerRole")) == 3
    tokens = [r for r in sim.requests if r.path == "/oauth2/token"]
    assert len(tokens) == (1 if sim.auth == "client_credentials" else 0)


def test_wrong_credentials_are_refused_without_saying_them(sim: EmrFhirSim) -> None:
    wrong = connection(sim, token="nope", password="nope", client_secret="nope")
    if sim.auth == "none":  # an open API: credentials are not even sent
        assert guarded(wrong).bundle("services")["entry"]
        assert all(r.authorization is None for r in sim.requests)
        return
    with pytest.raises(EmrUnavailable) as refused:
        guarded(wrong).bundle("services")
    assert "401" in refused.value.message
    assert "nope" not in refused.value.message and "nope" not in repr(wrong)


def test_an_expired_token_is_fetched_again_once() -> None:
    with EmrFhirSim(auth="client_credentials") as sim:
        sim.add_service("s1", "Consultation")
        directory = guarded(connection(sim))
        directory.bundle("services")
        sim.expire_tokens()
        assert len(directory.bundle("services")["entry"]) == 1
        assert len([r for r in sim.requests if r.path == "/oauth2/token"]) == 2


def test_a_next_link_to_another_host_is_not_followed() -> None:
    with EmrFhirSim(auth="none", page_size=1, next_link_origin="http://169.254.169.254") as sim:
        sim.add_service("s1", "A")
        sim.add_service("s2", "B")
        with pytest.raises(EmrUnavailable, match="not under its FHIR base URL"):
            guarded(connection(sim), page_size=1).bundle("services")


class _Redirect(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.send_response(302)
        self.send_header("Location", "http://127.0.0.1:1/secret")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        """Quiet."""


def test_redirects_and_non_fhir_answers_are_refused() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Redirect)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/fhir/r4"
        with pytest.raises(EmrUnavailable, match="redirect"):
            guarded(EmrConnection("omnimed", base)).bundle("services")
    finally:
        server.shutdown()
        server.server_close()
    with EmrFhirSim(auth="none") as sim:
        sim.fail_next(1, status=200, body="<html>maintenance</html>")
        with pytest.raises(EmrUnavailable, match="not JSON"):
            guarded(connection(sim)).bundle("services")


def test_only_the_emrs_own_hosts_are_fetched() -> None:
    """The guard knows the EMR's configured hosts only: any other address (the cloud metadata
    service, the hub's own loopback under another name) is refused before any connection."""
    with EmrFhirSim(auth="none") as sim:
        sim.add_service("s1", "A")
        transport = GuardedTransport.for_connection(connection(sim))
        for url in ("http://169.254.169.254/latest/meta-data/", "http://localhost:5432/",
                    "file:///etc/passwd"):
            with pytest.raises(EmrUnavailable, match="refused"):
                transport.request("GET", url)
        assert sim.requests == []
        assert guarded(connection(sim)).bundle("services")["entry"]


def test_pull_uses_the_vendor_profile_and_gives_services_a_default_duration() -> None:
    with EmrFhirSim(auth="client_credentials") as sim:
        sim.add_service("s1", "Consultation")
        settings = EmrConnectionSettings(host=sim.host, client_id=sim.client_id,
                                         client_secret=SecretStr(sim.client_secret))
        made = connection_for("omnimed", settings)
        assert (made.base_url, made.token_url, made.auth) == (
            f"https://{sim.host}/fhir/r4", f"https://{sim.host}/oauth2/token", "client_credentials")
        local = EmrConnectionSettings(base_url=sim.base_url, token_url=sim.token_url,
                                      client_id=sim.client_id,
                                      client_secret=SecretStr(sim.client_secret))
        document = EmrPull({"omnimed": local}).pull("services", "omnimed")
        rows = SOURCES.parse("services", document).rows
        assert [(r.name, r.duration_minutes) for r in rows] == [("Consultation", 15)]
    for vendor, words in (("toubib", "no FHIR R4 API"), ("myle-emr", "no connection"),
                          ("epic", "not an EMR vendor")):
        with pytest.raises(EmrUnavailable, match=words):
            EmrPull({}).pull("staff", vendor)
