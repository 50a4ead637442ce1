"""The hub's projections and where their read models live.

Read models live in the same database as the events: PostgreSQL tables in the store's schema
(``?schema=`` honoured), or tables in the SQLite file. With the in-memory store (``memory://``)
they live in an in-memory SQLite database of their own.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment

from projections.audit import AuditProjection
from projections.availability import AvailabilityProjection
from projections.base import ReadModelProjection
from projections.readmodel import SHADOW, PostgresReadModel, ReadModel, SQLiteReadModel
from projections.runner import Projector
from projections.suivi import SuiviProjection

PROJECTIONS: dict[str, type[ReadModelProjection]] = {
    "suivi": SuiviProjection,
    "availability": AvailabilityProjection,
    "audit": AuditProjection,
}


def read_model_factory(app: Any, pool_size: int = 2) -> InfrastructureFactory:
    """An infrastructure factory on the application's database, for the read models."""
    env = dict(app.env)
    module = env.get("PERSISTENCE_MODULE", "eventsourcing.popo")
    if module == "eventsourcing.postgres":
        env.update(POSTGRES_POOL_SIZE=str(pool_size), POSTGRES_MAX_OVERFLOW=str(pool_size * 4))
    elif module != "eventsourcing.sqlite":
        env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "CREATE_TABLE": "y",
               "SQLITE_DBNAME": f"file:readmodels-{uuid.uuid4().hex}?mode=memory&cache=shared"}
    return InfrastructureFactory.construct(Environment("projections", env))


def open_read_model(factory: InfrastructureFactory, cls: type[ReadModelProjection],
                    suffix: str = "") -> ReadModel:
    """The read model of one projection (its tables created when missing)."""
    datastore = factory.datastore  # type: ignore[attr-defined]
    model_cls = PostgresReadModel if type(factory).__module__ == "eventsourcing.postgres" else SQLiteReadModel
    model = model_cls(datastore, cls.name, cls.tables, suffix)
    model.create_table()
    model.create_tables()
    return model


def build_projector(app: Any, names: Iterable[str] | None = None, settings: Any = None,
                    batch_size: int = 1_000, poll_seconds: float = 0.1) -> Projector:
    """A runner for the named projections (default: all) of ``app``'s log."""
    chosen = list(names or PROJECTIONS)
    unknown = [n for n in chosen if n not in PROJECTIONS]
    if unknown:
        raise KeyError(f"unknown projection {', '.join(unknown)}; known: {', '.join(PROJECTIONS)}")
    factory = read_model_factory(app)
    projections = [PROJECTIONS[n](open_read_model(factory, PROJECTIONS[n]), settings) for n in chosen]

    def shadow(projection: ReadModelProjection) -> ReadModel:
        model_cls = type(projection.view)
        return model_cls(projection.view.datastore, projection.name,  # type: ignore[call-arg]
                         projection.tables, SHADOW)

    projector = Projector(app, projections, shadow, batch_size=batch_size, poll_seconds=poll_seconds)
    projector.factory = factory  # type: ignore[attr-defined]
    return projector
