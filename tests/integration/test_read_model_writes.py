"""A batch's rows written in bulk (PostgreSQL: one statement per table, COPY for many rows)
leave the same rows on SQLite and PostgreSQL: upserts, deletes, composite keys, values of
another type than their column's, and batches applied one after another in one transaction."""

from __future__ import annotations

from hub.bootstrap import open_read_model, read_model_factory
from hub.scheduling.service import Scheduling
from projections.base import ReadModelProjection
from projections.bulk import COPY_ABOVE
from projections.changes import Changes
from projections.tables import Table

ITEMS, PAIRS = "bulk_items", "bulk_pairs"


class Bulk(ReadModelProjection):
    name = "bulk"
    tables = (
        Table(ITEMS, (("item_id", "text"), ("count", "int"), ("label", "text")), ("item_id",)),
        Table(PAIRS, (("left_id", "text"), ("right_id", "text"), ("note", "text")), ("left_id", "right_id")),
        Table("bulk_numbers", (("n", "int"), ("word", "text")), ("n",)),
    )


def write(model, batches: list[list[tuple[str, str, object]]]) -> None:
    """Apply each batch of (action, table, row or key) with its own ``Changes`` in ONE transaction."""
    with model.transaction() as curs:
        for batch in batches:
            changes = Changes(model, curs)
            for action, table, value in batch:
                if action == "put":
                    changes.put(table, dict(value))
                else:
                    changes.delete(table, value)
            changes.flush()


def test_bulk_writes_leave_the_same_rows_on_both_databases(app: Scheduling) -> None:
    many = COPY_ABOVE + 50
    batches = [
        [("put", ITEMS, {"item_id": f"i{n:04d}", "count": n, "label": None if n % 3 else f"l{n}"})
         for n in range(many)]
        + [("put", PAIRS, {"left_id": f"a{n % 7}", "right_id": f"b{n}", "note": "x"}) for n in range(many)]
        + [("put", "bulk_numbers", {"n": n, "word": str(n)}) for n in range(many)],
        # then, in the same transaction: a few updates (values of other types), deletes, re-inserts
        [("put", ITEMS, {"item_id": "i0001", "count": True, "label": 12}),
         ("put", ITEMS, {"item_id": "i0002", "count": 7}),  # a column left out reads NULL
         ("delete", ITEMS, "i0003"), ("delete", ITEMS, "i0004"), ("delete", ITEMS, "missing"),
         ("delete", PAIRS, ("a1", "b1")), ("delete", PAIRS, ("a2", "b2")),
         ("delete", "bulk_numbers", 5), ("put", "bulk_numbers", {"n": 6, "word": None})],
        [("put", ITEMS, {"item_id": "i0003", "count": -1, "label": "back"})],
        [("put", ITEMS, {"item_id": f"i{n:04d}", "count": 2 * n, "label": "again"})
         for n in range(many) if n not in (2, 4)],  # staged again in the same transaction
    ]
    factory = read_model_factory(app)
    try:
        model = open_read_model(factory, Bulk)
        write(model, batches)
        rows = {t.name: model.rows(t.name) for t in Bulk.tables}
    finally:
        factory.close()
    items = {r["item_id"]: r for r in rows[ITEMS]}
    assert len(items) == many - 1 and "i0004" not in items
    assert items["i0001"] == {"item_id": "i0001", "count": 2, "label": "again"}
    assert items["i0003"]["label"] == "again"
    assert items["i0002"] == {"item_id": "i0002", "count": 7, "label": None}
    assert items["i0006"] == {"item_id": "i0006", "count": 12, "label": "again"}
    assert len(rows[PAIRS]) == many - 2 and ("a1", "b1") not in {(r["left_id"], r["right_id"]) for r in rows[PAIRS]}
    numbers = {r["n"]: r["word"] for r in rows["bulk_numbers"]}
    assert 5 not in numbers and numbers[6] is None and numbers[7] == "7"


def test_values_of_another_type_are_written_as_their_column_says(app: Scheduling) -> None:
    factory = read_model_factory(app)
    try:
        model = open_read_model(factory, Bulk)
        write(model, [[("put", ITEMS, {"item_id": "u", "count": True, "label": 12}),
                       ("put", ITEMS, {"item_id": "v", "count": 3, "label": "plain"})]])
        rows = model.rows(ITEMS)
    finally:
        factory.close()
    assert rows == [{"item_id": "u", "count": 1, "label": "12"},
                    {"item_id": "v", "count": 3, "label": "plain"}]
