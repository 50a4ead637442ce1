"""The MLLP listener's TLS settings: its certificate and key, and the CA its peers' client
certificates must chain to (mutual TLS); the names of a verified peer certificate."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any


class TlsConfigError(ValueError):
    """The listener's TLS settings are incomplete or their files unusable."""


def tls_server_context(cert: str, key: str, client_ca: str = "") -> ssl.SSLContext | None:
    """The listener's TLS context from PEM files (None when ``cert`` and ``key`` are empty):
    TLS 1.2 or later; with ``client_ca`` every peer must present a certificate chaining to it."""
    if not cert and not key:
        if client_ca:
            raise TlsConfigError("HUB_MLLP_TLS_CLIENT_CA needs HUB_MLLP_TLS_CERT and "
                                 "HUB_MLLP_TLS_KEY (the listener's own certificate)")
        return None
    if not cert or not key:
        raise TlsConfigError("set both HUB_MLLP_TLS_CERT and HUB_MLLP_TLS_KEY (PEM files), or "
                             "neither")
    for name, path in (("HUB_MLLP_TLS_CERT", cert), ("HUB_MLLP_TLS_KEY", key),
                       ("HUB_MLLP_TLS_CLIENT_CA", client_ca)):
        if path and not Path(path).is_file():
            raise TlsConfigError(f"{name}: no readable file at {path}")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
        if client_ca:
            context.load_verify_locations(cafile=client_ca)
            context.verify_mode = ssl.CERT_REQUIRED
    except (ssl.SSLError, OSError) as exc:
        raise TlsConfigError(f"the MLLP TLS certificate, key or client CA is unusable: "
                             f"{getattr(exc, 'reason', None) or exc}") from None
    return context


def certificate_names(peercert: dict[str, Any] | None) -> set[str]:
    """The common names and DNS names of a peer's (verified) certificate."""
    if not peercert:
        return set()
    names = {value for rdn in peercert.get("subject", ()) for key, value in rdn
             if key == "commonName"}
    names |= {value for kind, value in peercert.get("subjectAltName", ()) if kind == "DNS"}
    return {n.lower() for n in names}
