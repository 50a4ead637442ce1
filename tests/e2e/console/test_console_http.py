"""The console's guards over HTTP (no browser): cookies, CSRF, roles, scope, words."""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from aggregates.import_job import ImportJob
from entrypoints.console.i18n import CATALOGUE
from entrypoints.web import create_web_app
from hub.access.tokens import issue
from hub.scheduling.service import Scheduling
from tests.support.scheduling import Setup, make_app, patient

TEMPLATES = Path(__file__).resolve().parents[3] / "entrypoints" / "console" / "templates"


@pytest.fixture
def hub() -> Iterator[tuple[TestClient, Setup]]:
    app: Scheduling = make_app("memory://")
    setup = Setup(app)
    with TestClient(create_web_app(app), base_url="https://testserver") as client:
        yield client, setup
    app.close()


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


def sign_in(client: TestClient, token: str, next_url: str = "/console") -> object:
    csrf = csrf_of(client.get("/console/login").text)
    return client.post("/console/login", data={"csrf": csrf, "token": token, "next": next_url},
                       follow_redirects=False)


def test_every_word_of_the_templates_is_in_both_languages() -> None:
    used = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"""\bt\(["']([a-z_]+)["']\s*[,)]""", template.read_text()))
    assert used, "no t('...') found"
    assert used <= set(CATALOGUE), sorted(used - set(CATALOGUE))
    assert all(fr and en for fr, en in CATALOGUE.values())


