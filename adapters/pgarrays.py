"""Lists sent to PostgreSQL as binary arrays whose element type is fixed by their class.

psycopg dumps a plain ``list`` by looking at its elements on every execution (the types
present, the largest integer to choose int2/int4/int8) and building a dumper for what it
found: on the hot statements (a command's events in one ``INSERT … SELECT FROM unnest(…)``,
the prefetch of a command's aggregates) that was most of the cost of sending the parameters.
A ``UuidArray``, ``Int8Array``, ``TextArray`` or ``ByteaArray`` carries its array type: the
dumper registered for it (psycopg's own ``ListBinaryDumper`` with ``oid`` and
``element_oid`` set, its documented way to fix an array's type) dumps the elements directly.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import postgres
from psycopg.types.array import ListBinaryDumper


class UuidArray(list[Any]):
    """A ``uuid[]`` parameter."""


class Int8Array(list[Any]):
    """A ``bigint[]`` parameter."""


class TextArray(list[Any]):
    """A ``text[]`` parameter."""


class ByteaArray(list[Any]):
    """A ``bytea[]`` parameter."""


def _typed_dumper(name: str) -> type[ListBinaryDumper]:
    info = postgres.types[name]
    return type(f"{name.capitalize()}ArrayBinaryDumper", (ListBinaryDumper,),
                {"oid": info.array_oid, "element_oid": info.oid})


for _cls, _name in ((UuidArray, "uuid"), (Int8Array, "int8"), (TextArray, "text"),
                    (ByteaArray, "bytea")):
    psycopg.adapters.register_dumper(_cls, _typed_dumper(_name))
