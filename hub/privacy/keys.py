"""The root key of personal-data protection, from ``HUB_PRIVACY_KEY`` or its key file."""

from __future__ import annotations

from adapters.keystore import decode_root_key, read_or_create_key_file
from hub.settings import Settings


def privacy_root(settings: Settings) -> bytes:
    """``HUB_PRIVACY_KEY`` when set (a weak or malformed one is refused: ``ValueError``), else
    the key kept in ``HUB_PRIVACY_KEY_FILE`` (made there on first use)."""
    given = settings.privacy_key.get_secret_value().strip()
    if given:
        return decode_root_key(given, "HUB_PRIVACY_KEY")
    return read_or_create_key_file(settings.privacy_key_file)