def test_cookies_csrf_roles_and_scope(hub: tuple[TestClient, Setup]) -> None:
    client, setup = hub
    access = client.app.state.services.access  # type: ignore[attr-defined]
    # Not signed in: to the sign-in page, remembering where one was going.
    answer = client.get(f"/console/clinics/{setup.clinic}/suivi", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/console/login?next=")
    # EMR and portal tokens have no console.
    _, emr = issue(access, "emr", [setup.clinic])
    refused = sign_in(client, emr)
    assert refused.status_code == 401 and "Le rôle emr n&#39;a pas accès" in refused.text
    # A sign-in without the CSRF token is refused, and sets no session.
    _, staff = issue(access, "clinic_staff", [setup.clinic])
    forged = client.post("/console/login", data={"token": staff, "csrf": "x" * 43}, follow_redirects=False)
    assert forged.status_code == 403 and "hub_console" not in forged.headers.get("set-cookie", "")
    # Signed in over TLS: the session cookie is HttpOnly, SameSite, Secure; next stays inside.
    signed = sign_in(client, staff, "https://evil.example/")
    assert signed.status_code == 303 and signed.headers["location"] == "/console"
    cookie = next(c for c in signed.headers.get_list("set-cookie") if c.startswith("hub_console="))
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=lax" in cookie and "Path=/console" in cookie
    # Another clinic's Suivi is refused in words; ops pages too.
    other = Setup(setup.app)
    assert client.get(f"/console/clinics/{other.clinic}/suivi").status_code == 403
    assert "Vous n&#39;avez pas accès" in client.get("/console/ops").text
    # A write without the CSRF token changes nothing.
    booked = setup.app.book(setup.slot, setup.consult, patient(1), "admin")
    page = client.get(f"/console/clinics/{setup.clinic}/suivi?lang=en")
    assert page.status_code == 200 and "Suivi" in page.text
    no_csrf = client.post(f"/console/appointments/{booked.id}/status", data={"status": "present"})
    assert no_csrf.status_code == 403 and "The form has expired" in no_csrf.text
    assert setup.app.head() == booked.position
    # Bad filter values are explained, not a 500.
    bad = client.get(f"/console/clinics/{setup.clinic}/suivi?date=demain&lang=fr")
    assert bad.status_code == 422 and "Valeur invalide : Date." in bad.text
    # Another clinic's appointment is not found, whatever the form says.
    theirs = setup.app.book(other.slot, other.consult, patient(2), "admin")
    csrf = csrf_of(page.text)
    answer = client.post(f"/console/appointments/{theirs.id}/cancel", data={"csrf": csrf})
    assert answer.status_code == 404


def test_rebuilds_are_for_ops_and_admin_only(hub: tuple[TestClient, Setup]) -> None:
    client, setup = hub
    access = client.app.state.services.access  # type: ignore[attr-defined]
    rebuilds = client.app.state.services.rebuilds  # type: ignore[attr-defined]
    _, staff = issue(access, "clinic_staff", [setup.clinic])
    assert sign_in(client, staff).status_code == 303
    csrf = csrf_of(client.get(f"/console/clinics/{setup.clinic}/suivi").text)
    refused = client.post("/console/ops/rebuild", data={"csrf": csrf, "projection": "suivi"})
    assert refused.status_code == 403 and rebuilds.latest() == {}
    _, ops = issue(access, "ops", [])
    assert sign_in(client, ops).status_code == 303
    csrf = csrf_of(client.get("/console/ops").text)
    unknown = client.post("/console/ops/rebuild", data={"csrf": csrf, "projection": "nothing"})
    assert unknown.status_code == 404 and "Ce modèle de lecture n&#39;existe pas." in unknown.text
    assert rebuilds.latest() == {}
    started = client.post("/console/ops/rebuild", data={"csrf": csrf, "projection": "audit"},
                          follow_redirects=False)
    assert started.status_code == 303 and started.headers["location"] == "/console/ops?started=audit"
    assert rebuilds.wait("audit", 60).swapped_at == setup.app.head()


def test_the_ops_page_follows_every_rebuild_it_shows_running(tmp_path) -> None:
    """A rebuild the page shows as running (here one of another process, seen through its
    shadow tables, with no job of this server) makes the page poll until it shows the end: a
    page drawn between a swap and its job's end once stayed on "en cours" for good."""
    app: Scheduling = make_app(f"sqlite:///{tmp_path}/hub.db")
    Setup(app)
    try:
        with TestClient(create_web_app(app), base_url="https://testserver") as client:
            services = client.app.state.services  # type: ignore[attr-defined]
            _, ops = issue(services.access, "ops", [])
            assert sign_in(client, ops).status_code == 303
            polling = 'hx-trigger="every 1s"'
            page = client.get("/console/ops").text
            assert polling not in page and "en cours" not in page
            projector = services.projections
            shadow = projector.shadow(projector.get("suivi"))
            shadow.create_table()
            shadow.ensure_position(projector.source)  # a rebuild elsewhere, at its first chunk
            page = client.get("/console/ops").text
            assert "en cours : position 0 sur" in page and polling in page
            with shadow.transaction() as curs:
                shadow.drop_tables(curs)  # swapped in (or abandoned)
            page = client.get("/console/ops").text
            assert polling not in page and "en cours" not in page
    finally:
        app.close()


def test_a_setup_page_drawn_as_an_import_ends_shows_the_way_on(tmp_path, monkeypatch) -> None:
    """The setup and its import's report are read together: an import that ends between the
    two reads once gave a page with "succeeded" on a step still marked incomplete, so neither
    polling nor the "Suivant" link (the wizard test waited 30 s for it in CI)."""
    app: Scheduling = make_app(f"sqlite:///{tmp_path}/hub.db")
    try:
        with TestClient(create_web_app(app), base_url="https://testserver") as client:
            services = client.app.state.services  # type: ignore[attr-defined]
            setups, imports = services.setups, services.setups.imports
            _, admin = issue(services.access, "admin", [])
            assert sign_in(client, admin).status_code == 303
            setup = setups.start()
            setups.identify_clinic(setup.id, "Clinique du Parc", {
                "street": "350 Boulevard Charest Est", "city": "Québec", "province": "QC",
                "postal_code": "G1K 3H5"}, "(418) 555-5555")
            setups.choose_providers(setup.id, ["rvsq"])
            setups.choose_emr(setup.id, "toubib")
            held: Future[Any] = Future()  # the import's worker has not run yet
            monkeypatch.setattr(imports, "run_in_background", lambda _job_id: held)
            setups.start_import(setup.id, "staff", "source_id,name,type,licence\nT1,Dre Anne Roy,gp,77777\n")
            job_id = setups.get(setup.id).imports["staff"]["import_id"]
            reads = setups.import_report

            def import_ends_first(s: Any, kind: str) -> Any:
                if imports.app.load(ImportJob, job_id, "import").status == "running":
                    imports.run(job_id)  # the worker ends the import between the two reads
                return reads(s, kind)

            monkeypatch.setattr(setups, "import_report", import_ends_first)
            page = client.get(f"/console/setups/{setup.id}?step=staff").text
            assert "1 personne" in page or "importées avec succès" in page, page[-3000:]
            assert f'href="/console/setups/{setup.id}?step=services"' in page  # "Suivant"
    finally:
        app.close()
