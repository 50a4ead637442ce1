"""The hub's log configuration redacts its own lines and the libraries' (stdlib logging)."""

from __future__ import annotations

import logging

import pytest
import structlog

from adapters.redaction import find_personal_data
from hub.logging import HANDLER_NAME, configure_logging


@pytest.mark.parametrize("fmt", ["console", "json"])
def test_hub_and_library_lines_carry_no_personal_data(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(fmt, "INFO")
    try:
        structlog.get_logger("hub").info("e-mail sent", to="marie@example.ca", nam="TREM85010112")
        try:
            patient = {"nam": "TREM85010112", "email": "marie@example.ca"}
            raise RuntimeError(f"cannot reach {patient['email']}")
        except RuntimeError:
            logging.getLogger("library.asgi").exception("Exception in ASGI application")
        logging.getLogger("kafka.conn").warning("peer 514-555-0199 TREM 8501 0112 closed")
    finally:
        logging.getLogger().handlers = [h for h in logging.getLogger().handlers
                                        if h.get_name() != HANDLER_NAME]
    err = capsys.readouterr().err
    assert "e-mail sent" in err and "Exception in ASGI application" in err and "closed" in err
    assert "RuntimeError" in err
    assert find_personal_data(err) == [] and "TREM85010112" not in err
    assert "patient =" not in err and "'nam'" not in err  # no locals
