"""Index ids that do not reveal what they index (Loi 25, SPEC T2).

A NAM has few enough possible values to be found back from ``uuid5(NAM)`` by trying them
all. The identifier index is keyed instead by ``HMAC-SHA256(secret, "system|value")``: the
same identifier always gives the same id (two racing registrations still conflict), and
without the secret an id tells nothing about the identifier.

The citizen-account and staff-user e-mail indexes use the same scheme
(``keyed_index_id``): an e-mail guessed by someone with database access cannot be
confirmed from the ids.
"""

from __future__ import annotations

import hashlib
import hmac
from uuid import NAMESPACE_URL, UUID, uuid5

MIN_SECRET_BYTES = 32


def identifier_digest(secret: bytes, system: str, value: str) -> str:
    """The keyed digest (hex) of one identifier with its assigning authority."""
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"the index secret must have at least {MIN_SECRET_BYTES} bytes")
    return hmac.new(secret, f"{system}|{value}".encode(), hashlib.sha256).hexdigest()


def digest_index_id(digest: str, kind: str = "patient-identifier") -> UUID:
    """The id of the index entry of ``kind`` for a keyed digest."""
    return uuid5(NAMESPACE_URL, f"hub:{kind}:{digest}")


def keyed_index_id(secret: bytes, kind: str, value: str) -> UUID:
    """The id of the ``kind`` index entry for ``value`` (already normalised, e.g. an
    e-mail): ``digest_index_id`` of its keyed digest, the kind as the authority."""
    return digest_index_id(identifier_digest(secret, f"hub:{kind}", value), kind)
