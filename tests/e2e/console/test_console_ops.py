"""The ops console in Chromium: positions and lag, the event stream, one aggregate's audit
showing who did what from the console."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.console.conftest import Console
from tests.e2e.console.test_console_staff import sign_in
from tests.support.browser import Screens


def test_ops_positions_stream_and_audit(page: Page, console: Console, output_path: str) -> None:
    screens = Screens(page, output_path)
    # Staff mark one appointment absent from the console: the audit must say so.
    sign_in(page, console, console.token("clinic_staff", console.clinic_id))
    page.goto(console.suivi_url(status="undefined"))
    row = page.locator("table.suivi tbody tr").first
    appointment_id = row.get_attribute("data-appointment")
    row.get_by_role("button", name=re.compile("^Indiquer absent")).click()
    expect(page.get_by_role("status")).to_have_text("Statut enregistré : Absent.")
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_role("status")).to_have_text("Vous êtes déconnecté.")

    # Ops land on the positions of the projections and the relay.
    sign_in(page, console, console.token("ops"))
    expect(page.get_by_role("heading", name="Opérations : positions et retard")).to_be_visible()
    head = int(re.search(r"position (\d+)", page.locator("#head").inner_text()).group(1))
    assert head > 200
    for name in ("suivi", "availability", "audit"):
        expect(page.locator(f"tr[data-projection={name}] th")).to_have_text(name)
    expect(page.locator("tr[data-projection=relay]")).to_contain_text("jamais démarré")
    screens.check("ops-positions")

    # The event stream, from a position on.
    page.get_by_role("link", name="Journal des événements").click()
    page.get_by_label("Après la position").fill("10")
    page.get_by_role("button", name="Afficher").click()
    expect(page).to_have_url(re.compile(r"after=10"))
    expect(page.locator("table.events tbody tr").first).to_have_attribute("data-position", "11")
    screens.check("events")

    # One appointment's audit: booked by the demo (cli), marked absent from the console.
    page.goto(f"{console.url}/console/ops")
    page.get_by_label("Identifiant d'un agrégat").fill(appointment_id or "")
    page.get_by_role("button", name="Ouvrir l'audit").click()
    expect(page.get_by_role("heading", name=f"Audit de {appointment_id}")).to_be_visible()
    last = page.locator("table.events tbody tr").last
    expect(last).to_contain_text("clinic_staff")
    expect(last).to_contain_text("console")
    expect(last).to_contain_text("absent")
    screens.check("audit")

    # A malformed id is refused in words.
    page.goto(f"{console.url}/console/ops/audit?aggregate_id=pas-un-id")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Valeur invalide")


def test_rebuild_a_read_model_from_the_page(page: Page, console: Console, output_path: str) -> None:
    """Ops start a rebuild (CSRF-protected form); the page follows it until it is swapped in,
    and the Suivi still reads the same day."""
    screens = Screens(page, output_path)
    services = console.server.app.state.services
    before = services.projections.get("suivi").view.query(
        "SELECT COUNT(*) AS n FROM {suivi_appointments}")[0]["n"]
    sign_in(page, console, console.token("ops"))
    expect(page.get_by_role("heading", name="Opérations : positions et retard")).to_be_visible()
    page.get_by_role("button", name="Reconstruire suivi").click()
    expect(page.get_by_role("status")).to_contain_text("Reconstruction de suivi démarrée")
    head = int(re.search(r"position (\d+)", page.locator("#head").inner_text()).group(1))
    # The page follows the rebuild (htmx, every second) until it is in service.
    state = page.locator("tr[data-projection=suivi] td.rebuild-state")
    # Even when the page was drawn between the swap and the job's end (the cell then says
    # "en cours" from the shadow tables), it keeps following until it shows the end.
    expect(state).to_contain_text("en service à la position", timeout=60_000)
    swapped = int(re.search(r"position (\d+)", state.inner_text()).group(1))
    assert swapped >= head
    expect(page.get_by_role("button", name="Reconstruire suivi")).to_be_enabled()
    screens.check("rebuilt")
    job = services.rebuilds.latest()["suivi"]
    assert job.by.startswith("tok_") and job.failed is None and job.swapped_at == swapped
    after = services.projections.get("suivi").view.query(
        "SELECT COUNT(*) AS n FROM {suivi_appointments}")[0]["n"]
    assert after == before > 0

    # A form without the page's CSRF token starts nothing.
    answer = page.request.post(f"{console.url}/console/ops/rebuild", form={"projection": "suivi"})
    assert answer.status == 403
    assert services.rebuilds.latest()["suivi"] == job
