"""The web server ``hub serve`` runs: the HTTP API with the console and the citizens' pages."""

from __future__ import annotations

from fastapi import FastAPI

from entrypoints.api.app import create_app
from entrypoints.console.app import install_console
from hub.scheduling.service import Scheduling
from hub.settings import Settings


def create_web_app(scheduling: Scheduling | None = None, settings: Settings | None = None) -> FastAPI:
    """``create_app``'s API plus the console (same lifespan, same services)."""
    return install_console(create_app(scheduling, settings))
