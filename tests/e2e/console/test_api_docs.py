"""``/docs`` (Swagger UI) loads every script and style from the hub itself: in Chromium, no
request leaves the hub's origin and the documentation renders."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Page, expect

from entrypoints.web import create_web_app
from tests.support.http import LiveServer
from tests.support.scheduling import free_port, make_app

#: src/href attributes of a page.
LINKS = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


@pytest.fixture
def hub(tmp_path) -> Iterator[str]:
    app = make_app(f"sqlite:///{tmp_path}/hub.db")
    with LiveServer(create_web_app(app), free_port()) as server:
        yield server.url
    app.close()


def hosts(urls: list[str]) -> set[str]:
    """The hosts asked (a ``blob:`` URL is the page's own worker; ``data:`` asks no one)."""
    return {urlsplit(url.removeprefix("blob:")).netloc for url in urls if not url.startswith("data:")}


def requests_of(page: Page, url: str) -> list[str]:
    """Every URL the page asks for while it loads ``url``."""
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))
    page.goto(url)
    return seen


def test_the_page_references_no_external_host(hub: str) -> None:
    page = httpx.get(f"{hub}/docs")
    assert page.status_code == 200
    links = LINKS.findall(page.text)
    assert links, page.text
    for link in links:
        if link.startswith("data:"):
            continue
        assert link.startswith("/") and not link.startswith("//"), link  # on the hub itself
        asset = httpx.get(hub + link)
        assert asset.status_code == 200, link
        assert len(asset.content) > 1000, link


def test_swagger_ui_renders_from_the_hub_alone(page: Page, hub: str) -> None:
    seen = requests_of(page, f"{hub}/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Appointment hub")
    expect(page.locator(".opblock-summary-path", has_text="/v1/clinics").first).to_be_visible()
    origin = urlsplit(hub).netloc
    assert hosts(seen) == {origin}, seen
    assert any(url.endswith("/openapi.json") for url in seen)


def test_no_redoc_page(hub: str) -> None:
    """ReDoc's page fetches its vendor's logo from a CDN whatever its options: not served."""
    assert httpx.get(f"{hub}/redoc").status_code == 404
