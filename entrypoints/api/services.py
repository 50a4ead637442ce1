"""What the routes use, built once when the server starts (``create_app``'s lifespan)."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.accessstore import AccessStore
from hub.imports.service import Imports
from hub.notifications.center import NotificationCenter
from hub.readmodels.runner import Projector
from hub.scheduling.service import Scheduling
from hub.settings import Settings
from hub.setup.service import ClinicSetups


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

    def close(self) -> None:
        self.projections.close()
        self.imports.close()
        self.access.close()
