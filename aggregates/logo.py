"""A clinic's logo (seed 002 "Logo"): PNG, GIF or JPEG judged by its bytes, at most 5 MB.

The file's name and declared media type are not trusted: the image is recognised by its
signature and the start of its structure. Only its digest, type and size enter events; the
bytes themselves are stored outside the event log.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass

from aggregates.errors import InvalidValue

#: 5 MB ("5 mo"), counted as mebibytes.
MAX_BYTES = 5 * 1024 * 1024
MEDIA_TYPES = ("image/png", "image/gif", "image/jpeg")

_PNG = b"\x89PNG\r\n\x1a\n"
_GIFS = (b"GIF87a", b"GIF89a")
_JPEG = b"\xff\xd8\xff"


class LogoRefused(InvalidValue):
    """The file is not a PNG, GIF or JPEG image."""

    code = "logo_type_refused"


class LogoTooLarge(InvalidValue):
    """The file is larger than 5 MB."""

    code = "logo_too_large"


@dataclass(frozen=True)
class Logo:
    """What the event log keeps of a logo: the SHA-256 of its bytes, its type and size."""

    digest: str
    media_type: str
    size: int

    def as_dict(self) -> dict[str, str | int]:
        return asdict(self)


def media_type(content: bytes) -> str | None:
    """``image/png``, ``image/gif`` or ``image/jpeg`` when the bytes are one, else ``None``."""
    if content.startswith(_PNG) and content[12:16] == b"IHDR" and len(content) >= 33:
        return "image/png"
    if content[:6] in _GIFS and len(content) >= 13:  # header and logical screen descriptor
        return "image/gif"
    if content.startswith(_JPEG) and len(content) >= 4 and 0xC0 <= content[3] <= 0xFE:
        return "image/jpeg"  # SOI then a marker (APP0/APP1 JFIF or Exif, DQT, ...)
    return None


def judge(content: bytes) -> Logo:
    """The logo's record, or a refusal: not an image of an accepted type, or over 5 MB."""
    if len(content) > MAX_BYTES:
        raise LogoTooLarge(
            f"the logo must be at most 5 MB ({MAX_BYTES} bytes); got {len(content)} bytes",
            field="logo", maximum=MAX_BYTES, size=len(content),
        )
    found = media_type(content)
    if found is None:
        raise LogoRefused(
            "the logo must be a PNG, GIF or JPEG image (judged by its content, not its name)",
            field="logo", accepted=list(MEDIA_TYPES),
        )
    return Logo(hashlib.sha256(content).hexdigest(), found, len(content))
