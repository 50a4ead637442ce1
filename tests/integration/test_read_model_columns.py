"""A read model whose tables gain a column (a slot's ``reserved_for``, R2) opens on a database
made by the previous version: the column is added in place, the rows keep their values."""

from __future__ import annotations

from hub.bootstrap import build_projector, open_read_model, read_model_factory
from hub.scheduling.service import Scheduling
from projections.availability import SLOTS, AvailabilityProjection
from projections.tables import Table
from tests.support.scheduling import Setup


class OldAvailability(AvailabilityProjection):
    """The availability tables as they were before slots could be reserved."""

    tables = tuple(
        Table(t.name, tuple(c for c in t.columns if c[0] != "reserved_for"), t.key, t.indexes)
        for t in AvailabilityProjection.tables)


def test_a_declared_column_is_added_to_an_existing_table(app: Scheduling) -> None:
    setup = Setup(app)
    factory = read_model_factory(app)
    try:
        old = open_read_model(factory, OldAvailability)
        with old.transaction() as curs:
            curs.execute(f"INSERT INTO {old.dialect.qualified(old.physical(SLOTS))} "
                         "(slot_id, clinic_id, capacity, booked, held, locked) "
                         "VALUES ('s1', 'c1', 2, 0, 0, 0)")
        new = open_read_model(factory, AvailabilityProjection)
        (row,) = new.rows(SLOTS)
        assert row["slot_id"] == "s1" and row["reserved_for"] is None and row["capacity"] == 2
        open_read_model(factory, AvailabilityProjection)  # a second start changes nothing
    finally:
        factory.close()
    app.reserve_slot_for(setup.slot, "811")
    projector = build_projector(app, ["availability"], poll_seconds=0.01)
    try:
        projector.catch_up(app.head())
        rows = {r["slot_id"]: r for r in projector.get("availability").view.rows(SLOTS)}
        assert rows[str(setup.slot)]["reserved_for"] == "811"
    finally:
        projector.close()
